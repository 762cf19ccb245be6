// Fault: the broker goes away. Agents keep accepting into their outboxes (the backlog grows),
// reconnect with backoff when it is back, and the backlog drains exactly once — also when the
// agent itself was restarted during the outage.
#include <catch2/catch.hpp>
#include <map>

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

double metric(const PipelineEnv& env, const std::string& series) {
  return metric_value(env.agent(1).get("/metrics").body, series).value_or(0);
}

double evicted(const PipelineEnv& env, const std::string& priority) {
  return metric(env, "aisle_agent_outbox_evicted_total{priority=\"" + priority +
                         "\",reason=\"quota\"}");
}

double backlog_of(const PipelineEnv& env, const std::string& priority) {
  return metric(env, "aisle_agent_outbox_backlog_events{priority=\"" + priority + "\"}");
}

// Posts `count` events of `type` in one request; returns the ids the agent stored (all on a 202;
// those not listed in "refused" on a 507) and the status.
std::pair<int, std::vector<std::string>> post_typed(const PipelineEnv& env,
                                                    const EventFactory& factory,
                                                    UuidV7Generator& ids, const std::string& type,
                                                    int count) {
  std::vector<std::string> sent;
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    sent.push_back(ids.next().to_string());
    lines.push_back(factory.example(type, "store-1", sent.back()).dump());
  }
  const HttpResponse answer =
      env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(answer.describe(500));
  REQUIRE((answer.status == 202 || answer.status == 507));
  const json body = answer.json();
  REQUIRE(body.is_object());
  std::vector<bool> refused(sent.size(), false);
  for (const auto& index : body.value("refused", json::array())) {
    refused.at(index.get<std::size_t>()) = true;
  }
  std::vector<std::string> stored;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    if (!refused[i]) stored.push_back(sent[i]);
  }
  CHECK(body["accepted"] == stored.size());
  return {answer.status, stored};
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


TEST_CASE("an outbox backlog over quota evicts bulk then normal oldest first and never critical",
          "[fault][broker][quota]") {
  // A small quota, so an outage of seconds overflows it.
  PipelineEnv env({.edit_agent = [](int index, json& config) {
    fast_agent_timers()(index, config);
    config["outbox"]["max_bytes"] = "256KiB";
    config["outbox"]["hard_max_bytes"] = "320KiB";
  }});
  const EventFactory factory;
  UuidV7Generator ids;
  REQUIRE(env.stop("mosquitto"));
  REQUIRE(wait_until([&] { return !connected(env, 1); }, seconds(15)));

  // In the order posted = the outbox's seq order.
  std::map<std::string, std::vector<std::string>> stored;  // by priority
  auto post = [&](const std::string& priority, const std::string& type, int count) {
    auto [status, ids_stored] = post_typed(env, factory, ids, type, count);
    auto& list = stored[priority];
    list.insert(list.end(), ids_stored.begin(), ids_stored.end());
    return status;
  };

  // Under the quota: nothing evicted.
  for (int i = 0; i < 4; ++i) REQUIRE(post("bulk", "footfall", 25) == 202);
  for (int i = 0; i < 3; ++i) REQUIRE(post("normal", "product_view", 20) == 202);
  REQUIRE(post("critical", "purchase", 20) == 202);
  CHECK(evicted(env, "bulk") == 0);
  CHECK(evicted(env, "normal") == 0);

  // Normal events beyond the quota: bulk goes first; normal only once no bulk is left.
  for (int i = 0; i < 60 && evicted(env, "normal") == 0; ++i) {
    REQUIRE(post("normal", "product_view", 20) == 202);
    if (evicted(env, "normal") > 0) {
      INFO("normal evicted while bulk was left");
      CHECK(backlog_of(env, "bulk") == 0);
    }
  }
  REQUIRE(evicted(env, "bulk") == 100);
  REQUIRE(evicted(env, "normal") > 0);
  // A few bulk events again: stored in the slack the last eviction left (a bulk event may evict
  // only bulk, so at the brim they would be refused); the critical ones below evict them first.
  post("bulk", "footfall", 5);

  // Critical events evict bulk, then the remaining normal ones, then fill up to the hard limit.
  int critical_status = 202;
  for (int i = 0; i < 60 && critical_status == 202; ++i) {
    const double normal_before = evicted(env, "normal");
    critical_status = post("critical", "purchase", 20);
    if (evicted(env, "normal") > normal_before) {
      INFO("normal evicted while bulk was left");
      CHECK(backlog_of(env, "bulk") == 0);
    }
  }
  CHECK(critical_status == 507);  // the hard limit, with the request's excess listed as refused
  CHECK(backlog_of(env, "normal") == 0);
  CHECK(backlog_of(env, "critical") == stored["critical"].size());

  // Every eviction counted, the oldest first: the survivors of each class are its newest.
  const auto survivors = [&](const std::string& priority) {
    const auto& all = stored[priority];
    const auto kept = static_cast<std::size_t>(backlog_of(env, priority));
    CHECK(evicted(env, priority) + static_cast<double>(kept) == static_cast<double>(all.size()));
    return std::vector<std::string>(all.end() - static_cast<std::ptrdiff_t>(kept), all.end());
  };
  std::vector<std::string> expected = survivors("bulk");
  const auto normal = survivors("normal");
  expected.insert(expected.end(), normal.begin(), normal.end());
  expected.insert(expected.end(), stored["critical"].begin(), stored["critical"].end());
  CHECK(evicted(env, "critical") == 0);

  // The broker returns: exactly the survivors arrive, once each.
  REQUIRE(env.up());
  std::string state;
  const bool drained = wait_for_drain(env, expected.size(), 0, seconds(60), &state);
  INFO(state);
  REQUIRE(drained);
  auto db = read_collector_db(env.collector_db());
  REQUIRE(db);
  const ExactlyOnceReport report =
      check_exactly_once(expected, {}, event_ids(db->events, {"store-1"}));
  INFO(report.describe());
  CHECK(report.missing.empty());
  CHECK(report.extra.empty());
  CHECK(report.stored == expected.size());
}

}  // namespace aisle::test
