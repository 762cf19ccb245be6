#include "collector/ingest/stream_tracker.hpp"

#include <catch2/catch.hpp>

namespace aisle::collector {
namespace {

wire::BatchHeader batch(std::uint64_t seq, std::uint32_t window = 3,
                        const std::string& stream = "s1") {
  wire::BatchHeader h;
  h.tenant = "acme";
  h.store_id = "store-1";
  h.agent_id = "agent-1";
  h.stream_id = stream;
  h.batch_seq = seq;
  h.window = window;
  h.sent_at = 1000;
  return h;
}

}  // namespace

TEST_CASE("batches arriving out of order within the window are not gaps",
          "[collector][streams]") {
  metrics::Registry registry;
  StreamTracker tracker(registry);
  for (std::uint64_t seq : {1, 3, 2, 5, 4, 6, 7}) {
    CHECK(tracker.observe(batch(seq), 1000, 1000, 0, 1) == 0);
  }
  CHECK(registry.value("aisle_collector_sequence_gaps_total") == 0);
  CHECK(tracker.agents().at(0).contiguous_batch_seq == 7);
}

TEST_CASE("a batch missing once the window has moved past it is counted once",
          "[collector][streams]") {
  metrics::Registry registry;
  StreamTracker tracker(registry);
  std::uint64_t gaps = 0;
  for (std::uint64_t seq : {1, 2, 4, 5, 6, 7, 8, 9}) gaps += tracker.observe(batch(seq), 1000, 1000, 0, 1);
  CHECK(gaps == 1);
  CHECK(registry.value("aisle_collector_sequence_gaps_total") == 1);
  CHECK(tracker.agents().at(0).gaps == 1);
  // A late arrival of the missing batch (or a resend of an old one) counts nothing more.
  CHECK(tracker.observe(batch(3), 1000, 1000, 0, 1) == 0);
  CHECK(tracker.observe(batch(2), 1000, 1000, 0, 1) == 0);
}

TEST_CASE("clock skew is estimated from the fastest batches and lag from receipt times",
          "[collector][streams]") {
  metrics::Registry registry;
  StreamTracker tracker(registry);
  // The agent's clock is 5 s ahead; transit takes 20..200 ms.
  for (int i = 0; i < 10; ++i) {
    wire::BatchHeader h = batch(static_cast<std::uint64_t>(i + 1));
    const UnixMillis collector_time = 1'000'000 + i * 1000;
    h.sent_at = collector_time + 5000 - (20 + (i * 37) % 180);
    tracker.observe(h, collector_time, collector_time + 5, h.sent_at - 100, 10);
  }
  const AgentState state = tracker.agents().at(0);
  CHECK(state.clock_skew_ms == 4980);  // 5000 minus the fastest transit (20 ms)
  CHECK(state.lag_ms > 100);
  CHECK(state.lag_ms < 400);
  CHECK(state.events == 100);
  CHECK(registry.value("aisle_collector_agent_clock_skew_seconds",
                       {{"store_id", "store-1"}, {"agent_id", "agent-1"}}) == Approx(4.98));
}

TEST_CASE("progress loaded at start continues the sequence without false gaps",
          "[collector][streams]") {
  metrics::Registry registry;
  StreamTracker tracker(registry);
  tracker.load({StreamProgress{"s1", "store-1", "agent-1", 12, 10, 5000}});
  CHECK(tracker.observe(batch(13), 6000, 6000, 0, 1) == 0);
  CHECK(tracker.observe(batch(14), 6000, 6000, 0, 1) == 0);
  CHECK(tracker.agents().at(0).contiguous_batch_seq == 14);
  // A new outbox stream for the same agent starts again at 1.
  CHECK(tracker.observe(batch(1, 3, "s2"), 7000, 7000, 0, 1) == 0);
  CHECK(tracker.agents().at(0).stream_id == "s2");
}

TEST_CASE("the agent's backlog is what its last committed batch left in the outbox",
          "[collector][streams]") {
  metrics::Registry registry;
  StreamTracker tracker(registry);
  wire::BatchHeader h = batch(1);
  h.count = 500;
  h.backlog = 1700;  // this batch's 500 included
  tracker.observe(h, 2000, 2000, 0, 500);
  CHECK(tracker.agents().at(0).backlog == 1200);
  CHECK(registry.value("aisle_collector_agent_backlog_records",
                       {{"store_id", "store-1"}, {"agent_id", "agent-1"}}) == 1200);
  h = batch(2);
  h.count = 500;
  h.backlog = 0;  // an agent that does not report it
  tracker.observe(h, 3000, 3000, 0, 500);
  CHECK(tracker.agents().at(0).backlog == 0);
}

}  // namespace aisle::collector
