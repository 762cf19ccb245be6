// Fault: the agent's wall clock is stepped (NTP correcting a drifted clock, an operator's
// `date -s`, a gateway without a battery-backed clock that booted with a wrong date and synced
// later) while events flow. The agent core — its SQLite outbox and its forwarder — runs in process
// on a ManualClock, so the steps are exact; a FakeUplink plays broker and collector (acks every
// batch it receives). Nothing may be reordered, dropped, expired or sent twice.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/forwarder/forwarder.hpp"
#include "agent/outbox/sqlite_outbox.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "tests/support/fake_uplink.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

// What the "collector" received of one batch (owning copies: DecodedBatch's records are views).
struct ReceivedBatch {
  wire::BatchHeader header;
  std::vector<std::pair<std::uint64_t, std::string>> records;  // (seq, json)
};

struct Agent {
  test::TempDir dir{"aisle-clock-jump"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'795'000'000'000);
  metrics::Registry registry;
  std::unique_ptr<SqliteOutbox> outbox;
  test::FakeUplink uplink;
  std::unique_ptr<Forwarder> forwarder;
  std::vector<std::string> appended;             // payloads, in append order
  std::set<std::uint64_t> acked;                  // batch_seq acknowledged by the "collector"
  std::map<std::uint64_t, ReceivedBatch> received;  // by batch_seq, first copy
  std::uint64_t copies = 0;                       // batches received, resends included

  Agent() {
    SqliteOutboxOptions o;
    o.path = dir.file("outbox.db");
    o.durability = OutboxDurability::kNormal;
    o.max_age_ms = 7 * kDayMs;
    auto opened = SqliteOutbox::open(o, clock, registry);
    REQUIRE(opened.ok());
    outbox = std::move(*opened);
    ForwarderOptions f;
    f.batch_max_events = 40;
    f.linger = milliseconds(50);
    f.window = 4;
    f.ack_timeout = milliseconds(5000);
    f.backoff_base = milliseconds(100);
    f.backoff_max = milliseconds(1000);
    forwarder = std::make_unique<Forwarder>(*outbox, uplink, f,
                                            wire::AgentAddress{"acme", "store-1", "agent-1"},
                                            clock, registry);
  }

  // Stamps received_at from the wall clock, as the ingest service does; a mix of priorities.
  void append(int n) {
    std::vector<OutboxRecord> records;
    for (int i = 0; i < n; ++i) {
      OutboxRecord r;
      r.event_id = "event-" + std::to_string(appended.size());
      r.priority = appended.size() % 3 == 0 ? Priority::kBulk : Priority::kNormal;
      r.received_at = clock->now_unix_ms();
      r.payload = "{\"n\":" + std::to_string(appended.size()) + "}";
      appended.push_back(r.payload);
      records.push_back(std::move(r));
    }
    auto result = outbox->append(std::move(records));
    REQUIRE(result.ok());
    REQUIRE(result->inserted == static_cast<std::uint32_t>(n));
  }

  // One forwarder iteration; the "collector" commits and acknowledges what arrived.
  void step() {
    forwarder->step();
    const auto batches = uplink.decoded();
    for (std::size_t i = copies; i < batches.size(); ++i) {
      const auto& batch = batches[i];
      ReceivedBatch copy{batch.header, {}};
      for (const auto& record : batch.records) {
        copy.records.emplace_back(record.seq, std::string(record.json));
      }
      received.emplace(batch.header.batch_seq, std::move(copy));
      if (acked.insert(batch.header.batch_seq).second) uplink.ack(batch.header);
    }
    copies = batches.size();
  }

  // Lets ~`ms` of time pass (both clocks) in 10 ms steps of the forwarder.
  void run_for(int ms) {
    for (int t = 0; t < ms; t += 10) {
      clock->advance(milliseconds(10));
      step();
    }
  }

  void drain() {
    for (int i = 0; i < 2000 && outbox->stats().total_rows > 0; ++i) run_for(10);
    REQUIRE(outbox->stats().total_rows == 0);
  }

  void step_wall_clock(std::int64_t by_ms) { clock->set_unix_ms(clock->now_unix_ms() + by_ms); }
};

}  // namespace

TEST_CASE("wall clock steps forward and back on the agent neither reorder nor drop events",
          "[fault][agent][clock]") {
  Agent agent;
  REQUIRE(agent.uplink.connect().ok());

  // Events flow while the wall clock is stepped an hour forward, an hour back, and back again
  // past where it started; maintenance runs between the steps.
  for (const std::int64_t step : {std::int64_t{0}, kHourMs, -kHourMs, -kHourMs, 2 * kHourMs}) {
    agent.step_wall_clock(step);
    for (int burst = 0; burst < 10; ++burst) {
      agent.append(17);
      agent.run_for(30);
    }
    REQUIRE(agent.outbox->maintain().ok());
  }

  // The broker is away while a backlog builds; meanwhile the clock, years behind (a gateway that
  // booted without a real-time clock), is set right. Maintenance runs before the link is back.
  agent.uplink.reachable = false;
  agent.uplink.drop();
  for (int burst = 0; burst < 10; ++burst) {
    agent.append(23);
    agent.run_for(30);
  }
  agent.step_wall_clock(3 * 365 * kDayMs);
  REQUIRE(agent.outbox->maintain().ok());
  agent.uplink.reachable = true;
  agent.run_for(3000);  // reconnect after backoff
  for (int burst = 0; burst < 5; ++burst) {
    agent.append(11);
    agent.run_for(30);
  }
  agent.drain();

  // Everything arrived once, in append order, batches gap-free and nothing dropped or expired.
  std::vector<std::string> delivered;
  std::uint64_t expected_batch = 1;
  std::uint64_t expected_seq = 1;
  for (const auto& [batch_seq, batch] : agent.received) {
    INFO("batch " << batch_seq);
    CHECK(batch_seq == expected_batch++);
    CHECK(batch.header.dropped == 0);
    CHECK(batch.header.first_seq == expected_seq);
    for (const auto& [seq, json] : batch.records) {
      CHECK(seq == expected_seq++);
      delivered.push_back(json);
    }
  }
  CHECK(delivered.size() == agent.appended.size());
  CHECK(delivered == agent.appended);
  CHECK(agent.registry.value("aisle_agent_outbox_evicted_total",
                             {{"priority", "normal"}, {"reason", "age"}}) == 0);
  CHECK(agent.registry.value("aisle_agent_outbox_evicted_total",
                             {{"priority", "bulk"}, {"reason", "age"}}) == 0);
}

}  // namespace aisle::agent
