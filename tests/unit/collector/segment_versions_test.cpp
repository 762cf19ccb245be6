// Versions, backfill, rollback, retirement, persistence across reopen, definitions directory.
#include <catch2/catch.hpp>

#include "tests/unit/collector/segment_test_util.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;
using namespace test_util;

json at_least(int n) {
  return {{"condition",
           {{"count", {{"event", "a"}, {"window", "1h"}, {"op", ">="}, {"value", n}}}}}};
}

TEST_CASE("a new version serves after its backfill, and differences are emitted as backfill",
          "[collector][segments]") {
  EngineHarness h;
  REQUIRE(h.put("s", at_least(1)) == 1);
  h.event("p1", "a");
  h.event("p2", "a");
  h.event("p2", "a");
  CHECK(h.engine().is_member("s", "p1"));
  h.sink->take();

  auto v2 = h.engine().put("s", at_least(2));
  REQUIRE(v2.ok());
  CHECK(*v2 == 2);
  auto info = h.engine().get("s");
  REQUIRE(info.ok());
  CHECK(info->active_version == 1);
  CHECK(info->latest_version == 2);
  CHECK(info->backfill.state == "queued");
  h.event("p3", "a");  // served by version 1 meanwhile
  CHECK(h.engine().is_member("s", "p3"));
  h.sink->take();

  h.engine().run_backfills();
  info = h.engine().get("s");
  REQUIRE(info.ok());
  CHECK(info->active_version == 2);
  CHECK(info->backfill.state == "done");
  CHECK(info->backfill.events_replayed == 4);
  CHECK(info->versions.size() == 2);
  CHECK_FALSE(h.engine().is_member("s", "p1"));
  CHECK(h.engine().is_member("s", "p2"));
  CHECK_FALSE(h.engine().is_member("s", "p3"));
  auto changes = h.sink->take();
  REQUIRE(changes.size() == 2);
  for (const auto& c : changes) {
    CHECK(c.kind == SegmentChangeKind::kExited);
    CHECK(c.reason == "backfill");
    CHECK(c.version == 2);
  }

  REQUIRE(h.engine().rollback("s", 1).ok());
  h.engine().run_backfills();
  CHECK(h.engine().get("s")->active_version == 1);
  CHECK(h.engine().is_member("s", "p1"));
  CHECK(h.engine().is_member("s", "p3"));
  changes = h.sink->take();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].reason == "backfill");
  CHECK(changes[0].kind == SegmentChangeKind::kEntered);
  CHECK(changes[0].version == 1);
  auto missing = h.engine().rollback("s", 7);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
}

TEST_CASE("a backfill computes features no serving version kept, from stored events",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", at_least(1));
  h.event("p1", "b");  // no segment depends on b yet: ignored live, but stored
  h.event("p1", "b");
  CHECK(h.engine().profile_count() == 0);
  h.put("t", json::parse(R"({"condition":{"count":{"event":"b","window":"1h","op":">=","value":2}}})"));
  CHECK(h.engine().is_member("t", "p1"));
  h.event("p1", "b");  // the live feature continues from the replayed state
  CHECK(h.engine().is_member("t", "p1"));
  REQUIRE(h.engine().put("t", json::parse(R"({"condition":{"count":{"event":"b","window":"1h","op":"==","value":3}}})")).ok());
  h.engine().run_backfills();
  CHECK(h.engine().is_member("t", "p1"));
}

TEST_CASE("events arriving during a backfill are applied once", "[collector][segments]") {
  EngineHarness h;
  h.event("p1", "a");
  h.event("p1", "a");
  REQUIRE(h.engine().put("s", json::parse(R"({"condition":{"count":{"event":"a","window":"1h","op":"==","value":3}}})")).ok());
  // Half-way through the replay a third event is committed and reaches on_events; the replay
  // then reads it from the store as well.
  h.during_replay = [&] { h.event("p1", "a"); };
  h.engine().run_backfills();
  CHECK(h.history.size() == 3);
  CHECK(h.engine().is_member("s", "p1"));
}

TEST_CASE("a failed backfill leaves the previous version serving", "[collector][segments]") {
  EngineHarness h;
  h.put("s", at_least(1));
  h.event("p1", "a");
  h.replay_error = true;
  REQUIRE(h.engine().put("s", at_least(5)).ok());
  h.engine().run_backfills();
  auto info = h.engine().get("s");
  REQUIRE(info.ok());
  CHECK(info->active_version == 1);
  CHECK(info->backfill.state == "failed");
  CHECK_THAT(info->backfill.error, Catch::Contains("event store unavailable"));
  CHECK(h.engine().is_member("s", "p1"));
}

