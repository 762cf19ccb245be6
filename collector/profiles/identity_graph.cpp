#include "collector/profiles/identity_graph.hpp"

#include <algorithm>
#include <unordered_set>

namespace aisle::collector::profiles {
namespace {

constexpr std::uint16_t kMaxCount = UINT16_MAX;

std::uint8_t encode_consent(const ConsentFlags& flags) {
  return static_cast<std::uint8_t>(static_cast<unsigned>(flags.analytics) |
                                   (static_cast<unsigned>(flags.personalization) << 2) |
                                   (static_cast<unsigned>(flags.marketing) << 4));
}

ConsentFlags decode_consent(std::uint8_t bits) {
  ConsentFlags flags;
  flags.analytics = static_cast<ConsentState>(bits & 3);
  flags.personalization = static_cast<ConsentState>((bits >> 2) & 3);
  flags.marketing = static_cast<ConsentState>((bits >> 4) & 3);
  return flags;
}

}  // namespace

const char* refusal_reason_name(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kLimit: return "limit";
    case RefusalReason::kSeparated: return "separated";
    case RefusalReason::kShared: return "shared";
  }
  return "unknown";
}

bool split_identity(std::string_view identity, std::string_view& type, std::string_view& value) {
  const auto colon = identity.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == identity.size()) return false;
  type = identity.substr(0, colon);
  value = identity.substr(colon + 1);
  return true;
}

Result<std::unique_ptr<IdentityGraph>> IdentityGraph::create(IdentityRules rules) {
  if (auto valid = rules.validate(); !valid) return valid.error();
  return std::unique_ptr<IdentityGraph>(new IdentityGraph(std::move(rules)));
}

IdentityGraph::IdentityGraph(IdentityRules rules)
    : rules_(std::move(rules)), random_(std::random_device{}()) {
  // The configured types first, so their limit indexes are fixed; custom types are added on
  // first sight with the custom rule (never limited, validate() makes sure).
  for (const auto& [name, rule] : rules_.types) type_index(name);
  user_id_type_ = type_index("user_id");
}

std::uint16_t IdentityGraph::type_index(std::string_view type) {
  auto it = type_ids_.find(type);
  if (it != type_ids_.end()) return it->second;
  TypeInfo info{std::string(type), rules_.rule(type), -1};
  if (info.rule.max_per_profile > 0) info.limited_index = static_cast<int>(limited_types_++);
  const auto index = static_cast<std::uint16_t>(types_.size());
  types_.push_back(std::move(info));
  type_ids_.emplace(std::string(type), index);
  return index;
}

void IdentityGraph::ensure_node_arrays(std::uint32_t node) {
  const std::size_t old = nodes_.size();
  if (node < old) return;
  const std::size_t n = std::size_t{node} + 1;
  nodes_.resize(n);
  next_.resize(n);
  for (std::size_t i = old; i < n; ++i) {
    nodes_[i].parent = static_cast<std::uint32_t>(i);
    next_[i] = static_cast<std::uint32_t>(i);
  }
}

std::uint32_t IdentityGraph::add_node(std::string_view key_text, std::uint16_t type,
                                      UnixMillis at) {
  const auto node = static_cast<std::uint32_t>(nodes_.size());
  ensure_node_arrays(node);
  table_.insert(key_text, node);
  nodes_[node].type = type;
  nodes_[node].flags = kLive;
  nodes_[node].first_seen = at;
  nodes_[node].last_seen = at;
  return node;
}

void IdentityGraph::ensure_profile_arrays(std::uint32_t slot) {
  if (slot < profiles_.size()) return;
  profiles_.resize(std::size_t{slot} + 1);
  counts_.resize(profiles_.size() * limited_types_, 0);
}

std::uint16_t& IdentityGraph::count(std::uint32_t slot, int limited_index) {
  return counts_[std::size_t{slot} * limited_types_ + static_cast<std::size_t>(limited_index)];
}

std::uint32_t IdentityGraph::parent_of(std::uint32_t node) const {
  return nodes_[node].parent;
}

std::uint32_t IdentityGraph::next_node() const {
  return static_cast<std::uint32_t>(nodes_.size());
}

std::uint32_t IdentityGraph::find(std::uint32_t node) const {
  while (nodes_[node].parent != node) node = nodes_[node].parent;
  return node;
}

