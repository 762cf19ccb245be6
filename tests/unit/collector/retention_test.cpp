#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "collector/collector_config.hpp"
#include "collector/store/retention_job.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

constexpr std::int64_t kDay = 24LL * 3600 * 1000;

std::string event_id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "018bcfe5-6800-7000-8000-%012d", n);
  return buf;
}

StoredEvent make_event(int n, UnixMillis ingested_at, UnixMillis occurred_at = 0) {
  StoredEvent e;
  e.event_id = event_id(n);
  e.type = "product_view";
  e.schema = "aisle/product_view/jsonschema/1-0-0";
  e.store_id = "store-1";
  e.agent_id = "agent-1";
  e.channel = "kiosk";
  e.occurred_at = occurred_at ? occurred_at : ingested_at - 1000;
  e.received_at = ingested_at - 500;
  e.ingested_at = ingested_at;
  e.payload = R"({"event_id":")" + e.event_id + R"("})";
  return e;
}

struct Env {
  test::TempDir dir{"aisle-retention"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(100 * kDay);
  metrics::Registry registry;
  std::unique_ptr<SqliteEventStore> store;

  Env() {
    SqliteEventStoreOptions o;
    o.path = dir.file("events.db");
    o.synchronous_full = false;
    auto opened = SqliteEventStore::open(o, clock, registry);
    REQUIRE(opened.ok());
    store = std::move(*opened);
  }

  void commit(std::vector<StoredEvent> events) {
    CommitRequest request;
    request.events = std::move(events);
    auto result = store->commit(request);
    REQUIRE(result.ok());
  }

  bool stored(int n) {
    auto event = store->get_event(event_id(n));
    REQUIRE(event.ok());
    return event->has_value();
  }

  RetentionOptions options(std::int64_t max_age_ms, std::size_t batch_rows = 5000) {
    RetentionOptions o;
    o.max_age_ms = max_age_ms;
    o.batch_rows = batch_rows;
    o.pause = milliseconds(0);
    return o;
  }
};

TEST_CASE("retention deletes events ingested longer ago than the configured age",
          "[collector][retention]") {
  Env env;
  const UnixMillis now = env.clock->now_unix_ms();
  // 50 events of 40 days ago, 10 of 29 days ago; retention 30 days.
  std::vector<StoredEvent> events;
  for (int i = 0; i < 50; ++i) events.push_back(make_event(i, now - 40 * kDay + i));
  for (int i = 50; i < 60; ++i) events.push_back(make_event(i, now - 29 * kDay + i));
  // Ingested 31 days ago but stamped in the future by a device clock; ingested today but
  // describing something of years ago (a backfill): the ingest time decides.
  events.push_back(make_event(60, now - 31 * kDay, now + 365 * kDay));
  events.push_back(make_event(61, now - 1000, now - 3 * 365 * kDay));
  env.commit(std::move(events));
  REQUIRE(*env.store->count_events() == 62);

  RetentionJob job(*env.store, env.options(30 * kDay, 7), env.clock, env.registry);
  auto deleted = job.run_once();
  REQUIRE(deleted.ok());
  CHECK(*deleted == 51);
  CHECK(*env.store->count_events() == 11);
  CHECK(env.registry.value("aisle_collector_store_events_rows") == 11);
  for (int i = 0; i < 50; ++i) CHECK_FALSE(env.stored(i));
  for (int i = 50; i < 60; ++i) CHECK(env.stored(i));
  CHECK_FALSE(env.stored(60));
  CHECK(env.stored(61));

  // Batches of at most 7: 51 rows are 8 transactions (7 full, one of 2 that ends the run).
  CHECK(env.registry.value("aisle_collector_retention_batches_total") == 8);
  CHECK(env.registry.value("aisle_collector_retention_deleted_total") == 51);
  CHECK(env.registry.value("aisle_collector_retention_last_run_deleted") == 51);
  CHECK(env.registry.value("aisle_collector_retention_last_run_timestamp_seconds") ==
        static_cast<double>(now) / 1000.0);

  // A second run finds nothing; time passing ages the rest out.
  CHECK(*job.run_once() == 0);
  env.clock->advance(hours(24 * 2));
  CHECK(*job.run_once() == 10);
  CHECK(*env.store->count_events() == 1);
  CHECK(env.registry.value("aisle_collector_retention_deleted_total") == 61);
}

TEST_CASE("retention deletes quarantined input older than its own age", "[collector][retention]") {
  Env env;
  const UnixMillis now = env.clock->now_unix_ms();
  CommitRequest request;
  for (int i = 0; i < 12; ++i) {
    QuarantineEntry q;
    q.reason = "schema";
    q.errors = "[]";
    q.raw = R"({"identities":{"user_id":"u-1"}})";
    q.store_id = "store-1";
    q.origin = "mqtt";
    q.received_at = now;
    // 10 of 40 days ago (one of them replayed), 2 of yesterday.
    q.quarantined_at = i < 10 ? now - 40 * kDay + i : now - kDay;
    q.replayed_at = i == 3 ? now - 39 * kDay : 0;
    request.quarantine.push_back(q);
  }
  request.events.push_back(make_event(1, now - 40 * kDay));
  REQUIRE(env.store->commit(request).ok());

  RetentionOptions o = env.options(0, 4);
  o.quarantine_max_age_ms = 30 * kDay;
  RetentionJob job(*env.store, o, env.clock, env.registry);
  auto deleted = job.run_once();
  REQUIRE(deleted.ok());
  CHECK(*deleted == 10);
  CHECK(*env.store->count_quarantine("") == 2);
  CHECK(env.stored(1));  // events have their own age (0 here: kept)
  CHECK(env.registry.value("aisle_collector_retention_quarantine_deleted_total") == 10);
  CHECK(env.registry.value("aisle_collector_retention_deleted_total") == 0);
  CHECK(env.registry.value("aisle_collector_retention_batches_total") == 3);  // 4 + 4 + 2
  QuarantineQuery all;
  all.include_replayed = true;
  auto left = env.store->list_quarantine(all);
  REQUIRE(left.ok());
  REQUIRE(left->size() == 2);
  CHECK((*left)[0].id == 11);  // ids are never reused
}

TEST_CASE("retention with no age configured keeps every event", "[collector][retention]") {
  Env env;
  env.commit({make_event(1, 1000)});
  RetentionJob job(*env.store, env.options(0), env.clock, env.registry);
  job.start();  // no thread: nothing to do
  CHECK(*job.run_once() == 0);
  job.stop();
  CHECK(env.stored(1));
}

TEST_CASE("the retention job runs at start and stops promptly", "[collector][retention]") {
  Env env;
  const UnixMillis now = env.clock->now_unix_ms();
  env.commit({make_event(1, now - 10 * kDay), make_event(2, now)});
  RetentionOptions o = env.options(kDay);
  o.interval = hours(1);
  RetentionJob job(*env.store, o, env.clock, env.registry);
  job.start();
  for (int i = 0; i < 500 && env.registry.value("aisle_collector_retention_deleted_total") < 1;
       ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(env.registry.value("aisle_collector_retention_deleted_total") == 1);
  const auto stop_started = std::chrono::steady_clock::now();
  job.stop();  // the job is waiting out its hour
  CHECK(std::chrono::steady_clock::now() - stop_started < std::chrono::seconds(1));
  CHECK_FALSE(env.stored(1));
  CHECK(env.stored(2));
}

TEST_CASE("ingest commits go on while retention deletes in batches", "[collector][retention]") {
  Env env;
  const UnixMillis now = env.clock->now_unix_ms();
  constexpr int kOld = 20'000;
  std::vector<StoredEvent> old;
  for (int i = 0; i < kOld; ++i) old.push_back(make_event(i, now - 10 * kDay + i));
  env.commit(std::move(old));

  std::atomic<bool> done{false};
  std::atomic<int> commits{0};
  std::thread ingest([&] {
    for (int i = 0; !done; ++i) {
      CommitRequest request;
      request.events.push_back(make_event(kOld + i, now));
      if (env.store->commit(request).ok()) ++commits;
    }
  });
  RetentionOptions o = env.options(kDay, 500);
  o.pause = milliseconds(2);
  RetentionJob job(*env.store, o, env.clock, env.registry);
  auto deleted = job.run_once();
  done = true;
  ingest.join();
  REQUIRE(deleted.ok());
  CHECK(*deleted == kOld);
  CHECK(commits > 0);  // commits were not held off for the whole run
  CHECK(*env.store->count_events() == static_cast<std::uint64_t>(commits.load()));
}

TEST_CASE("delete_events removes the given events for an erasure", "[collector][retention]") {
  Env env;
  const UnixMillis now = env.clock->now_unix_ms();
  env.commit({make_event(1, now), make_event(2, now), make_event(3, now)});
  auto deleted =
      env.store->delete_events({event_id(1), event_id(3), event_id(3), event_id(99), "not-a-uuid",
                                // Either case names the same event.
                                "018BCFE5-6800-7000-8000-000000000002"});
  REQUIRE(deleted.ok());
  CHECK(*deleted == 3);
  CHECK(*env.store->count_events() == 0);
  CHECK(env.registry.value("aisle_collector_store_events_rows") == 0);
  CHECK_FALSE(env.stored(1));
  auto none = env.store->delete_events({});
  REQUIRE(none.ok());
  CHECK(*none == 0);
  // The counter stays exact across a reopen (it is kept in the database).
  env.commit({make_event(4, now)});
  env.store.reset();
  SqliteEventStoreOptions o;
  o.path = env.dir.file("events.db");
  auto reopened = SqliteEventStore::open(o, env.clock, env.registry);
  REQUIRE(reopened.ok());
  CHECK(*(*reopened)->count_events() == 1);
}

TEST_CASE("retention is configured under store", "[collector][retention]") {
  const std::string base = R"({"tenant": "acme",
    "mqtt": {"uri": "ssl://localhost:8883", "ca_file": "ca.crt", "cert_file": "c.crt",
             "key_file": "c.key"},
    "store": {"path": "/tmp/events.db")";
  auto defaults = parse_collector_config(base + "}}", "test");
  REQUIRE(defaults.ok());
  CHECK(defaults->retention.max_age_ms == 0);  // kept forever unless configured
  CHECK(defaults->retention.batch_rows == 2000);
  auto configured =
      parse_collector_config(base + R"(, "events_retention": "90d", "retention_interval": "15m",
                  "retention_batch_rows": 500, "retention_pause": "5ms"}})",
                             "test");
  INFO((configured.ok() ? std::string() : configured.error().message));
  REQUIRE(configured.ok());
  CHECK(configured->retention.max_age_ms == 90 * kDay);
  CHECK(configured->retention.quarantine_max_age_ms == 0);
  CHECK(configured->retention.interval == std::chrono::minutes(15));
  CHECK(configured->retention.batch_rows == 500);
  CHECK(configured->retention.pause == milliseconds(5));
  auto quarantine = parse_collector_config(base + R"(, "quarantine_retention": "30d"}})", "test");
  REQUIRE(quarantine.ok());
  CHECK(quarantine->retention.quarantine_max_age_ms == 30 * kDay);
  CHECK(quarantine->retention.max_age_ms == 0);
  auto zero_batch = parse_collector_config(base + R"(, "retention_batch_rows": 0}})", "test");
  REQUIRE_FALSE(zero_batch.ok());
  CHECK(zero_batch.error().message.find("retention_batch_rows") != std::string::npos);
}

}  // namespace
}  // namespace aisle::collector
