// Fault: the store agent dies (SIGKILL: no shutdown, no final flush) or is stopped while
// producers post. An event answered 202 was committed to the outbox first, so it must survive
// and be forwarded after the restart; requests cut off are retried by the producers and answered
// then.
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

}  // namespace

TEST_CASE("an agent killed or stopped while producers post loses no accepted event",
          "[fault][agent]") {
  PipelineEnv env({.edit_agent = fast_agent_timers()});
  const EventFactory factory;
  UuidV7Generator ids;
  Producer producer(factory, ids,
                    {.url = env.env().agents[0].http,
                     .store_id = "store-1",
                     .threads = 3,
                     .events_per_request = 100,
                     .pause = milliseconds(20)});
  producer.start();

  // SIGKILL (no shutdown at all), SIGTERM (a clean stop under load), SIGKILL again.
  for (const bool kill : {true, false, true}) {
    INFO((kill ? "SIGKILL" : "SIGTERM"));
    const auto before = producer.committed_so_far();
    REQUIRE(wait_until([&] { return producer.committed_so_far() >= before + 3000; }, seconds(30)));
    // What the agent had in flight, for the failure message.
    const json status = env.agent(1).get("/v1/status").json();
    UNSCOPED_INFO("agent before the " << (kill ? "kill" : "stop") << ": " << status.dump());
    const auto pid = env.pid("agent-1");
    REQUIRE(pid);
    if (kill) {
      REQUIRE(env.kill9("agent-1"));
    } else {
      REQUIRE(env.stop("agent-1", seconds(15)));
      CHECK(exit_status(*pid) == 0);
    }
    // The producers notice (refused connections) and keep retrying their requests.
    const auto unanswered = producer.unanswered_attempts();
    REQUIRE(wait_until([&] { return producer.unanswered_attempts() > unanswered; }, seconds(10)));
    REQUIRE(env.up());
  }
  const auto before = producer.committed_so_far();
  REQUIRE(wait_until([&] { return producer.committed_so_far() >= before + 2000; }, seconds(30)));
  const ProducerResult sent = producer.stop();
  INFO(sent.summary());
  CHECK(sent.errors.empty());
  // Some attempts went unanswered (the crashes hit the producers), and every request cut off
  // by a crash was answered after the restart.
  CHECK(sent.statuses.count(0) == 1);
  CHECK(sent.unknown_ids.empty());

  require_delivered_exactly_once(env, sent.accepted_ids, sent.unknown_ids, {"store-1"});
}

TEST_CASE("an agent killed with SIGKILL while the broker is down forwards its backlog later",
          "[fault][agent][broker]") {
  PipelineEnv env({.edit_agent = fast_agent_timers()});
  const EventFactory factory;
  UuidV7Generator ids;

  REQUIRE(env.kill9("mosquitto"));
  Producer producer(factory, ids,
                    {.url = env.env().agents[0].http,
                     .store_id = "store-1",
                     .threads = 2,
                     .events_per_request = 250,
                     .total_events = 4000});
  producer.start();
  ProducerResult first = producer.wait();
  INFO(first.summary());
  REQUIRE(first.errors.empty());
  REQUIRE(first.accepted_ids.size() == 4000);

  REQUIRE(env.kill9("agent-1"));
  REQUIRE(env.start_part("agent-1"));
  const json status = env.agent(1).get("/v1/status").json();
  INFO("agent after restart: " << status.dump());
  CHECK(status["outbox"]["events"] == 4000);
  CHECK(status["forwarder"]["connected"] == false);

  REQUIRE(env.up());  // the broker
  require_delivered_exactly_once(env, first.accepted_ids, {}, {"store-1"});
}

}  // namespace aisle::test