TEST_CASE("membership, versions and the active version survive a reopen",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", at_least(1));
  h.put("s", at_least(2));
  h.event("p1", "a");
  h.event("p1", "a");
  h.event("p2", "a");
  h.event("p2", "a");
  REQUIRE(h.engine().flush().ok());
  h.sink->take();
  h.reopen();
  // Persisted membership serves while the start-up replay runs.
  CHECK(h.engine().is_member("s", "p1"));
  auto info = h.engine().get("s");
  REQUIRE(info.ok());
  CHECK(info->active_version == 2);
  CHECK(info->versions.size() == 2);
  CHECK(info->backfill.reason == "start");
  h.engine().run_backfills();
  CHECK(h.engine().is_member("s", "p1"));
  CHECK(h.engine().is_member("s", "p2"));
  CHECK(h.sink->take().empty());
  // The windows were rebuilt: a live event continues them.
  h.event("p3", "a");
  CHECK_FALSE(h.engine().is_member("s", "p3"));
  h.event("p3", "a");
  CHECK(h.engine().is_member("s", "p3"));

  // Down for two hours: the start-up replay finds the windows expired.
  REQUIRE(h.engine().flush().ok());
  h.sink->take();
  h.set_time(kT0 + 2 * kHour);
  h.reopen();
  CHECK(h.engine().is_member("s", "p3"));
  h.engine().run_backfills();
  CHECK_FALSE(h.engine().is_member("s", "p1"));
  CHECK_FALSE(h.engine().is_member("s", "p3"));
  auto changes = h.sink->take();
  for (const auto& c : changes) {
    INFO(c.profile_id << " " << segment_change_kind_name(c.kind) << " " << c.reason);
    CHECK(c.kind == SegmentChangeKind::kExited);
  }
  CHECK(changes.size() == 3);
  REQUIRE(h.engine().flush().ok());
  h.reopen();
  CHECK_FALSE(h.engine().is_member("s", "p1"));
}

TEST_CASE("a retired segment's members exit, and a later PUT revives it", "[collector][segments]") {
  EngineHarness h;
  h.put("s", at_least(1));
  h.event("p1", "a");
  h.sink->take();
  REQUIRE(h.engine().retire("s").ok());
  auto changes = h.sink->take();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].reason == "retired");
  CHECK(changes[0].kind == SegmentChangeKind::kExited);
  CHECK(h.engine().get("s")->retired);
  h.event("p1", "a");
  CHECK_FALSE(h.engine().is_member("s", "p1"));
  CHECK(h.engine().retire("s").error().code == ErrorCode::kNotFound);
  REQUIRE(h.engine().flush().ok());
  h.reopen();
  CHECK(h.engine().get("s")->retired);
  h.engine().run_backfills();
  CHECK(h.put("s", at_least(1)) == 2);
  CHECK_FALSE(h.engine().get("s")->retired);
  CHECK(h.engine().is_member("s", "p1"));
}

TEST_CASE("members page by profile id, and segments_of lists memberships with entered_at",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", at_least(1));
  h.put("t", at_least(2));
  for (int i = 0; i < 5; ++i) h.event("p" + std::to_string(i), "a");
  h.set_time(kT0 + kMin);
  h.event("p3", "a");
  auto page = h.engine().members("s", "", 2);
  REQUIRE(page.ok());
  REQUIRE(page->members.size() == 2);
  CHECK(page->members[0].first == "p0");
  CHECK(page->next_cursor == "p1");
  page = h.engine().members("s", page->next_cursor, 10);
  REQUIRE(page->members.size() == 3);
  CHECK(page->members[2].first == "p4");
  CHECK(page->next_cursor.empty());
  auto of = h.engine().segments_of("p3");
  REQUIRE(of.size() == 2);
  CHECK(of[0].segment_id == "s");
  CHECK(of[0].entered_at == kT0);
  CHECK(of[1].segment_id == "t");
  CHECK(of[1].entered_at == kT0 + kMin);
  CHECK(h.engine().members("nope", "", 1).error().code == ErrorCode::kNotFound);
}

TEST_CASE("definitions load from a directory at start, and unchanged files make no new version",
          "[collector][segments]") {
  aisle::test::TempDir defs("aisle-segment-defs");
  aisle::test::write_file(defs.path() / "a_repeat.json",
                          R"({"condition":{"all":[{"segment":"z_base"},
                              {"count":{"event":"a","window":"1h","op":">=","value":2}}]}})");
  aisle::test::write_file(defs.path() / "z_base.json", at_least(1).dump());
  aisle::test::write_file(defs.path() / "README.txt", "not a definition");
  SegmentOptions o;
  o.definitions_dir = defs.path().string();
  EngineHarness h(o);
  h.engine().run_backfills();
  REQUIRE(h.engine().list().size() == 2);
  h.event("p1", "a");
  h.event("p1", "a");
  CHECK(h.engine().is_member("a_repeat", "p1"));
  h.reopen();
  h.engine().run_backfills();
  CHECK(h.engine().get("z_base")->latest_version == 1);
  aisle::test::write_file(defs.path() / "z_base.json", at_least(3).dump());
  h.reopen();
  h.engine().run_backfills();
  CHECK(h.engine().get("z_base")->latest_version == 2);
  CHECK_FALSE(h.engine().is_member("a_repeat", "p1"));

  aisle::test::write_file(defs.path() / "broken.json",
                          R"({"condition":{"count":{"event":"a","window":"100d","op":">","value":1}}})");
  CHECK_THROWS_WITH(h.reopen(), Catch::Contains("broken.json") &&
                                    Catch::Contains("/condition/count/window"));
}

}  // namespace
}  // namespace aisle::collector::segments
