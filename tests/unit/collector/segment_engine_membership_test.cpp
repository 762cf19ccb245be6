// The engine's membership bookkeeping: members held by profile handle (paging, swaps on exit),
// membership writes resolved to ids at the flush, change ids, dependents on window expiry, and
// the tick hook.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "collector/segments/segment_engine_impl.hpp"
#include "tests/unit/collector/segment_test_util.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;
using namespace test_util;

json count_of(const std::string& type, int at_least, const std::string& window = "30m") {
  return {{"condition",
           {{"count", {{"event", type}, {"window", window}, {"op", ">="}, {"value", at_least}}}}}};
}

std::vector<std::string> all_members(SegmentEngine& engine, const std::string& segment,
                                     std::size_t page_size) {
  std::vector<std::string> out;
  std::string cursor;
  do {
    auto page = engine.members(segment, cursor, page_size);
    REQUIRE(page.ok());
    REQUIRE(page->members.size() <= page_size);
    for (const auto& [id, at] : page->members) out.push_back(id);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  return out;
}

TEST_CASE("members page in profile id order after exits moved other members in the segment",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", count_of("a", 1));
  std::set<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "p" + std::to_string(100 + (i * 17) % 40);  // not in id order
    h.event(id, "a");
    expected.insert(id);
  }
  // Leave in an order that moves the segment's last handle into many holes.
  for (int i = 0; i < 40; i += 3) {
    const std::string id = "p" + std::to_string(100 + i);
    h.engine().on_erase(profiles::ErasedProfile{id, {}, {}, {}});
    expected.erase(id);
  }
  const std::vector<std::string> want(expected.begin(), expected.end());
  CHECK(all_members(h.engine(), "s", 1) == want);
  CHECK(all_members(h.engine(), "s", 7) == want);
  CHECK(all_members(h.engine(), "s", 1000) == want);
  CHECK(h.engine().get("s")->members == want.size());
  CHECK(h.metrics.value("aisle_collector_segments_members", {{"segment", "s"}}) ==
        static_cast<double>(want.size()));
  for (const auto& id : want) {
    CHECK(h.engine().is_member("s", id));
    auto of = h.engine().segments_of(id);
    REQUIRE(of.size() == 1);
    CHECK(of[0].segment_id == "s");
    CHECK(of[0].version == 1);
    CHECK(of[0].entered_at == kT0);
  }
  CHECK_FALSE(h.engine().is_member("s", "p100"));
  CHECK(h.engine().segments_of("p100").empty());
  // Paging from a cursor that is not a member id starts after it (p121 left).
  auto page = h.engine().members("s", "p120a", 2);
  REQUIRE(page.ok());
  REQUIRE(page->members.size() == 2);
  CHECK(page->members[0].first == "p122");
  CHECK(page->members[1].first == "p123");
  CHECK(page->next_cursor == "p123");
  CHECK(h.engine().members("s", "", 0)->members.empty());
}

TEST_CASE("a membership write of a profile forgotten before the flush is stored under its own id",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", count_of("a", 1));
  h.put("two", count_of("b", 2));
  h.event("p1", "a");
  REQUIRE(h.engine().flush().ok());
  // p1 leaves and is forgotten; its exit is not written yet. p2 arrives meanwhile and must not
  // take over p1's handle, or the exit would be written for p2 and p1 would come back.
  h.engine().on_erase(profiles::ErasedProfile{"p1", {}, {}, {}});
  h.event("p2", "b");
  h.event("p3", "a");
  REQUIRE(h.engine().flush().ok());
  h.reopen();
  CHECK_FALSE(h.engine().is_member("s", "p1"));
  CHECK(h.engine().is_member("s", "p3"));
  CHECK_FALSE(h.engine().is_member("two", "p2"));
  CHECK(all_members(h.engine(), "s", 10) == std::vector<std::string>{"p3"});
}

