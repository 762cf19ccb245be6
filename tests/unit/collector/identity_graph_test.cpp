#include "collector/profiles/identity_graph.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "collector/profiles/identifier_table.hpp"

namespace aisle::collector::profiles {
namespace {

using Ids = std::map<std::string, std::string>;
using Partition = std::set<std::set<std::string>>;

std::unique_ptr<IdentityGraph> make_graph(IdentityRules rules = IdentityRules::defaults()) {
  auto graph = IdentityGraph::create(std::move(rules));
  REQUIRE(graph.ok());
  return std::move(*graph);
}

// The profiles of the given identifiers as sets of "type:value" keys.
Partition partition_of(const IdentityGraph& g, const std::set<std::string>& keys) {
  std::map<std::uint32_t, std::set<std::string>> by_profile;
  for (const auto& key : keys) {
    const std::uint32_t node = g.node(key);
    REQUIRE(node != kNoNode);
    by_profile[g.profile_of(node)].insert(key);
  }
  Partition out;
  for (auto& [slot, members] : by_profile) {
    REQUIRE(slot != kNoProfile);
    out.insert(members);
  }
  return out;
}

std::set<std::string> keys_of(const std::vector<Ids>& events) {
  std::set<std::string> keys;
  for (const auto& e : events) {
    for (const auto& [type, value] : e) keys.insert(type + ":" + value);
  }
  return keys;
}

struct Scenario {
  const char* name;
  std::vector<Ids> events;
  Partition expected;
  std::size_t refusals = 0;
};

TEST_CASE("identity scenarios resolve to the expected profiles", "[collector][profiles]") {
  const std::vector<Scenario> scenarios = {
      {"web anon -> login -> POS loyalty -> kiosk is one person",
       {{{"anonymous_id", "a1"}, {"session_id", "s1"}},
        {{"anonymous_id", "a1"}, {"user_id", "u1"}, {"email_sha256", "e1"}},
        {{"loyalty_id", "L1"}, {"email_sha256", "e1"}},
        {{"device_id", "kiosk-7"}, {"loyalty_id", "L1"}}},
       {{"anonymous_id:a1", "session_id:s1", "user_id:u1", "email_sha256:e1", "loyalty_id:L1",
         "device_id:kiosk-7"}}},
      {"two anonymous profiles joined by an email merge into one",
       {{{"anonymous_id", "a1"}},
        {{"anonymous_id", "a2"}, {"email_sha256", "e"}},
        {{"anonymous_id", "a1"}, {"email_sha256", "e"}}},
       {{"anonymous_id:a1", "anonymous_id:a2", "email_sha256:e"}}},
      {"conflicting user_ids on one browser: the second login keeps its own profile",
       {{{"anonymous_id", "a"}, {"user_id", "u1"}}, {{"anonymous_id", "a"}, {"user_id", "u2"}}},
       {{"anonymous_id:a", "user_id:u1"}, {"user_id:u2"}},
       1},
      {"a loyalty card scanned with a second user_id stays with the first",
       {{{"user_id", "u1"}, {"loyalty_id", "L1"}}, {{"user_id", "u2"}, {"loyalty_id", "L1"}}},
       {{"user_id:u1", "loyalty_id:L1"}, {"user_id:u2"}},
       1},
      {"session ids are kept but never join profiles",
       {{{"session_id", "s"}, {"anonymous_id", "a1"}},
        {{"session_id", "s"}, {"anonymous_id", "a2"}}},
       {{"session_id:s", "anonymous_id:a1"}, {"anonymous_id:a2"}}},
      {"a second loyalty card is refused by the loyalty_id limit",
       {{{"user_id", "u1"}, {"loyalty_id", "L1"}}, {{"user_id", "u1"}, {"loyalty_id", "L2"}}},
       {{"user_id:u1", "loyalty_id:L1"}, {"loyalty_id:L2"}},
       1},
  };
  for (const Scenario& s : scenarios) {
    SECTION(s.name) {
      auto g = make_graph();
      GraphChanges changes;
      for (const auto& e : s.events) g->resolve(e, 1000, changes);
      CHECK(partition_of(*g, keys_of(s.events)) == s.expected);
      CHECK(changes.refusals.size() == s.refusals);
    }
  }
}

TEST_CASE("the oldest profile survives a merge and the merged id resolves to it",
          "[collector][profiles]") {
  auto g = make_graph();
  GraphChanges changes;
  g->resolve({{"anonymous_id", "a1"}}, 1, changes);
  g->resolve({{"anonymous_id", "a2"}}, 2, changes);
  const std::uint32_t first = g->profile_of(g->node("anonymous_id:a1"));
  const std::uint32_t second = g->profile_of(g->node("anonymous_id:a2"));
  const std::string second_id = g->profile_id(second);
  changes.clear();
  g->resolve({{"anonymous_id", "a2"}, {"email_sha256", "e"}, {"phone_sha256", "p"}}, 3, changes);
  g->resolve({{"anonymous_id", "a1"}, {"email_sha256", "e"}}, 4, changes);
  REQUIRE(changes.merges.size() == 1);
  CHECK(changes.merges[0].survivor == first);
  CHECK(changes.merges[0].merged == second);
  CHECK(g->live_profile(g->slot_of(second_id)) == first);
  CHECK(g->profile_of(g->node("phone_sha256:p")) == first);
  CHECK(g->members(first).size() == 4);
  CHECK(g->live_profiles() == 1);
}

TEST_CASE("a kiosk device seen with 50 users is marked shared and merges nobody",
          "[collector][profiles]") {
  auto g = make_graph();
  GraphChanges changes;
  for (int i = 0; i < 50; ++i) {
    g->resolve({{"device_id", "kiosk-1"}, {"user_id", "u" + std::to_string(i)}}, 1000 + i, changes);
  }
  std::set<std::uint32_t> profiles;
  for (int i = 0; i < 50; ++i) {
    profiles.insert(g->profile_of(g->node("user_id:u" + std::to_string(i))));
  }
  CHECK(profiles.size() == 50);
  CHECK(g->view(g->node("device_id:kiosk-1")).shared);
  CHECK(changes.marked_shared.size() == 1);
  CHECK(changes.merges.empty());
  // Once shared, even without the user_id limit it joins no one.
  GraphChanges more;
  g->resolve({{"device_id", "kiosk-1"}, {"anonymous_id", "anon-x"}}, 5000, more);
  CHECK(g->profile_of(g->node("anonymous_id:anon-x")) !=
        g->profile_of(g->node("device_id:kiosk-1")));
  CHECK(more.merges.empty());
}

TEST_CASE("shared protection stops merges that only the device would make",
          "[collector][profiles]") {
  IdentityRules rules = IdentityRules::defaults();
  rules.types["user_id"].max_per_profile = 0;  // no limit: only shared protection guards
  rules.shared_after_user_ids = 2;
  auto g = make_graph(rules);
  GraphChanges changes;
  for (int i = 0; i < 10; ++i) {
    g->resolve({{"device_id", "tablet"}, {"user_id", "u" + std::to_string(i)}}, i, changes);
  }
  // The first two users met on the tablet before it was shared; everyone after is alone.
  CHECK(g->profile_of(g->node("user_id:u0")) == g->profile_of(g->node("user_id:u1")));
  for (int i = 2; i < 10; ++i) {
    CHECK(g->profile_of(g->node("user_id:u" + std::to_string(i))) !=
          g->profile_of(g->node("user_id:u0")));
  }
  CHECK(g->view(g->node("device_id:tablet")).shared);
}

TEST_CASE("merge order does not change the final partition", "[collector][profiles]") {
  // Without limits or shared protection every link is accepted, so the partition is the
  // connected components whatever the order.
  IdentityRules rules = IdentityRules::defaults();
  for (auto& [type, rule] : rules.types) {
    rule.max_per_profile = 0;
    rule.shared_protection = false;
    rule.links = true;
  }
  const std::vector<const char*> types = {"anonymous_id", "user_id",    "email_sha256",
                                          "loyalty_id",   "session_id", "device_id"};
  std::mt19937 random(7);
  for (int round = 0; round < 30; ++round) {
    std::vector<Ids> events;
    for (int i = 0; i < 60; ++i) {
      Ids ids;
      const int n = 1 + static_cast<int>(random() % 3);
      for (int k = 0; k < n; ++k) {
        ids[types[random() % types.size()]] = "v" + std::to_string(random() % 25);
      }
      events.push_back(ids);
    }
    const auto keys = keys_of(events);
    auto reference = make_graph(rules);
    GraphChanges changes;
    for (const auto& e : events) reference->resolve(e, 1, changes);
    const Partition expected = partition_of(*reference, keys);
    for (int shuffle = 0; shuffle < 5; ++shuffle) {
      std::shuffle(events.begin(), events.end(), random);
      auto g = make_graph(rules);
      for (const auto& e : events) g->resolve(e, 1, changes);
      REQUIRE(partition_of(*g, keys) == expected);
    }
  }
}

// Reference connected components by BFS over the links the graph reported as accepted.
TEST_CASE("union-find profiles equal BFS components of the accepted links (random streams)",
          "[collector][profiles]") {
  const std::vector<const char*> types = {"anonymous_id", "user_id",      "email_sha256",
                                          "loyalty_id",   "session_id",   "device_id",
                                          "phone_sha256", "custom_crm_id"};
  for (std::uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 random(seed);
    IdentityRules rules = IdentityRules::defaults();
    rules.shared_after_user_ids = 1 + random() % 4;
    auto g = make_graph(rules);
    GraphChanges changes;
    const int events = 50 + static_cast<int>(random() % 250);
    const int values = 5 + static_cast<int>(random() % 60);
    for (int i = 0; i < events; ++i) {
      Ids ids;
      const int n = 1 + static_cast<int>(random() % 4);
      for (int k = 0; k < n; ++k) {
        ids[types[random() % types.size()]] = "v" + std::to_string(random() % values);
      }
      g->resolve(ids, i, changes);
    }
    std::map<std::uint32_t, std::vector<std::uint32_t>> adjacency;
    for (const GraphLink& link : changes.links) {
      adjacency[link.anchor].push_back(link.node);
      adjacency[link.node].push_back(link.anchor);
    }
    std::vector<std::uint32_t> component(g->next_node(), kNoNode);
    for (std::uint32_t start = 0; start < g->next_node(); ++start) {
      if (component[start] != kNoNode) continue;
      std::queue<std::uint32_t> queue;
      queue.push(start);
      component[start] = start;
      while (!queue.empty()) {
        const std::uint32_t n = queue.front();
        queue.pop();
        for (std::uint32_t m : adjacency[n]) {
          if (component[m] == kNoNode) {
            component[m] = start;
            queue.push(m);
          }
        }
      }
    }
    INFO("seed " << seed);
    std::map<std::uint32_t, std::uint32_t> component_to_profile;
    std::map<std::uint32_t, std::uint32_t> profile_to_component;
    for (std::uint32_t n = 0; n < g->next_node(); ++n) {
      const std::uint32_t profile = g->profile_of(n);
      REQUIRE(profile != kNoProfile);
      auto [c, c_new] = component_to_profile.emplace(component[n], profile);
      auto [p, p_new] = profile_to_component.emplace(profile, component[n]);
      REQUIRE(c->second == profile);
      REQUIRE(p->second == component[n]);
    }
    // Members lists agree with the forest, and limits hold on every profile.
    std::size_t listed = 0;
    for (std::uint32_t slot = 0; slot < g->next_slot(); ++slot) {
      if (!g->is_live(slot)) continue;
      int user_ids = 0;
      int loyalty_ids = 0;
      for (std::uint32_t m : g->members(slot)) {
        REQUIRE(g->profile_of(m) == slot);
        user_ids += g->view(m).type == "user_id";
        loyalty_ids += g->view(m).type == "loyalty_id";
        ++listed;
      }
      REQUIRE(user_ids <= 1);
      REQUIRE(loyalty_ids <= 1);
    }
    REQUIRE(listed == g->node_count());
    REQUIRE(component_to_profile.size() == g->live_profiles());
  }
}

TEST_CASE("split separates identifiers and a later link does not re-merge them",
          "[collector][profiles]") {
  auto g = make_graph();
  GraphChanges changes;
  g->resolve({{"user_id", "u1"}, {"anonymous_id", "a1"}, {"email_sha256", "e1"}}, 1, changes);
  const std::uint32_t slot = g->profile_of(g->node("user_id:u1"));
  const std::uint32_t created = g->split(slot, {g->node("anonymous_id:a1")}, changes);
  CHECK(g->profile_of(g->node("anonymous_id:a1")) == created);
  CHECK(g->profile_of(g->node("email_sha256:e1")) == slot);
  changes.clear();
  g->resolve({{"user_id", "u1"}, {"anonymous_id", "a1"}}, 2, changes);
  CHECK(g->profile_of(g->node("anonymous_id:a1")) == created);
  REQUIRE(changes.refusals.size() == 1);
  CHECK(changes.refusals[0].reason == RefusalReason::kSeparated);
}

TEST_CASE("an erased profile's identifiers are gone from the graph", "[collector][profiles]") {
  auto g = make_graph();
  GraphChanges changes;
  g->resolve({{"user_id", "u1"}, {"anonymous_id", "a1"}}, 1, changes);
  g->resolve({{"user_id", "u2"}}, 1, changes);
  const std::uint32_t slot = g->profile_of(g->node("user_id:u1"));
  const auto erased = g->erase_profile(slot);
  CHECK(erased.nodes.size() == 2);
  CHECK(g->node("user_id:u1") == kNoNode);
  CHECK(g->node("anonymous_id:a1") == kNoNode);
  CHECK(g->node("user_id:u2") != kNoNode);
  CHECK(g->live_profiles() == 1);
  CHECK(g->node_count() == 1);
}

TEST_CASE("identifier table finds, grows and erases with backward shift", "[collector][profiles]") {
  IdentifierTable table;
  std::mt19937 random(3);
  std::map<std::string, std::uint32_t> reference;
  std::uint32_t next = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string key = "t:" + std::to_string(random() % 5000);
    if (random() % 3 == 0) {
      auto it = reference.find(key);
      if (it != reference.end()) {
        REQUIRE(table.erase(it->second));
        reference.erase(it);
      }
    } else if (!reference.count(key)) {
      table.insert(key, next);
      reference[key] = next++;
    }
  }
  REQUIRE(table.size() == reference.size());
  for (const auto& [key, node] : reference) REQUIRE(table.find(key) == node);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "t:" + std::to_string(i);
    REQUIRE((table.find(key) != IdentifierTable::kNone) == (reference.count(key) > 0));
  }
}

}  // namespace
}  // namespace aisle::collector::profiles
