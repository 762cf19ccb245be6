// Candidate sources with fixed answers for the recommendation serving tests: they record what
// they observed and answer from tables, so a test states exactly what each source proposes.
#pragma once

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "collector/recs/rec_types.hpp"
#include "common/event.hpp"

namespace aisle::collector::recs::fakes {

class TableSource final : public CandidateSource {
 public:
  explicit TableSource(std::string name) : name_(std::move(name)) {}
  const char* name() const override { return name_.c_str(); }
  void observe(const Interaction& interaction) override {
    std::lock_guard lock(mutex_);
    observed.push_back(interaction);
  }
  // Answers by_item[last session item or context item], else by_store[store], else always.
  std::vector<Candidate> candidates(const RecContext& context, std::size_t n) const override {
    std::lock_guard lock(mutex_);
    contexts.push_back(context);
    const std::vector<Candidate>* list = &always;
    std::string key = context.context_item;
    if (!context.session_items.empty()) key = context.session_items.back();
    if (auto it = by_item.find(key); !key.empty() && it != by_item.end()) {
      list = &it->second;
    } else if (auto st = by_store.find(context.store_id); st != by_store.end()) {
      list = &st->second;
    }
    std::vector<Candidate> out(list->begin(),
                               list->begin() + static_cast<long>(std::min(n, list->size())));
    return out;
  }

  std::vector<Candidate> always;
  std::map<std::string, std::vector<Candidate>> by_item;
  std::map<std::string, std::vector<Candidate>> by_store;  // "" = global
  mutable std::vector<Interaction> observed;
  mutable std::vector<RecContext> contexts;

 private:
  std::string name_;
  mutable std::mutex mutex_;
};

inline Event commerce_event(int n, const std::string& type, UnixMillis at,
                            nlohmann::json properties, const std::string& store = "s1") {
  Event e;
  char id[40];
  std::snprintf(id, sizeof id, "018bcfe5-6800-7000-8000-%012d", n);
  e.event_id = id;
  e.type = type;
  e.schema = "aisle/" + type + "/jsonschema/1-0-0";
  e.occurred_at = at;
  e.source.store_id = store;
  e.source.channel = Channel::kKiosk;
  e.properties = std::move(properties);
  return e;
}

}  // namespace aisle::collector::recs::fakes
