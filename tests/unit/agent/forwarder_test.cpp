#include "agent/forwarder/forwarder.hpp"

#include <catch2/catch.hpp>

#include "agent/outbox/sqlite_outbox.hpp"
#include "tests/support/fake_uplink.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

using std::chrono::milliseconds;

struct Fixture {
  test::TempDir dir{"aisle-forwarder"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'800'000'000'000);
  metrics::Registry registry;
  std::unique_ptr<SqliteOutbox> outbox;
  test::FakeUplink uplink;
  ForwarderOptions options;
  const wire::AgentAddress address{"acme", "store-1", "agent-1"};

  Fixture() {
    options.batch_max_events = 3;
    options.linger = milliseconds(20);
    options.window = 2;
    options.ack_timeout = milliseconds(5000);
    options.backoff_base = milliseconds(100);
    options.backoff_max = milliseconds(1000);
    reopen();
  }
  void reopen() {
    outbox.reset();
    SqliteOutboxOptions o;
    o.path = dir.file("outbox.db");
    o.durability = OutboxDurability::kNormal;
    auto opened = SqliteOutbox::open(o, clock, registry);
    REQUIRE(opened);
    outbox = std::move(*opened);
  }
  void append(int n, int first = 0) {
    std::vector<OutboxRecord> records;
    for (int i = first; i < first + n; ++i) {
      OutboxRecord r;
      r.event_id = "e" + std::to_string(i);
      r.received_at = clock->now_unix_ms();
      r.payload = "{\"n\":" + std::to_string(i) + "}";
      records.push_back(r);
    }
    auto result = outbox->append(std::move(records));
    REQUIRE(result);
  }
  double counter(const std::string& name) { return registry.value(name); }
};

}  // namespace

TEST_CASE("the forwarder waits for a fuller batch only up to the linger time",
          "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(2);
  forwarder.step();
  CHECK(f.uplink.published.empty());  // 2 < batch_max_events, younger than linger
  f.clock->advance(milliseconds(25));
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 1);
  const auto batches = f.uplink.decoded();
  CHECK(batches[0].header.batch_seq == 1);
  CHECK(batches[0].header.count == 2);
  CHECK(batches[0].header.store_id == "store-1");
  CHECK(batches[0].header.stream_id == f.outbox->stream_id());
  CHECK(batches[0].records[0].json == "{\"n\":0}");
}

TEST_CASE("a batch is deleted from the outbox only when the collector acknowledges it",
          "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(3);
  forwarder.step();  // full batch: no linger
  REQUIRE(f.uplink.published.size() == 1);
  CHECK(f.outbox->stats().total_rows == 3);  // a publish is not a commit
  f.uplink.ack(f.uplink.decoded()[0].header);
  forwarder.step();
  CHECK(f.outbox->stats().total_rows == 0);
  CHECK(f.counter("aisle_agent_events_forwarded_total") == 3);
  CHECK(forwarder.status().in_flight == 0);
}

TEST_CASE("no more than `window` batches are in flight", "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(12);
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 2);
  f.uplink.ack(f.uplink.decoded()[0].header);
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 3);
  const auto batches = f.uplink.decoded();
  CHECK(batches[2].header.batch_seq == 3);
  // Consecutive batches cover consecutive sequence ranges.
  CHECK(batches[1].header.first_seq == batches[0].header.last_seq + 1);
  CHECK(batches[2].header.first_seq == batches[1].header.last_seq + 1);
}

TEST_CASE("the window slides over batch numbers: a stuck batch holds back batch n + window",
          "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(12);
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 2);  // batches 1 and 2
  // Batch 2 is acknowledged, batch 1 is not (its commit failed at the collector).
  f.uplink.ack(f.uplink.decoded()[1].header);
  forwarder.step();
  // Only one batch is in flight, but batch 3 = 1 + window must wait for batch 1's ack: the
  // collector counts a batch missing once one `window` beyond it has arrived.
  CHECK(f.uplink.published.size() == 2);
  CHECK(forwarder.status().in_flight == 1);
  f.uplink.ack(f.uplink.decoded()[0].header);
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 4);
  const auto batches = f.uplink.decoded();
  CHECK(batches[2].header.batch_seq == 3);
  CHECK(batches[3].header.batch_seq == 4);
}

