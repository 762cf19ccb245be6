// Fault: the collector dies (SIGKILL) or is stopped (SIGTERM) while batches flow. Agents delete a
// batch only on the collector's ack, which follows its commit: what was in flight is sent again
// (ack timeout, reconnect) and a batch committed but not acknowledged is recognised by its receipt.
#include <catch2/catch.hpp>

#include "common/process.hpp"
#include "common/uuid.hpp"
#include "tests/support/collector_db.hpp"
#include "tests/support/delivery_check.hpp"
#include "tests/support/event_factory.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

double metric(const HttpClient& client, const std::string& series) {
  return metric_value(client.get("/metrics").body, series).value_or(0);
}

}  // namespace

TEST_CASE("a collector killed mid-batch or stopped loses nothing and stores nothing twice",
          "[fault][collector]") {
  PipelineEnv env({.stores = 2, .edit_agent = fast_agent_timers("2s")});
  const EventFactory factory;
  UuidV7Generator ids;
  std::vector<std::unique_ptr<Producer>> producers;
  for (int i = 0; i < 2; ++i) {
    producers.push_back(std::make_unique<Producer>(
        factory, ids,
        ProducerOptions{.url = env.env().agents[static_cast<std::size_t>(i)].http,
                        .store_id = "store-" + std::to_string(i + 1),
                        .threads = 2,
                        .events_per_request = 200,
                        .pause = milliseconds(10)}));
    producers.back()->start();
  }
  auto committed = [&] {
    std::uint64_t total = 0;
    for (const auto& p : producers) total += p->committed_so_far();
    return total;
  };

  // SIGKILL twice (no shutdown: batches committed but not acknowledged, batches received but
  // not committed), then SIGTERM (a clean stop while batches keep coming).
  int crash = 0;
  for (const bool kill : {true, true, false}) {
    ++crash;
    INFO("crash " << crash << (kill ? " (SIGKILL)" : " (SIGTERM)"));
    // Batches are flowing: the collector is storing, and agent 1 has batches awaiting acks.
    const auto stored_before = env.collector().get("/v1/status").json().value("events_stored", 0);
    REQUIRE(wait_until(
        [&] {
          return env.collector().get("/v1/status").json().value("events_stored", 0) >=
                 stored_before + 2000;
        },
        seconds(30)));
    REQUIRE(wait_until(
        [&] {
          return env.agent(1).get("/v1/status").json()["forwarder"].value("batches_in_flight", 0) >
                 0;
        },
        seconds(10), milliseconds(5)));
    const double retried_1 = metric(env.agent(1), "aisle_agent_batches_retried_total");
    const double retried_2 = metric(env.agent(2), "aisle_agent_batches_retried_total");
    const auto pid = env.pid("collector");
    REQUIRE(pid);
    if (kill) {
      REQUIRE(env.kill9("collector"));
    } else {
      REQUIRE(env.stop("collector", seconds(20)));
      CHECK(exit_status(*pid) == 0);
    }
    // Down for longer than the ack timeout: the agents resend what is not acknowledged, and
    // they keep answering producers, since accepting needs only their own outbox.
    const auto accepted_while_down = committed();
    REQUIRE(wait_until(
        [&] {
          return metric(env.agent(1), "aisle_agent_batches_retried_total") > retried_1 &&
                 metric(env.agent(2), "aisle_agent_batches_retried_total") > retried_2 &&
                 committed() > accepted_while_down;
        },
        seconds(20)));
    REQUIRE(env.up());
  }
  const auto before = committed();
  REQUIRE(wait_until([&] { return committed() >= before + 2000; }, seconds(30)));
  std::vector<std::string> accepted;
  std::vector<std::string> unknown;
  for (auto& p : producers) {
    const ProducerResult sent = p->stop();
    INFO(sent.summary());
    CHECK(sent.errors.empty());
    CHECK(sent.unknown_ids.empty());
    accepted.insert(accepted.end(), sent.accepted_ids.begin(), sent.accepted_ids.end());
    unknown.insert(unknown.end(), sent.unknown_ids.begin(), sent.unknown_ids.end());
  }

  require_delivered_exactly_once(env, accepted, unknown, {"store-1", "store-2"});
  // The agents resent unacknowledged batches; the restarted collector may also have recognised
  // some it had committed before the kill.
  const double retried = metric(env.agent(1), "aisle_agent_batches_retried_total") +
                         metric(env.agent(2), "aisle_agent_batches_retried_total");
  const double duplicate_batches =
      metric(env.collector(), "aisle_collector_batches_total{outcome=\"duplicate\"}");
  INFO("batches retried " << retried << ", duplicate batches at the collector "
                          << duplicate_batches);
  CHECK(retried + duplicate_batches > 0);
  CHECK(metric(env.collector(), "aisle_collector_batches_total{outcome=\"rejected\"}") == 0);
}

TEST_CASE("a collector whose database stays locked past its commit retries loses nothing",
          "[fault][collector]") {
  // The ack timeout outlasts the lock (the commit stage gives a batch 5 attempts of up to 5 s
  // each), so the agent resends nothing while it is held: exactly one batch fails its commit
  // and is not acknowledged, the ones behind it commit once the lock is gone.
  PipelineEnv env({.edit_agent = fast_agent_timers("30s")});
  const EventFactory factory;
  UuidV7Generator ids;
  Producer producer(factory, ids,
                    {.url = env.env().agents[0].http,
                     .store_id = "store-1",
                     .threads = 2,
                     .events_per_request = 100,
                     .pause = milliseconds(50)});
  producer.start();
  REQUIRE(wait_until(
      [&] { return env.collector().get("/v1/status").json().value("events_stored", 0) >= 1000; },
      seconds(30)));

  CollectorDbWriteLock lock;
  REQUIRE(lock.acquire(env.collector_db()));
  REQUIRE(wait_until(
      [&] { return metric(env.collector(), "aisle_collector_commit_failures_total") >= 1; },
      seconds(45)));
  lock.release();
  // The collector recovers on its own: later batches commit, and the failed one is resent after
  // the agent's ack timeout.
  const auto before = producer.committed_so_far();
  REQUIRE(wait_until([&] { return producer.committed_so_far() >= before + 2000; }, seconds(30)));
  const ProducerResult sent = producer.stop();
  INFO(sent.summary());
  CHECK(sent.errors.empty());
  CHECK(sent.unknown_ids.empty());

  require_delivered_exactly_once(env, sent.accepted_ids, sent.unknown_ids, {"store-1"},
                                 seconds(60));
  CHECK(metric(env.collector(), "aisle_collector_commit_failures_total") == 1);
  CHECK(metric(env.agent(1), "aisle_agent_batches_retried_total") >= 1);
}

}  // namespace aisle::test
