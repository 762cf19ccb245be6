// ItemIds: dense ids for item strings, so the models index vectors instead of hashing strings on
// every score update. Bounded: past `capacity` items, new items are refused (the caller counts and
// drops the interaction) — a runaway catalog never grows a model without limit.
// Not synchronized: each model guards its own ItemIds with the model's lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace aisle::collector::recs {

using ItemId = std::uint32_t;

class ItemIds {
 public:
  explicit ItemIds(std::size_t capacity) : capacity_(capacity) {}

  // The id of `item`, interning it when new; nullopt when the table is full.
  std::optional<ItemId> intern(const std::string& item) {
    if (const auto it = ids_.find(item); it != ids_.end()) return it->second;
    if (names_.size() >= capacity_) return std::nullopt;
    const auto id = static_cast<ItemId>(names_.size());
    ids_.emplace(item, id);
    names_.push_back(item);
    return id;
  }
  std::optional<ItemId> find(const std::string& item) const {
    const auto it = ids_.find(item);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& name(ItemId id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }
  // Rough heap footprint (strings, hash nodes), for stats and the bounded-memory tests.
  std::size_t approx_bytes() const {
    std::size_t bytes = names_.capacity() * sizeof(std::string) + ids_.bucket_count() * 8;
    for (const auto& name : names_) bytes += 2 * (name.size() + 1) + 48;
    return bytes;
  }

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, ItemId> ids_;
  std::vector<std::string> names_;
};

}  // namespace aisle::collector::recs
