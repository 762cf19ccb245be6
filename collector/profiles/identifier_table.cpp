#include "collector/profiles/identifier_table.hpp"

#include <algorithm>
#include <functional>

namespace aisle::collector::profiles {
namespace {

constexpr std::size_t kInitialSlots = 1024;
constexpr std::uint64_t kLengthBits = 24;
constexpr std::uint64_t kLengthMask = (std::uint64_t{1} << kLengthBits) - 1;

}  // namespace

IdentifierTable::IdentifierTable() : slots_(kInitialSlots), mask_(kInitialSlots - 1) {}

std::uint32_t IdentifierTable::hash_of(std::string_view key) {
  const std::size_t h = std::hash<std::string_view>{}(key);
  // Never 0, so a probe can skip the comparison of an empty slot's hash.
  return static_cast<std::uint32_t>(h ^ (h >> 32)) | 1u;
}

std::string_view IdentifierTable::key(std::uint32_t node) const {
  if (node >= spans_.size()) return {};
  const std::uint64_t span = spans_[node];
  return std::string_view(arena_).substr(span >> kLengthBits, span & kLengthMask);
}

std::uint32_t IdentifierTable::find(std::string_view key_text, std::uint32_t hash) const {
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.node_plus_one == 0) return kNone;
    if (slot.hash == hash && (slot.span & kLengthMask) == key_text.size() &&
        std::string_view(arena_).substr(slot.span >> kLengthBits, key_text.size()) == key_text) {
      return slot.node_plus_one - 1;
    }
  }
}

void IdentifierTable::place(const Slot& slot) {
  std::size_t i = slot.hash & mask_;
  while (slots_[i].node_plus_one != 0) i = (i + 1) & mask_;
  slots_[i] = slot;
}

void IdentifierTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.node_plus_one != 0) place(slot);
  }
}

void IdentifierTable::insert(std::string_view key_text, std::uint32_t node) {
  // Load factor at most 0.7 keeps linear probes short.
  if ((size_ + 1) * 10 > slots_.size() * 7) grow();
  if (spans_.size() <= node) spans_.resize(std::size_t{node} + 1, 0);
  const std::uint64_t length = std::min<std::uint64_t>(key_text.size(), kLengthMask);
  spans_[node] = (std::uint64_t{arena_.size()} << kLengthBits) | length;
  arena_.append(key_text.substr(0, length));
  place(Slot{node + 1, hash_of(key(node)), spans_[node]});
  ++size_;
}

bool IdentifierTable::erase(std::uint32_t node) {
  const std::string_view key_text = key(node);
  if (key_text.empty()) return false;
  const std::uint32_t hash = hash_of(key_text);
  std::size_t i = hash & mask_;
  while (slots_[i].node_plus_one != node + 1) {
    if (slots_[i].node_plus_one == 0) return false;
    i = (i + 1) & mask_;
  }
  // Backward-shift deletion: moves later entries of the probe run into the hole, so lookups never
  // need tombstone slots.
  std::size_t hole = i;
  for (std::size_t j = (hole + 1) & mask_; slots_[j].node_plus_one != 0; j = (j + 1) & mask_) {
    const std::size_t home = slots_[j].hash & mask_;
    const bool movable = (j > hole) ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  const std::uint64_t span = spans_[node];
  std::fill_n(arena_.begin() + static_cast<std::ptrdiff_t>(span >> kLengthBits),
              static_cast<std::ptrdiff_t>(span & kLengthMask), '\0');
  spans_[node] = 0;
  --size_;
  return true;
}

std::size_t IdentifierTable::memory_bytes() const {
  return arena_.capacity() + spans_.capacity() * sizeof(std::uint64_t) +
         slots_.capacity() * sizeof(Slot);
}

void IdentifierTable::reserve(std::size_t keys, std::size_t key_bytes) {
  arena_.reserve(key_bytes);
  spans_.reserve(keys);
  while (keys * 10 > slots_.size() * 7) grow();
}

}  // namespace aisle::collector::profiles
