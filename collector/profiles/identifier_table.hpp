// IdentifierTable: interned identifier keys ("type:value") -> dense node ids, the in-memory index
// the identity graph resolves every event through.
//
// Compact by design (docs/profiles.md, "Memory"): keys are concatenated in one arena, nodes keep
// an 8-byte (offset, length), and the hash table is open addressing with linear probing over
// 16-byte slots (node id + 32-bit hash, so probes rarely compare keys, + the key's offset and
// length, so a hit reads the slot and the key's bytes: two cache misses instead of three at 10 M
// identifiers). About 23 bytes of table (at the 0.7 load factor), 8 bytes of offset and the key's
// bytes per identifier.
//
// Not thread-safe: the owner (IdentityGraph) serializes writers against readers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aisle::collector::profiles {

class IdentifierTable {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  IdentifierTable();

  // The node of `key`, kNone when absent.
  std::uint32_t find(std::string_view key) const { return find(key, hash_of(key)); }
  // The same with the key's hash_of() computed beforehand: a caller that resolves several keys
  // hashes them all and prefetch()es their slots first, so their cache misses overlap.
  std::uint32_t find(std::string_view key, std::uint32_t hash) const;
  static std::uint32_t hash_of(std::string_view key);
  void prefetch(std::uint32_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
  // Adds `key` as `node`. The caller guarantees the key is absent and the node id unused; node ids
  // are dense but may have holes (erased nodes are not reused within a process).
  void insert(std::string_view key, std::uint32_t node);
  // Removes the key of `node` and overwrites its bytes in the arena, so an erased identifier does
  // not linger in memory. False when the node has no key.
  bool erase(std::uint32_t node);
  // The key of a node; "" for unused or erased nodes.
  std::string_view key(std::uint32_t node) const;

  std::size_t size() const { return size_; }
  // Bytes held (arena, offsets and slots), for the memory figures.
  std::size_t memory_bytes() const;
  void reserve(std::size_t keys, std::size_t key_bytes);

 private:
  struct Slot {
    std::uint32_t node_plus_one = 0;  // 0 = empty
    std::uint32_t hash = 0;
    std::uint64_t span = 0;  // a copy of spans_[node]
  };
  void grow();
  void place(const Slot& slot);

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::string arena_;
  std::vector<std::uint64_t> spans_;  // per node: offset << 24 | length (keys up to 16 MiB)
};

}  // namespace aisle::collector::profiles