std::uint32_t IdentityGraph::find_compress(std::uint32_t node) {
  while (nodes_[node].parent != node) {
    nodes_[node].parent = nodes_[nodes_[node].parent].parent;  // path halving
    node = nodes_[node].parent;
  }
  return node;
}

std::uint32_t IdentityGraph::node(std::string_view type, std::string_view value) const {
  std::string key_text;
  key_text.reserve(type.size() + 1 + value.size());
  key_text.append(type).append(":").append(value);
  return table_.find(key_text);
}

std::uint32_t IdentityGraph::profile_of(std::uint32_t node) const {
  if (node >= nodes_.size() || !(nodes_[node].flags & kLive)) return kNoProfile;
  return nodes_[find(node)].root_profile;
}

std::uint32_t IdentityGraph::live_profile(std::uint32_t slot) const {
  // Merge chains are short (each merge points at an older slot), but a corrupt chain must not
  // loop: at most as many steps as there are slots.
  for (std::size_t steps = 0; slot < profiles_.size() && steps <= profiles_.size(); ++steps) {
    const Profile& p = profiles_[slot];
    if (p.state == SlotState::kLive) return slot;
    if (p.state != SlotState::kMerged) return kNoProfile;
    slot = p.merged_into;
  }
  return kNoProfile;
}

bool IdentityGraph::is_live(std::uint32_t slot) const {
  return slot < profiles_.size() && profiles_[slot].state == SlotState::kLive;
}

std::uint32_t IdentityGraph::slot_of(std::string_view profile_id) const {
  auto id = Uuid::parse(profile_id);
  if (!id || id->version() != 8) return kNoProfile;
  std::uint64_t slot = 0;
  for (int i = 0; i < 6; ++i) slot = (slot << 8) | id->bytes[static_cast<std::size_t>(i)];
  if (slot >= profiles_.size()) return kNoProfile;
  const Profile& p = profiles_[slot];
  if (p.state == SlotState::kUnused || !(p.id == *id)) return kNoProfile;
  return static_cast<std::uint32_t>(slot);
}

std::string IdentityGraph::profile_id(std::uint32_t slot) const {
  if (slot >= profiles_.size() || profiles_[slot].state == SlotState::kUnused) return {};
  return profiles_[slot].id.to_string();
}

std::uint32_t IdentityGraph::root_of_profile(std::uint32_t slot) const {
  return is_live(slot) ? profiles_[slot].root : kNoNode;
}

std::vector<std::uint32_t> IdentityGraph::members(std::uint32_t slot) const {
  std::vector<std::uint32_t> out;
  if (!is_live(slot)) return out;
  const std::uint32_t root = profiles_[slot].root;
  out.reserve(nodes_[root].size);
  std::uint32_t n = root;
  do {
    out.push_back(n);
    n = next_[n];
  } while (n != root);
  return out;
}

NodeView IdentityGraph::view(std::uint32_t node) const {
  NodeView v;
  if (node >= nodes_.size() || !(nodes_[node].flags & kLive)) return v;
  v.key = table_.key(node);
  const auto colon = v.key.find(':');
  v.type = v.key.substr(0, colon);
  v.value = colon == std::string_view::npos ? std::string_view() : v.key.substr(colon + 1);
  v.first_seen = nodes_[node].first_seen;
  v.last_seen = nodes_[node].last_seen;
  v.shared = (nodes_[node].flags & kShared) != 0;
  return v;
}

ConsentFlags IdentityGraph::consent(std::uint32_t slot) const {
  if (!is_live(slot)) return {};
  return decode_consent(profiles_[slot].consent);
}

void IdentityGraph::set_consent(std::uint32_t slot, const ConsentFlags& flags) {
  if (slot < profiles_.size()) profiles_[slot].consent = encode_consent(flags);
}

std::size_t IdentityGraph::memory_bytes() const {
  std::size_t bytes = table_.memory_bytes();
  bytes += nodes_.capacity() * sizeof(Node) + next_.capacity() * sizeof(std::uint32_t);
  bytes += profiles_.capacity() * sizeof(Profile) + counts_.capacity() * sizeof(std::uint16_t);
  // Estimated (a hash node, a vector and a few user ids each), so the figure costs no walk.
  bytes += watch_.size() * 80 + watch_.bucket_count() * sizeof(void*);
  bytes += separations_.capacity() * sizeof(Separation);
  return bytes;
}

