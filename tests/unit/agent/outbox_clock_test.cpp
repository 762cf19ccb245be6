// Wall-clock steps and the outbox: order is by seq whatever the clock does, and age expiry does
// not count a forward step as age (a gateway that booted with a wrong clock and synced later
// must not expire its minutes-old backlog).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/outbox/wall_clock_steps.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

struct Env {
  test::TempDir dir{"aisle-outbox-clock"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  metrics::Registry registry;
  std::unique_ptr<SqliteOutbox> outbox;
  int next_id = 0;
  std::vector<std::string> payloads;  // in append order

  explicit Env(std::int64_t max_age_ms) {
    SqliteOutboxOptions o;
    o.path = dir.file("outbox.db");
    o.durability = OutboxDurability::kNormal;
    o.max_age_ms = max_age_ms;
    auto opened = SqliteOutbox::open(o, clock, registry);
    REQUIRE(opened.ok());
    outbox = std::move(*opened);
  }
  // Stamps received_at from the clock, as the ingest service does.
  void append(int n, Priority priority = Priority::kNormal) {
    std::vector<OutboxRecord> records;
    for (int i = 0; i < n; ++i) {
      OutboxRecord r;
      r.event_id = "e" + std::to_string(next_id++);
      r.priority = priority;
      r.received_at = clock->now_unix_ms();
      r.payload = "{\"id\":\"" + r.event_id + "\",\"t\":" + std::to_string(r.received_at) + "}";
      payloads.push_back(r.payload);
      records.push_back(std::move(r));
    }
    REQUIRE(outbox->append(std::move(records)).ok());
  }
  double expired() const {
    return registry.value("aisle_agent_outbox_evicted_total",
                          {{"priority", "normal"}, {"reason", "age"}});
  }
};

}  // namespace

TEST_CASE("a forward step of the wall clock is not counted as age by expiry",
          "[agent][outbox][clock]") {
  Env env(kDayMs);
  env.append(10);
  env.clock->advance(minutes(5));
  // The gateway's clock was years behind; NTP sets it.
  env.clock->set_unix_ms(env.clock->now_unix_ms() + 3 * 365 * kDayMs);
  env.append(10);
  REQUIRE(env.outbox->maintain().ok());
  CHECK(env.outbox->stats().total_rows == 20);
  CHECK(env.expired() == 0);

  // Real time passes: a day and a bit later both generations are old and expire.
  env.clock->advance(hours(25));
  REQUIRE(env.outbox->maintain().ok());
  CHECK(env.outbox->stats().total_rows == 0);
  CHECK(env.expired() == 20);
}

TEST_CASE("records stored before a forward step expire by their real age and later ones by theirs",
          "[agent][outbox][clock]") {
  Env env(kDayMs);
  env.append(5);                        // stored at t0
  env.clock->advance(hours(20));        // 20 h of real time
  env.clock->set_unix_ms(env.clock->now_unix_ms() + 2 * kHourMs);  // a 2 h step forward
  env.append(5);                        // stored at t0 + 22 h on the new clock
  env.clock->advance(hours(5));         // 25 h real time since the first five
  REQUIRE(env.outbox->maintain().ok());
  CHECK(env.expired() == 5);            // the first five: 25 h > 24 h
  CHECK(env.outbox->stats().total_rows == 5);
}

TEST_CASE("a backward step keeps seq order and expires nothing early", "[agent][outbox][clock]") {
  Env env(kHourMs);
  env.append(3);
  env.clock->set_unix_ms(env.clock->now_unix_ms() - kHourMs);  // an hour back
  env.append(3);
  env.clock->advance(minutes(30));
  REQUIRE(env.outbox->maintain().ok());
  CHECK(env.expired() == 0);
  auto batch = env.outbox->form_batch(BatchLimits{100, 1 << 20});
  REQUIRE(batch.ok());
  REQUIRE(batch->has_value());
  const auto& records = (*batch)->records;
  REQUIRE(records.size() == 6);
  // Append order, although the second three carry stamps an hour older than the first three.
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].json == env.payloads[i]);
    if (i > 0) CHECK(records[i].seq == records[i - 1].seq + 1);
  }
}

TEST_CASE("wall clock steps are told from drift by the monotonic clock", "[agent][clock]") {
  WallClockSteps steps;
  const auto t0 = std::chrono::steady_clock::time_point(hours(1));
  CHECK(steps.observe(1'000'000, t0, 1) == 0);
  CHECK(steps.observe(1'001'500, t0 + milliseconds(1000), 5) == 0);  // 0.5 s drift: tolerated
  CHECK(steps.observe(1'001'500 + kHourMs + 1000, t0 + milliseconds(2000), 9) == kHourMs);
  CHECK(steps.observe(1'001'500 + 2000, t0 + milliseconds(3000), 12) == -kHourMs);
  CHECK(steps.forward_after(8) == kHourMs);   // stored before the step
  CHECK(steps.forward_after(9) == 0);         // stored after it
  CHECK(steps.observe(1'001'500 + 3000 + kDayMs, t0 + milliseconds(4000), 20) == kDayMs);
  CHECK(steps.forward_after(3) == kHourMs + kDayMs);
  CHECK(steps.forward_after(15) == kDayMs);
}

}  // namespace aisle::agent