TEST_CASE("change ids are distinct UUIDv7 texts carrying the decision time",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", count_of("a", 1));
  h.put("t", count_of("a", 1));
  h.sink->take();
  for (int i = 0; i < 50; ++i) h.event("p" + std::to_string(i), "a");
  const auto changes = h.sink->take();
  REQUIRE(changes.size() == 100);
  std::set<std::string> ids;
  for (const auto& c : changes) {
    ids.insert(c.change_id);
    auto uuid = Uuid::parse(c.change_id);
    REQUIRE(uuid);
    CHECK(uuid->version() == 7);
    CHECK(uuid->v7_unix_ms() == kT0);
  }
  CHECK(ids.size() == changes.size());
  ChangeIdGenerator a(1);
  ChangeIdGenerator b(2);
  CHECK(a.next(kT0) != a.next(kT0));
  CHECK(a.next(kT0) != b.next(kT0));
}

TEST_CASE("a segment defined by membership of another follows it when a window expires",
          "[collector][segments]") {
  EngineHarness h;
  h.put("base", count_of("a", 2, "30m"));
  h.put("dependent", {{"condition", {{"segment", "base"}}}});
  h.put("negated", {{"condition", {{"not", {{"segment", "base"}}}}}});
  h.event("p1", "a");
  h.event("p1", "a");
  CHECK(h.engine().is_member("base", "p1"));
  CHECK(h.engine().is_member("dependent", "p1"));
  CHECK_FALSE(h.engine().is_member("negated", "p1"));
  // No event: only the window moves.
  h.set_time(kT0 + 31 * kMin);
  CHECK(h.engine().tick(h.now()) >= 1);
  CHECK_FALSE(h.engine().is_member("base", "p1"));
  CHECK_FALSE(h.engine().is_member("dependent", "p1"));
  CHECK(h.engine().is_member("negated", "p1"));
  const auto changes = h.sink->take();
  REQUIRE_FALSE(changes.empty());
  CHECK(changes.back().reason == "window_expired");
}

TEST_CASE("tick runs the on_tick hook after the expiries, outside the engine's lock",
          "[collector][segments]") {
  aisle::test::TempDir dir("aisle-segments");
  auto clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  SegmentOptions options;
  options.path = dir.file("segments.db");
  SegmentEngineDeps deps;
  deps.clock = clock;
  deps.metrics = &metrics;
  int calls = 0;
  SegmentEngine* engine_seen = nullptr;
  std::size_t profiles_seen = 99;
  deps.on_tick = [&] {
    ++calls;
    // Calling back into the engine would deadlock if the hook ran under its lock.
    if (engine_seen) profiles_seen = engine_seen->profile_count();
  };
  auto engine = SegmentEngine::open(options, deps);
  REQUIRE(engine.ok());
  engine_seen = (*engine).get();
  (*engine)->tick(kT0);
  (*engine)->tick(kT0 + kSec);
  CHECK(calls == 2);
  CHECK(profiles_seen == 0);
}

TEST_CASE("the profile table finds every id it holds through growth and removals",
          "[collector][segments]") {
  // Random adds and removals against std::map: the open-addressing index must keep every id
  // reachable when removals shift probe chains back, and never hand out a held handle.
  std::mt19937_64 rng(7);
  ProfileTable table;
  std::map<std::string, std::uint32_t> expected;
  std::set<std::uint32_t> held;
  for (int step = 0; step < 60'000; ++step) {
    const std::string id = "profile-" + std::to_string(rng() % 5'000);
    const int action = static_cast<int>(rng() % 10);
    if (action < 6) {
      const std::uint32_t h = table.find_or_add(id);
      auto [it, inserted] = expected.emplace(id, h);
      if (inserted) {
        CHECK(held.count(h) == 0);
      } else {
        REQUIRE(it->second == h);
      }
      CHECK(table.at(h).id == id);
    } else if (action < 9) {
      auto it = expected.find(id);
      const std::uint32_t h = table.find(id);
      if (it == expected.end()) {
        REQUIRE(h == kNoHandle);
        continue;
      }
      REQUIRE(h == it->second);
      const bool pin = rng() % 2 == 0;
      table.at(h).pinned = pin;
      table.erase(h);
      if (pin) {
        held.insert(h);
        CHECK(table.at(h).id == id);  // still resolvable for pending writes
      }
      expected.erase(it);
    } else {
      table.release_held();
      held.clear();
    }
    REQUIRE(table.size() == expected.size());
  }
  for (const auto& [id, h] : expected) REQUIRE(table.find(id) == h);
  CHECK(table.find("profile-none") == kNoHandle);
}

}  // namespace
}  // namespace aisle::collector::segments