void IdentityGraph::reserve(std::size_t nodes, std::size_t key_bytes, std::size_t profiles) {
  table_.reserve(nodes, key_bytes);
  nodes_.reserve(nodes);
  next_.reserve(nodes);
  profiles_.reserve(profiles);
  counts_.reserve(profiles * limited_types_);
}

std::uint32_t IdentityGraph::new_profile(std::uint32_t root, GraphChanges& changes) {
  const auto slot = static_cast<std::uint32_t>(profiles_.size());
  ensure_profile_arrays(slot);
  Profile& p = profiles_[slot];
  // UUID version 8: the slot in the first 48 bits, random bits in the rest (RFC 9562 §5.8).
  const std::uint64_t r1 = random_();
  const std::uint64_t r2 = random_();
  for (int i = 0; i < 6; ++i) {
    p.id.bytes[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(std::uint64_t{slot} >> (8 * (5 - i)));
  }
  for (std::size_t i = 6; i < 16; ++i) {
    p.id.bytes[i] = static_cast<std::uint8_t>(i < 14 ? r1 >> (8 * (i - 6)) : r2 >> (8 * (i - 14)));
  }
  p.id.bytes[6] = static_cast<std::uint8_t>(0x80 | (p.id.bytes[6] & 0x0f));
  p.id.bytes[8] = static_cast<std::uint8_t>(0x80 | (p.id.bytes[8] & 0x3f));
  const std::uint32_t r = find_compress(root);
  p.root = r;
  p.state = SlotState::kLive;
  nodes_[r].root_profile = slot;
  ++live_profiles_;
  const int li = types_[nodes_[root].type].limited_index;
  if (li >= 0) count(slot, li) = 1;
  changes.new_profiles.push_back(slot);
  return slot;
}

std::uint32_t IdentityGraph::join_roots(std::uint32_t a, std::uint32_t b) {
  if (nodes_[a].size < nodes_[b].size) std::swap(a, b);
  nodes_[b].parent = a;
  nodes_[a].size += nodes_[b].size;
  std::swap(next_[a], next_[b]);  // splices the two circular member lists
  return a;
}

std::string IdentityGraph::attach_refusal(std::uint32_t slot, std::uint16_t type) const {
  const TypeInfo& info = types_[type];
  if (info.limited_index < 0) return {};
  const std::size_t held =
      counts_[std::size_t{slot} * limited_types_ + static_cast<std::size_t>(info.limited_index)];
  if (held + 1 <= info.rule.max_per_profile) return {};
  return "profile " + profile_id(slot) + " would hold " + std::to_string(held + 1) + " " +
         info.name + " (max " + std::to_string(info.rule.max_per_profile) + ")";
}

std::string IdentityGraph::merge_refusal(std::uint32_t a, std::uint32_t b,
                                         RefusalReason& reason) const {
  for (const Separation& s : separations_) {
    const std::uint32_t pa = profile_of(s.a);
    const std::uint32_t pb = profile_of(s.b);
    if ((pa == a && pb == b) || (pa == b && pb == a)) {
      reason = RefusalReason::kSeparated;
      return "profiles " + profile_id(a) + " and " + profile_id(b) +
             " were separated by an unmerge (" + std::string(table_.key(s.a)) + " / " +
             std::string(table_.key(s.b)) + ")";
    }
  }
  for (const TypeInfo& info : types_) {
    if (info.limited_index < 0) continue;
    const std::size_t total =
        std::size_t{counts_[std::size_t{a} * limited_types_ +
                            static_cast<std::size_t>(info.limited_index)]} +
        counts_[std::size_t{b} * limited_types_ + static_cast<std::size_t>(info.limited_index)];
    if (total > info.rule.max_per_profile) {
      reason = RefusalReason::kLimit;
      return "merging " + profile_id(b) + " into " + profile_id(a) + " would give " +
             std::to_string(total) + " " + info.name + " (max " +
             std::to_string(info.rule.max_per_profile) + ")";
    }
  }
  return {};
}

void IdentityGraph::attach(std::uint32_t anchor, std::uint32_t node, std::uint16_t type,
                           GraphChanges& changes) {
  const std::uint32_t r = find_compress(anchor);
  const std::uint32_t slot = nodes_[r].root_profile;
  const std::uint32_t joined = join_roots(r, find_compress(node));
  nodes_[joined].root_profile = slot;
  profiles_[slot].root = joined;
  const int li = types_[type].limited_index;
  if (li >= 0 && count(slot, li) < kMaxCount) ++count(slot, li);
  changes.touched_nodes.push_back(joined == r ? node : r);
  changes.links.push_back({anchor, node});
  changes.grown_profiles.push_back(slot);
}

std::uint32_t IdentityGraph::merge(std::uint32_t a, std::uint32_t b, std::uint32_t anchor,
                                   std::uint32_t reason_node, GraphChanges& changes) {
  const std::uint32_t survivor = std::min(a, b);
  const std::uint32_t merged = std::max(a, b);
  const std::uint32_t ra = profiles_[a].root;
  const std::uint32_t rb = profiles_[b].root;
  const std::uint32_t joined = join_roots(ra, rb);
  changes.touched_nodes.push_back(joined == ra ? rb : ra);
  nodes_[joined].root_profile = survivor;
  Profile& s = profiles_[survivor];
  Profile& m = profiles_[merged];
  s.root = joined;
  m.state = SlotState::kMerged;
  m.merged_into = survivor;
  // Until the service recomputes the merged consent: the survivor's decisions, the merged
  // profile's where the survivor has none.
  ConsentFlags sc = decode_consent(s.consent);
  const ConsentFlags mc = decode_consent(m.consent);
  if (sc.analytics == ConsentState::kUnknown) sc.analytics = mc.analytics;
  if (sc.personalization == ConsentState::kUnknown) sc.personalization = mc.personalization;
  if (sc.marketing == ConsentState::kUnknown) sc.marketing = mc.marketing;
  s.consent = encode_consent(sc);
  for (std::size_t i = 0; i < limited_types_; ++i) {
    const std::size_t total = std::size_t{counts_[std::size_t{survivor} * limited_types_ + i]} +
                              counts_[std::size_t{merged} * limited_types_ + i];
    counts_[std::size_t{survivor} * limited_types_ + i] =
        static_cast<std::uint16_t>(std::min<std::size_t>(total, kMaxCount));
  }
  --live_profiles_;
  changes.merges.push_back({survivor, merged, reason_node});
  changes.links.push_back({anchor, reason_node});
  changes.grown_profiles.push_back(survivor);
  return survivor;
}

void IdentityGraph::refuse(std::uint32_t slot, std::uint32_t node, RefusalReason reason,
                           std::string text, GraphChanges& changes) {
  changes.refusals.push_back({slot, node, reason, std::move(text)});
}

void IdentityGraph::watch_shared(const std::vector<Item>& items, GraphChanges& changes) {
  std::uint32_t user = kNoNode;
  for (const Item& item : items) {
    if (item.type == user_id_type_) user = item.node;
  }
  if (user == kNoNode) return;
  for (const Item& item : items) {
    if (item.type == user_id_type_ || !types_[item.type].rule.shared_protection ||
        (nodes_[item.node].flags & kShared)) {
      continue;
    }
    auto& seen = watch_[item.node];
    if (std::find(seen.begin(), seen.end(), user) != seen.end()) continue;
    seen.push_back(user);
    changes.watch_added.emplace_back(item.node, user);
    if (seen.size() > rules_.shared_after_user_ids) {
      nodes_[item.node].flags |= kShared;
      watch_.erase(item.node);
      changes.marked_shared.push_back(item.node);
      changes.touched_nodes.push_back(item.node);
    }
  }
}

std::uint32_t IdentityGraph::resolve(const std::map<std::string, std::string>& identities,
                                     UnixMillis at, GraphChanges& changes) {
  std::vector<Item>& items = items_;
  items.clear();
  // Two passes: hash every identifier and prefetch its table slot first, so the cache misses of
  // an event's 1-5 lookups overlap instead of queueing (at 10 M identifiers each is a DRAM trip).
  if (key_buffers_.size() < identities.size()) key_buffers_.resize(identities.size());
  key_hashes_.clear();
  std::size_t k = 0;
  for (const auto& [type, value] : identities) {
    if (type.empty() || value.empty()) continue;
    key_buffers_[k].assign(type).append(":").append(value);
    key_hashes_.push_back(IdentifierTable::hash_of(key_buffers_[k]));
    table_.prefetch(key_hashes_.back());
    ++k;
  }
  k = 0;
  for (const auto& [type, value] : identities) {
    if (type.empty() || value.empty()) continue;
    const std::string& key_text = key_buffers_[k];
    std::uint32_t n = table_.find(key_text, key_hashes_[k]);
    ++k;
    if (n == IdentifierTable::kNone) {
      n = add_node(key_text, type_index(type), at);
      changes.touched_nodes.push_back(n);
    } else if (at < nodes_[n].first_seen || at > nodes_[n].last_seen) {
      nodes_[n].first_seen = std::min(nodes_[n].first_seen, at);
      nodes_[n].last_seen = std::max(nodes_[n].last_seen, at);
      changes.seen_nodes.push_back(n);
    }
    items.push_back({n, nodes_[n].type});
  }
  if (items.empty()) return kNoNode;
  std::sort(items.begin(), items.end(), [this](const Item& a, const Item& b) {
    const TypeInfo& ta = types_[a.type];
    const TypeInfo& tb = types_[b.type];
    if (ta.rule.priority != tb.rule.priority) return ta.rule.priority > tb.rule.priority;
    return ta.name < tb.name;
  });
  const std::size_t shared_before = changes.marked_shared.size();
  watch_shared(items, changes);

  auto shared = [this](const Item& item) { return (nodes_[item.node].flags & kShared) != 0; };
  auto links = [this](const Item& item) { return types_[item.type].rule.links; };
  const Item* anchor = nullptr;
  for (const Item& item : items) {
    if (links(item) && !shared(item)) {
      anchor = &item;
      break;
    }
  }
  if (anchor == nullptr) {
    for (const Item& item : items) {
      if (!shared(item)) {
        anchor = &item;
        break;
      }
    }
  }
  if (anchor == nullptr) return kNoNode;  // only shared identifiers: nobody in particular
  const std::uint32_t anchor_node = anchor->node;
  const bool anchor_links = links(*anchor);

  if (profile_of(anchor_node) == kNoProfile) {
    // A new anchor joins the profile of the first known identifier that may take it, so a new
    // identifier of a known person does not make a profile only to merge it away.
    if (anchor_links) {
      for (const Item& item : items) {
        if (&item == anchor || !links(item) || shared(item)) continue;
        const std::uint32_t slot = profile_of(item.node);
        if (slot == kNoProfile || !attach_refusal(slot, anchor->type).empty()) continue;
        attach(item.node, anchor_node, anchor->type, changes);
        break;
      }
    }
    if (profile_of(anchor_node) == kNoProfile) new_profile(anchor_node, changes);
  }

  for (const Item& item : items) {
    if (item.node == anchor_node) continue;
    const std::uint32_t ra = find_compress(anchor_node);
    const std::uint32_t rb = find_compress(item.node);
    if (ra == rb) continue;
    const std::uint32_t slot_a = nodes_[ra].root_profile;
    const std::uint32_t slot_b = nodes_[rb].root_profile;
    if (slot_b == kNoProfile) {  // a new identifier: joins the anchor's profile if it may
      std::string why = shared(item) ? std::string() : attach_refusal(slot_a, item.type);
      if (!shared(item) && why.empty()) {
        attach(anchor_node, item.node, item.type, changes);
      } else {
        new_profile(item.node, changes);
        if (!why.empty()) {
          refuse(slot_a, item.node, RefusalReason::kLimit,
                 std::string(table_.key(item.node)) + " not joined: " + why, changes);
        }
      }
      continue;
    }
    if (!anchor_links || !links(item) || shared(item)) continue;  // never joins profiles
    RefusalReason reason = RefusalReason::kLimit;
    std::string why = merge_refusal(slot_a, slot_b, reason);
    if (!why.empty()) {
      refuse(slot_a, item.node, reason, std::string(table_.key(item.node)) + " not joined: " + why,
             changes);
      continue;
    }
    merge(slot_a, slot_b, anchor_node, item.node, changes);
  }

  for (std::size_t i = shared_before; i < changes.marked_shared.size(); ++i) {
    const std::uint32_t node_id = changes.marked_shared[i];
    refuse(profile_of(node_id), node_id, RefusalReason::kShared,
           std::string(table_.key(node_id)) + " marked shared: seen with more than " +
               std::to_string(rules_.shared_after_user_ids) +
               " distinct user_id; it no longer joins profiles",
           changes);
  }
  return anchor_node;
}

void IdentityGraph::recount(std::uint32_t slot) {
  for (std::size_t i = 0; i < limited_types_; ++i)
    counts_[std::size_t{slot} * limited_types_ + i] = 0;
  for (std::uint32_t m : members(slot)) {
    const int li = types_[nodes_[m].type].limited_index;
    if (li >= 0 && count(slot, li) < kMaxCount) ++count(slot, li);
  }
}

std::uint32_t IdentityGraph::split(std::uint32_t slot, const std::vector<std::uint32_t>& nodes,
                                   GraphChanges& changes) {
  const std::vector<std::uint32_t> all = members(slot);
  const std::unordered_set<std::uint32_t> moving(nodes.begin(), nodes.end());
  std::vector<std::uint32_t> rest;
  for (std::uint32_t m : all) {
    nodes_[m].parent = m;
    next_[m] = m;
    nodes_[m].size = 1;
    nodes_[m].root_profile = kNoProfile;
    changes.touched_nodes.push_back(m);
    if (!moving.count(m)) rest.push_back(m);
  }
  std::uint32_t r = rest.front();
  for (std::size_t i = 1; i < rest.size(); ++i) r = join_roots(r, rest[i]);
  nodes_[r].root_profile = slot;
  profiles_[slot].root = r;
  recount(slot);

  const std::uint32_t created = new_profile(nodes.front(), changes);
  std::uint32_t q = profiles_[created].root;
  for (std::size_t i = 1; i < nodes.size(); ++i) q = join_roots(q, nodes[i]);
  nodes_[q].root_profile = created;
  profiles_[created].root = q;
  recount(created);
  profiles_[created].consent = profiles_[slot].consent;

  // A separation anchored on a node that moved keeps holding for the profile it left, too.
  const std::size_t existing = separations_.size();
  for (std::size_t i = 0; i < existing; ++i) {
    Separation s = separations_[i];
    if (moving.count(s.a)) {
      separations_.push_back({rest.front(), s.b});
      changes.separations_added.push_back(separations_.back());
    } else if (moving.count(s.b)) {
      separations_.push_back({s.a, rest.front()});
      changes.separations_added.push_back(separations_.back());
    }
  }
  separations_.push_back({nodes.front(), rest.front()});
  changes.separations_added.push_back(separations_.back());
  return created;
}

std::vector<std::uint32_t> IdentityGraph::merged_into(std::uint32_t slot) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t s = 0; s < profiles_.size(); ++s) {
    if (profiles_[s].state == SlotState::kMerged && live_profile(s) == slot) out.push_back(s);
  }
  return out;
}

