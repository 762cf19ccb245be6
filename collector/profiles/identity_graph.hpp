// IdentityGraph: the in-memory identity graph (docs/profiles.md, "Identity resolution").
//
// Identifiers ("type:value") are nodes with dense ids; connected identifiers form one profile.
// Connectivity is a union-find forest (union by size, path halving on the writer side) with a
// circular member list per component, so merging is O(1) amortized and a profile's identifiers
// can be listed. Profiles have dense slots; a slot's profile id is a UUID (version 8) that
// carries the slot, so resolving an id needs no map. The oldest profile (lowest slot) survives a
// merge; the merged-away slot keeps a pointer to its survivor.
//
// The graph holds no SQLite: every mutation reports what it changed in GraphChanges, which
// ProfileService persists in the same call's transaction.
//
// Thread-safety: none inside. ProfileService holds a shared_mutex: const members (which never
// compress paths) under the shared lock, everything else under the exclusive lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/profiles/identifier_table.hpp"
#include "collector/profiles/identity_rules.hpp"
#include "common/clock.hpp"
#include "common/event.hpp"
#include "common/result.hpp"
#include "common/uuid.hpp"

namespace aisle::collector::profiles {

inline constexpr std::uint32_t kNoNode = UINT32_MAX;
inline constexpr std::uint32_t kNoProfile = UINT32_MAX;

enum class RefusalReason : std::uint8_t { kLimit, kSeparated, kShared };
const char* refusal_reason_name(RefusalReason reason);

// A link the graph accepted: `node` joined the profile of `anchor` (the two are connected now).
struct GraphLink {
  std::uint32_t anchor = kNoNode;
  std::uint32_t node = kNoNode;
};
struct GraphMerge {
  std::uint32_t survivor = kNoProfile;  // the older profile
  std::uint32_t merged = kNoProfile;    // the profile merged into it
  std::uint32_t reason_node = kNoNode;  // the identifier whose link joined them
};
struct GraphRefusal {
  std::uint32_t profile = kNoProfile;  // the profile the link was refused into
  std::uint32_t node = kNoNode;        // the identifier that was not joined
  RefusalReason reason = RefusalReason::kLimit;
  std::string text;  // human-readable, names identifier, profile and rule
};
struct Separation {
  std::uint32_t a = kNoNode;  // the components of a and b never join again (set by an unmerge)
  std::uint32_t b = kNoNode;
};

// What mutations changed since the last clear(), in order.
struct GraphChanges {
  std::vector<std::uint32_t> touched_nodes;  // new, or parent/shared changed
  std::vector<std::uint32_t> seen_nodes;     // only first/last_seen changed
  std::vector<std::uint32_t> new_profiles;
  std::vector<std::uint32_t> grown_profiles;  // gained identifiers (slot at the time)
  std::vector<GraphMerge> merges;
  std::vector<GraphRefusal> refusals;
  std::vector<GraphLink> links;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> watch_added;  // (node, user_id node)
  std::vector<std::uint32_t> marked_shared;
  std::vector<Separation> separations_added;
  void clear() { *this = GraphChanges(); }
};

// One identifier as the API shows it.
struct NodeView {
  std::string_view type;
  std::string_view value;
  std::string_view key;  // "type:value"
  UnixMillis first_seen = 0;
  UnixMillis last_seen = 0;
  bool shared = false;
};

class IdentityGraph {
 public:
  // Fails (kInvalidArgument) when the rules do not validate.
  static Result<std::unique_ptr<IdentityGraph>> create(IdentityRules rules);

  // Resolves one event's identifiers (docs/profiles.md: anchor, priorities, limits, shared
  // protection): creates unknown identifiers, links them and merges profiles as the rules allow,
  // and updates first/last seen with `at`. Returns the anchor node, whose profile the event
  // belongs to, or kNoNode when it belongs to none (no identifiers, or only shared ones). Empty
  // values are ignored.
  std::uint32_t resolve(const std::map<std::string, std::string>& identities, UnixMillis at,
                        GraphChanges& changes);

  // --- Reads (const: no path compression; safe concurrently with each other).
  std::uint32_t node(std::string_view key) const { return table_.find(key); }
  std::uint32_t node(std::string_view type, std::string_view value) const;
  std::uint32_t profile_of(std::uint32_t node) const;  // kNoProfile for unknown nodes
  // The live profile a slot resolves to (following merges); kNoProfile when erased or unknown.
  std::uint32_t live_profile(std::uint32_t slot) const;
  // The slot named by a profile id (live, merged or erased alike); kNoProfile when none.
  std::uint32_t slot_of(std::string_view profile_id) const;
  std::string profile_id(std::uint32_t slot) const;
  bool is_live(std::uint32_t slot) const;
  std::vector<std::uint32_t> members(std::uint32_t slot) const;  // empty when not live
  NodeView view(std::uint32_t node) const;
  std::string_view key(std::uint32_t node) const { return table_.key(node); }
  std::uint32_t root_of_profile(std::uint32_t slot) const;
  // The stored parent of a node (what the database keeps; any ancestor in its tree).
  std::uint32_t parent_of(std::uint32_t node) const;
  // Merged-away slots whose merge chain ends at `slot`.
  std::vector<std::uint32_t> merged_into(std::uint32_t slot) const;
  ConsentFlags consent(std::uint32_t slot) const;
  const std::vector<Separation>& separations() const { return separations_; }
  std::size_t node_count() const { return table_.size(); }
  std::size_t live_profiles() const { return live_profiles_; }
  std::uint32_t next_node() const;
  std::uint32_t next_slot() const { return static_cast<std::uint32_t>(profiles_.size()); }
  // Bytes held by the graph's arrays and tables (docs/profiles.md, "Memory").
  std::size_t memory_bytes() const;

