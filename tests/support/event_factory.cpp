#include "tests/support/event_factory.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/clock.hpp"
#include "common/time_format.hpp"

namespace aisle::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlaceholders[] = {"@@EVENT_ID@@", "@@OCCURRED_AT@@", "@@STORE_ID@@"};

nlohmann::json prepare(nlohmann::json example, const std::string& store_id,
                       const std::string& event_id, const std::string& occurred_at) {
  example["event_id"] = event_id;
  example["occurred_at"] = occurred_at;
  example.erase("received_at");
  example["source"].erase("agent_id");
  example["source"]["store_id"] = store_id;
  return example;
}

}  // namespace

std::string EventFactory::examples_dir() {
  return (fs::path(AISLE_TEST_DATA_DIR) / ".." / ".." / "schemas" / "examples")
      .lexically_normal()
      .string();
}

EventFactory::EventFactory() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(examples_dir(), ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    nlohmann::json example = nlohmann::json::parse(in, nullptr, false);
    if (example.is_discarded()) throw std::runtime_error("cannot parse " + file.string());
    examples_.push_back(example);
    const std::string channel = example["source"].value("channel", "");
    if (channel == "web" || channel == "mobile") continue;
    const std::string text =
        prepare(example, kPlaceholders[2], kPlaceholders[0], kPlaceholders[1]).dump();
    Template t;
    t.type = example.value("type", "");
    std::size_t pos = 0;
    while (true) {
      std::size_t next = std::string::npos;
      int slot = -1;
      for (int s = 0; s < 3; ++s) {
        const auto found = text.find(kPlaceholders[s], pos);
        if (found < next) {
          next = found;
          slot = s;
        }
      }
      t.parts.push_back(
          text.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
      if (next == std::string::npos) break;
      t.slots.push_back(slot);
      pos = next + std::char_traits<char>::length(kPlaceholders[slot]);
    }
    templates_.push_back(std::move(t));
  }
  if (templates_.empty()) {
    throw std::runtime_error("no in-store examples in " + examples_dir());
  }
}

std::string EventFactory::make(const std::string& store_id, const std::string& event_id,
                               std::size_t variant) const {
  const Template& t = templates_[variant % templates_.size()];
  const std::string occurred_at = format_rfc3339_ms(SystemClock::instance()->now_unix_ms());
  const std::string* values[] = {&event_id, &occurred_at, &store_id};
  std::string out = t.parts[0];
  for (std::size_t i = 0; i < t.slots.size(); ++i) {
    out += *values[t.slots[i]];
    out += t.parts[i + 1];
  }
  return out;
}

nlohmann::json EventFactory::example(const std::string& type, const std::string& store_id,
                                     const std::string& event_id) const {
  for (const auto& e : examples_) {
    if (e.value("type", "") == type) {
      return prepare(e, store_id, event_id,
                     format_rfc3339_ms(SystemClock::instance()->now_unix_ms()));
    }
  }
  throw std::runtime_error("no example of type " + type);
}

std::string ndjson(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace aisle::test