IdentityGraph::Erased IdentityGraph::erase_profile(std::uint32_t slot) {
  Erased erased;
  if (!is_live(slot)) return erased;
  erased.nodes = members(slot);
  erased.slots = merged_into(slot);
  erased.slots.push_back(slot);
  const std::unordered_set<std::uint32_t> gone(erased.nodes.begin(), erased.nodes.end());
  for (std::uint32_t m : erased.nodes) {
    table_.erase(m);
    nodes_[m].flags = 0;
    nodes_[m].parent = m;
    next_[m] = m;
    nodes_[m].size = 1;
    nodes_[m].root_profile = kNoProfile;
    watch_.erase(m);
  }
  for (auto& [node_id, users] : watch_) {
    users.erase(std::remove_if(users.begin(), users.end(),
                               [&gone](std::uint32_t u) { return gone.count(u) > 0; }),
                users.end());
  }
  separations_.erase(std::remove_if(separations_.begin(), separations_.end(),
                                    [&gone](const Separation& s) {
                                      return gone.count(s.a) > 0 || gone.count(s.b) > 0;
                                    }),
                     separations_.end());
  for (std::uint32_t s : erased.slots) {
    profiles_[s].state = SlotState::kErased;
    profiles_[s].root = kNoNode;
  }
  --live_profiles_;
  return erased;
}

