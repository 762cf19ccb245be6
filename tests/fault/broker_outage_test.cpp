// Fault: the broker goes away. Agents keep accepting into their outboxes (the backlog grows),
// reconnect with backoff when it is back, and the backlog drains exactly once — also when the
// agent itself was restarted during the outage.
#include <catch2/catch.hpp>

#include "common/process.hpp"
#include "common/uuid.hpp"
#include "tests/support/delivery_check.hpp"
#include "tests/support/event_factory.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json agent_status(const PipelineEnv& env, int agent) {
  return env.agent(agent).get("/v1/status").json();
}

std::uint64_t backlog(const PipelineEnv& env, int agent) {
  const json status = agent_status(env, agent);
  return status.is_object() ? status["outbox"].value("events", std::uint64_t{0}) : 0;
}

bool connected(const PipelineEnv& env, int agent) {
  const json status = agent_status(env, agent);
  return status.is_object() && status["forwarder"].value("connected", false);
}

}  // namespace

TEST_CASE("a broker outage builds a backlog at the agent that drains exactly once afterwards",
          "[fault][broker]") {
  PipelineEnv env({.edit_agent = fast_agent_timers()});
  const EventFactory factory;
  UuidV7Generator ids;
  Producer producer(factory, ids,
                    {.url = env.env().agents[0].http,
                     .store_id = "store-1",
                     .threads = 2,
                     .events_per_request = 100,
                     .pause = milliseconds(50)});
  producer.start();
  REQUIRE(wait_until([&] { return producer.committed_so_far() >= 2000; }, seconds(30)));

  REQUIRE(env.kill9("mosquitto"));
  const auto outage_started = std::chrono::steady_clock::now();
  REQUIRE(wait_until([&] { return !connected(env, 1); }, seconds(15)));
  CHECK(wait_until(
      [&] { return !env.collector().get("/v1/status").json().value("mqtt_connected", true); },
      seconds(15)));
  // Producers are still answered 202; the events pile up in the outbox.
  const auto backlog_before = backlog(env, 1);
  REQUIRE(wait_until([&] { return backlog(env, 1) >= backlog_before + 2000; }, seconds(30)));

  // A producer retrying a whole request while its events wait in the outbox: duplicates.
  std::vector<std::string> retried_ids;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < 200; ++i) {
    retried_ids.push_back(ids.next().to_string());
    lines.push_back(factory.make("store-1", retried_ids.back(), i));
  }
  const HttpResponse first = env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(first.describe());
  REQUIRE(first.status == 202);
  CHECK(first.json()["accepted"] == 200);
  const HttpResponse again = env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(again.describe());
  REQUIRE(again.status == 202);
  CHECK(again.json()["accepted"] == 0);
  CHECK(again.json()["duplicates"] == 200);

  // An outage of several seconds: longer than the ack timeout and several reconnect attempts.
  REQUIRE(
      wait_until([&] { return std::chrono::steady_clock::now() - outage_started >= seconds(6); },
                 seconds(10)));
  const auto backlog_at_end = backlog(env, 1);
  INFO("backlog before the broker came back: " << backlog_at_end);
  CHECK(backlog_at_end > backlog_before);
  REQUIRE(env.up());  // only the broker was missing
  REQUIRE(wait_until([&] { return connected(env, 1); }, seconds(20)));
  const auto before = producer.committed_so_far();
  REQUIRE(wait_until([&] { return producer.committed_so_far() >= before + 1000; }, seconds(30)));
  ProducerResult sent = producer.stop();
  INFO(sent.summary());
  CHECK(sent.errors.empty());
  CHECK(sent.unknown_ids.empty());
  sent.accepted_ids.insert(sent.accepted_ids.end(), retried_ids.begin(), retried_ids.end());

  require_delivered_exactly_once(env, sent.accepted_ids, sent.unknown_ids, {"store-1"});
}

TEST_CASE("an agent stopped with a backlog during a broker outage forwards it once both are back",
          "[fault][broker][agent]") {
  PipelineEnv env({.stores = 2, .edit_agent = fast_agent_timers()});
  const EventFactory factory;
  UuidV7Generator ids;
  auto produce = [&](int agent, std::size_t events) {
    Producer producer(factory, ids,
                      {.url = env.env().agents[static_cast<std::size_t>(agent - 1)].http,
                       .store_id = "store-" + std::to_string(agent),
                       .threads = 2,
                       .events_per_request = 250,
                       .total_events = events});
    producer.start();
    ProducerResult sent = producer.wait();
    INFO(sent.summary());
    REQUIRE(sent.errors.empty());
    REQUIRE(sent.accepted_ids.size() == events);
    return sent.accepted_ids;
  };

  // SIGTERM: Mosquitto saves its persistence and exits; both agents lose their connection.
  REQUIRE(env.stop("mosquitto"));
  REQUIRE(wait_until([&] { return !connected(env, 1) && !connected(env, 2); }, seconds(15)));
  std::vector<std::string> store1 = produce(1, 3000);
  std::vector<std::string> store2 = produce(2, 1000);
  REQUIRE(backlog(env, 1) == 3000);

  // A clean stop with batches unacknowledged: it gives up after shutdown_grace and exits 0.
  const auto pid = env.pid("agent-1");
  REQUIRE(pid);
  REQUIRE(env.stop("agent-1", seconds(15)));
  CHECK(exit_status(*pid) == 0);

  // Restarted while the broker is still down: the backlog is intact and still accepting.
  REQUIRE(env.start_part("agent-1"));
  const json status = agent_status(env, 1);
  INFO("agent after restart: " << status.dump());
  CHECK(status["outbox"]["events"] == 3000);
  CHECK(status["forwarder"]["connected"] == false);
  const std::vector<std::string> more = produce(1, 1000);
  store1.insert(store1.end(), more.begin(), more.end());
  CHECK(backlog(env, 1) == 4000);

  REQUIRE(env.up());  // the broker; the collector and the agents are running
  std::vector<std::string> accepted = store1;
  accepted.insert(accepted.end(), store2.begin(), store2.end());
  require_delivered_exactly_once(env, accepted, {}, {"store-1", "store-2"});
}

}  // namespace aisle::test
