// The agent's HTTP ingest contract, in-process: a real Agent (outbox on SQLite, HTTP on a free
// port) with a fake uplink instead of a broker.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "agent/agent.hpp"
#include "common/uuid.hpp"
#include "tests/support/fake_uplink.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

using nlohmann::json;

struct RunningAgent {
  test::TempDir dir{"aisle-agent-api"};
  test::FakeUplink* uplink = nullptr;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<httplib::Client> client;

  explicit RunningAgent(std::function<void(AgentConfig&)> adjust = {}) {
    AgentConfig c;
    c.tenant = "acme";
    c.store_id = "store-1";
    c.agent_id = "agent-1";
    c.http.port = 0;
    c.http.threads = 4;
    c.schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
    c.outbox.path = dir.file("outbox.db");
    c.outbox.durability = OutboxDurability::kNormal;
    c.critical_types = {"purchase"};
    c.bulk_types = {"footfall"};
    c.shutdown_grace = std::chrono::milliseconds(0);
    if (adjust) adjust(c);
    auto fake = std::make_unique<test::FakeUplink>();
    fake->reachable = false;  // keep everything in the outbox
    uplink = fake.get();
    auto created = Agent::create(std::move(c), nullptr, std::move(fake));
    REQUIRE(created);
    agent = std::move(*created);
    REQUIRE(agent->start());
    client = std::make_unique<httplib::Client>("127.0.0.1", agent->http_port());
  }

  httplib::Result post(const std::string& body,
                       const std::string& type = "application/x-ndjson") {
    return client->Post("/v1/events", body, type);
  }
};

UuidV7Generator ids;

json event(const std::string& type = "product_view", const std::string& store = "store-1") {
  json e = json::parse(
      test::read_file(std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/examples/" + type + ".json"));
  e["event_id"] = ids.next().to_string();
  e["source"]["store_id"] = store;
  e["source"].erase("agent_id");
  e.erase("received_at");
  return e;
}

}  // namespace

TEST_CASE("the agent answers 202 with accepted, duplicates and every rejection",
          "[agent][http]") {
  RunningAgent a;
  json bad = event();
  bad["properties"]["price"] = -1;
  const json first = event();
  const std::string body = first.dump() + "\n" + event().dump() + "\n" + bad.dump() + "\n" +
                           "{not json\n" + event("product_view", "store-9").dump() + "\n";
  auto response = a.post(body);
  REQUIRE(response);
  CHECK(response->status == 202);
  const json answer = json::parse(response->body);
  CHECK(answer["accepted"] == 2);
  CHECK(answer["duplicates"] == 0);
  REQUIRE(answer["rejected"].size() == 3);
  CHECK(answer["rejected"][0]["index"] == 2);
  CHECK(answer["rejected"][0]["line"] == 3);
  CHECK(answer["rejected"][0]["errors"][0]["path"] == "/properties/price");
  CHECK(answer["rejected"][1]["errors"][0]["keyword"] == "parse");
  CHECK(answer["rejected"][2]["errors"][0]["path"] == "/source/store_id");
  // Rejections are kept as quarantine records to forward: 2 events + 3 quarantine records.
  CHECK(a.agent->outbox().stats().total_rows == 5);

  auto retry = a.post(first.dump());
  REQUIRE(retry);
  CHECK(retry->status == 202);
  CHECK(json::parse(retry->body)["duplicates"] == 1);
}

TEST_CASE("a JSON array and a single object are accepted too", "[agent][http]") {
  RunningAgent a;
  auto array = a.post(json::array({event(), event("purchase")}).dump(), "application/json");
  REQUIRE(array);
  CHECK(array->status == 202);
  CHECK(json::parse(array->body)["accepted"] == 2);
  auto single = a.post(event("footfall").dump(2), "application/json");
  REQUIRE(single);
  CHECK(json::parse(single->body)["accepted"] == 1);
  const OutboxStats stats = a.agent->outbox().stats();
  CHECK(stats.rows[static_cast<int>(Priority::kCritical)] == 1);
  CHECK(stats.rows[static_cast<int>(Priority::kBulk)] == 1);
}

TEST_CASE("malformed bodies get 400 and oversized ones 413", "[agent][http]") {
  RunningAgent a([](AgentConfig& c) {
    c.max_events_per_request = 3;
    c.http.max_body_bytes = 64 * 1024;
  });
  auto malformed = a.post("{\"type\": ", "application/json");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  CHECK_THAT(malformed->body, Catch::Contains("malformed body"));
  auto broken_array = a.post("[{\"a\":1}, ", "application/json");
  REQUIRE(broken_array);
  CHECK(broken_array->status == 400);
  auto empty = a.post("   ");
  REQUIRE(empty);
  CHECK(empty->status == 400);
  std::string four;
  for (int i = 0; i < 4; ++i) four += event().dump() + "\n";
  auto too_many = a.post(four);
  REQUIRE(too_many);
  CHECK(too_many->status == 413);
  CHECK_THAT(too_many->body, Catch::Contains("limit 3"));
  auto too_big = a.post(std::string(100 * 1024, ' '));
  REQUIRE(too_big);
  CHECK(too_big->status == 413);
  CHECK(a.agent->outbox().stats().total_rows == 0);
}

TEST_CASE("a full outbox answers 507 for the priority it cannot take", "[agent][http]") {
  RunningAgent a([](AgentConfig& c) {
    c.outbox.max_bytes = 8 * 1024;
    c.outbox.hard_max_bytes = 8 * 1024;
    c.outbox.row_overhead_bytes = 0;
  });
  int status = 202;
  int sent = 0;
  while (status == 202 && sent < 200) {
    auto response = a.post(event("purchase").dump());
    REQUIRE(response);
    status = response->status;
    ++sent;
  }
  CHECK(status == 507);
  auto refused = a.post(event("purchase").dump());
  REQUIRE(refused);
  CHECK(refused->status == 507);
  const json answer = json::parse(refused->body);
  CHECK(answer["refused"] == json::array({0}));
  CHECK_THAT(answer["error"].get<std::string>(), Catch::Contains("critical"));
}

TEST_CASE("health, status and metrics endpoints answer", "[agent][http]") {
  RunningAgent a;
  REQUIRE(a.post(event().dump()));
  auto health = a.client->Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto status = a.client->Get("/v1/status");
  REQUIRE(status);
  const json s = json::parse(status->body);
  CHECK(s["outbox"]["events"] == 1);
  CHECK(s["forwarder"]["connected"] == false);
  auto metrics = a.client->Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains("aisle_agent_events_accepted_total{priority=\"normal\"} 1"));
  CHECK_THAT(metrics->body, Catch::Contains("aisle_agent_outbox_backlog_events"));
}

}  // namespace aisle::agent