void IdentityGraph::load_node(std::uint32_t node_id, std::string_view type, std::string_view value,
                              std::uint32_t parent, UnixMillis first_seen, UnixMillis last_seen,
                              bool shared) {
  ensure_node_arrays(node_id);
  key_buffer_.assign(type).append(":").append(value);
  table_.insert(key_buffer_, node_id);
  nodes_[node_id].type = type_index(type);
  nodes_[node_id].parent = parent;
  nodes_[node_id].flags = static_cast<std::uint8_t>(kLive | (shared ? kShared : 0));
  nodes_[node_id].first_seen = first_seen;
  nodes_[node_id].last_seen = last_seen;
}

void IdentityGraph::load_profile(std::uint32_t slot, const Uuid& id, std::uint32_t root,
                                 std::uint32_t merged_into, ConsentFlags consent) {
  ensure_profile_arrays(slot);
  Profile& p = profiles_[slot];
  p.id = id;
  p.root = root;
  p.merged_into = merged_into;
  p.state = merged_into == kNoProfile ? SlotState::kLive : SlotState::kMerged;
  p.consent = encode_consent(consent);
}

void IdentityGraph::load_watch(std::uint32_t node_id, std::uint32_t user_node) {
  watch_[node_id].push_back(user_node);
}

void IdentityGraph::load_separation(Separation separation) {
  separations_.push_back(separation);
}