  // --- Mutations besides resolve().
  void set_consent(std::uint32_t slot, const ConsentFlags& flags);
  // Moves `nodes` (all in live profile `slot`, not all of it) into a new profile, rebuilds both
  // components, and separates them so no later link re-merges them. Returns the new slot.
  std::uint32_t split(std::uint32_t slot, const std::vector<std::uint32_t>& nodes,
                      GraphChanges& changes);
  // Removes the profile and its identifiers (keys overwritten in memory); slots merged into it
  // are erased too.
  struct Erased {
    std::vector<std::uint32_t> nodes;
    std::vector<std::uint32_t> slots;  // the profile's and those merged into it
  };
  Erased erase_profile(std::uint32_t slot);
  void reserve(std::size_t nodes, std::size_t key_bytes, std::size_t profiles);

  // --- Loading from storage: load_* in any order, then finish_load() once.
  void load_node(std::uint32_t node, std::string_view type, std::string_view value,
                 std::uint32_t parent, UnixMillis first_seen, UnixMillis last_seen, bool shared);
  void load_profile(std::uint32_t slot, const Uuid& id, std::uint32_t root,
                    std::uint32_t merged_into, ConsentFlags consent);
  void load_watch(std::uint32_t node, std::uint32_t user_node);
  void load_separation(Separation separation);
  // Flattens the forest, rebuilds member lists, sizes and limit counts. kDataLoss when the stored
  // graph is inconsistent (a parent that does not exist, a component without a profile).
  Status finish_load();

 private:
  explicit IdentityGraph(IdentityRules rules);

  enum NodeFlag : std::uint8_t { kLive = 1, kShared = 2 };
  enum class SlotState : std::uint8_t { kUnused, kLive, kMerged, kErased };
  struct Profile {
    Uuid id;
    std::uint32_t root = kNoNode;
    std::uint32_t merged_into = kNoProfile;
    SlotState state = SlotState::kUnused;
    std::uint8_t consent = 0;  // 2 bits per purpose (ConsentState)
  };
  struct TypeInfo {
    std::string name;
    IdentityTypeRule rule;
    int limited_index = -1;  // index into the per-profile counts, -1 = unlimited
  };
  struct Item {
    std::uint32_t node;
    std::uint16_t type;
  };

  std::uint16_t type_index(std::string_view type);
  std::uint32_t add_node(std::string_view key, std::uint16_t type, UnixMillis at);
  void ensure_node_arrays(std::uint32_t node);
  std::uint32_t find(std::uint32_t node) const;
  std::uint32_t find_compress(std::uint32_t node);
  std::uint32_t new_profile(std::uint32_t root, GraphChanges& changes);
  void ensure_profile_arrays(std::uint32_t slot);
  std::uint16_t& count(std::uint32_t slot, int limited_index);
  // Joins the components of two roots (no checks); returns the new root.
  std::uint32_t join_roots(std::uint32_t a, std::uint32_t b);
  // Why the two live profiles may not merge ("" = they may); sets `reason`.
  std::string merge_refusal(std::uint32_t a, std::uint32_t b, RefusalReason& reason) const;
  // Why `node` (a singleton) may not join profile `slot` ("" = it may).
  std::string attach_refusal(std::uint32_t slot, std::uint16_t type) const;
  void attach(std::uint32_t anchor, std::uint32_t node, std::uint16_t type, GraphChanges& changes);
  std::uint32_t merge(std::uint32_t a, std::uint32_t b, std::uint32_t anchor,
                      std::uint32_t reason_node, GraphChanges& changes);
  void refuse(std::uint32_t slot, std::uint32_t node, RefusalReason reason, std::string text,
              GraphChanges& changes);
  void watch_shared(const std::vector<Item>& items, GraphChanges& changes);
  void recount(std::uint32_t slot);

  IdentityRules rules_;
  std::vector<TypeInfo> types_;
  std::map<std::string, std::uint16_t, std::less<>> type_ids_;
  std::size_t limited_types_ = 0;
  std::uint16_t user_id_type_ = 0;

  IdentifierTable table_;
  // Per node, in one 32-byte record: resolving an event touches parent, type, flags and the
  // seen times of each identifier, so one cache line per node instead of one per field.
  struct Node {
    std::uint32_t parent = 0;
    std::uint32_t size = 1;                   // valid for roots
    std::uint32_t root_profile = kNoProfile;  // valid for roots
    std::uint16_t type = 0;
    std::uint8_t flags = 0;
    UnixMillis first_seen = 0;
    UnixMillis last_seen = 0;
  };
  static_assert(sizeof(Node) == 32);
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> next_;  // circular list of a component's members (rarely walked)
  std::vector<Item> items_;          // resolve() scratch
  // Per profile slot.
  std::vector<Profile> profiles_;
  std::vector<std::uint16_t> counts_;  // slot * limited_types_ + limited index
  std::size_t live_profiles_ = 0;
  // Distinct user_id nodes seen with a not-yet-shared identifier of a protected type.
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> watch_;
  std::vector<Separation> separations_;
  std::mt19937_64 random_;
  std::string key_buffer_;
  std::vector<std::string> key_buffers_;       // resolve() scratch: one "type:value" per identifier
  std::vector<std::uint32_t> key_hashes_;      // and its IdentifierTable::hash_of
};

// "type:value" split at the first ':'; false when there is none or either side is empty.
bool split_identity(std::string_view identity, std::string_view& type, std::string_view& value);

}  // namespace aisle::collector::profiles