TEST_CASE("a batch without an ack is sent again with the same number after the timeout",
          "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(3);
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 1);
  f.clock->advance(milliseconds(4000));
  forwarder.step();
  CHECK(f.uplink.published.size() == 1);
  f.clock->advance(milliseconds(1001));
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 2);
  const auto batches = f.uplink.decoded();
  CHECK(batches[1].header.batch_seq == batches[0].header.batch_seq);
  CHECK(batches[1].header.attempt == 2);
  CHECK(batches[1].records.size() == 3);
  CHECK(f.counter("aisle_agent_batches_retried_total") == 1);
}

TEST_CASE("after a broken connection the forwarder reconnects with backoff and resends",
          "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(3);
  forwarder.step();
  REQUIRE(f.uplink.published.size() == 1);
  f.uplink.reachable = false;
  f.uplink.drop();
  for (int i = 0; i < 5; ++i) {
    forwarder.step();
    f.clock->advance(milliseconds(1000));  // at least the backoff ceiling
  }
  CHECK_FALSE(forwarder.status().connected);
  CHECK(f.uplink.connect_calls >= 4);
  CHECK(f.uplink.published.size() == 1);
  f.uplink.reachable = true;
  f.clock->advance(milliseconds(1000));
  forwarder.step();
  CHECK(forwarder.status().connected);
  REQUIRE(f.uplink.published.size() == 2);
  CHECK(f.uplink.decoded()[1].header.batch_seq == 1);
  CHECK(f.outbox->stats().total_rows == 3);
}

TEST_CASE("unacknowledged batches are resent with their numbers after a restart",
          "[agent][forwarder]") {
  Fixture f;
  wire::BatchHeader first_header;
  {
    Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
    f.append(6);
    forwarder.step();
    REQUIRE(f.uplink.published.size() == 2);
    first_header = f.uplink.decoded()[0].header;
  }  // the agent dies before any ack
  f.reopen();
  test::FakeUplink uplink;
  metrics::Registry registry;
  Forwarder restarted(*f.outbox, uplink, f.options, f.address, f.clock, registry);
  restarted.step();
  REQUIRE(uplink.published.size() == 2);
  const auto again = uplink.decoded();
  CHECK(again[0].header.batch_seq == 1);
  CHECK(again[1].header.batch_seq == 2);
  CHECK(again[0].header.stream_id == first_header.stream_id);
  CHECK(again[0].records.size() == 3);
  uplink.ack(again[0].header);
  uplink.ack(again[1].header);
  restarted.step();
  CHECK(f.outbox->stats().total_rows == 0);
}

TEST_CASE("a rejected batch is deleted too, and foreign or malformed acks are ignored",
          "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(3);
  forwarder.step();
  wire::BatchHeader header = f.uplink.decoded()[0].header;
  wire::BatchHeader foreign = header;
  foreign.stream_id = "another-life-of-this-outbox";
  f.uplink.ack(foreign);
  f.uplink.raw_ack("not json");
  forwarder.step();
  CHECK(f.outbox->stats().total_rows == 3);
  f.uplink.ack(header, "rejected");
  forwarder.step();
  CHECK(f.outbox->stats().total_rows == 0);
  CHECK(f.counter("aisle_agent_batches_rejected_total") == 1);
}

TEST_CASE("a wall clock that steps back does not hold batches back", "[agent][forwarder]") {
  Fixture f;
  Forwarder forwarder(*f.outbox, f.uplink, f.options, f.address, f.clock, f.registry);
  f.append(1);
  f.clock->set_unix_ms(f.clock->now_unix_ms() - 3'600'000);  // NTP steps back an hour
  forwarder.step();
  CHECK(f.uplink.published.size() == 1);
}

}  // namespace aisle::agent