Status IdentityGraph::finish_load() {
  const std::size_t n = nodes_.size();
  auto live = [this](std::uint32_t i) { return (nodes_[i].flags & kLive) != 0; };
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!live(i)) continue;
    if (nodes_[i].parent >= n || !live(nodes_[i].parent)) {
      return make_error(ErrorCode::kDataLoss, "identity graph: identifier " +
                                                  std::string(table_.key(i)) +
                                                  " has a parent that does not exist");
    }
  }
  // Flatten with a step bound, so a stored cycle is reported instead of looping.
  std::vector<std::uint32_t> root(n, kNoNode);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!live(i)) continue;
    std::uint32_t r = i;
    std::size_t steps = 0;
    while (nodes_[r].parent != r && root[r] == kNoNode) {
      r = nodes_[r].parent;
      if (++steps > n) {
        return make_error(ErrorCode::kDataLoss,
                          "identity graph: a parent cycle through " + std::string(table_.key(i)));
      }
    }
    if (root[r] != kNoNode) r = root[r];
    root[i] = r;
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    next_[i] = i;
    nodes_[i].size = 1;
    nodes_[i].root_profile = kNoProfile;
    if (live(i)) nodes_[i].parent = root[i];
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!live(i) || nodes_[i].parent == i) continue;
    const std::uint32_t r = nodes_[i].parent;
    next_[i] = next_[r];
    next_[r] = i;
    ++nodes_[r].size;
  }
  live_profiles_ = 0;
  for (std::uint32_t slot = 0; slot < profiles_.size(); ++slot) {
    Profile& p = profiles_[slot];
    if (p.state == SlotState::kMerged && p.merged_into >= profiles_.size()) {
      return make_error(ErrorCode::kDataLoss, "identity graph: profile " + p.id.to_string() +
                                                  " was merged into a profile that does not exist");
    }
    if (p.state != SlotState::kLive) continue;
    if (p.root >= n || !live(p.root)) {
      return make_error(ErrorCode::kDataLoss,
                        "identity graph: profile " + p.id.to_string() + " has no identifiers");
    }
    const std::uint32_t r = nodes_[p.root].parent;
    if (nodes_[r].root_profile != kNoProfile) {
      return make_error(ErrorCode::kDataLoss, "identity graph: profiles " +
                                                  profile_id(nodes_[r].root_profile) + " and " +
                                                  p.id.to_string() + " share identifiers");
    }
    nodes_[r].root_profile = slot;
    p.root = r;
    ++live_profiles_;
    recount(slot);
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    if (live(i) && nodes_[i].parent == i && nodes_[i].root_profile == kNoProfile) {
      return make_error(
          ErrorCode::kDataLoss,
          "identity graph: identifier " + std::string(table_.key(i)) + " belongs to no profile");
    }
  }
  return ok_status();
}

}  // namespace aisle::collector::profiles
