// The agent as the kiosks' recommendation server through a WAN outage (issue 6): a real agent
// (in-process, HTTP on loopback) asks a collector-like HTTPS server with mutual TLS — an
// aisle::http::HttpServer of our own on a free port, serving the collector's recommendation and
// snapshot routes (the collector's recs-serving routes were not wired into aisle-collector when
// this test was written) — which the test stalls, kills and restarts. Every kiosk request must
// be answered 200 with the mode that served it.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "agent/agent.hpp"
#include "common/http/http_server.hpp"
#include "common/pki/pki.hpp"
#include "common/time_format.hpp"
#include "common/wire/rec_snapshot.hpp"
#include "tests/support/fake_uplink.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace aisle;
using namespace std::chrono_literals;

namespace {

wire::RecSnapshot store_snapshot() {
  wire::RecSnapshot s;
  s.store_id = "store-1";
  s.generated_at = 1'764'400'000'000;
  s.model_generation = 7;
  s.popularity = {{"POP-1", 1.0}, {"POP-2", 0.6}, {"OUT-1", 0.5}};
  s.items = {{"BEAN-1", "coffee/beans", true, {{"GRIND-1", 0.9}, {"OUT-1", 0.8}, {"CUP-1", 0.4}}},
             {"GRIND-1", "coffee/grinders", true, {{"BEAN-1", 0.9}}},
             {"CUP-1", "coffee/cups", true, {}},
             {"OUT-1", "coffee/cups", false, {}},
             {"POP-1", "coffee/beans", true, {}},
             {"POP-2", "coffee/beans", true, {}}};
  return s;
}

// The collector's side: GET /v1/recommendations and GET /v1/recs/snapshot over HTTPS, client
// certificates required. `stall` makes every answer late (a slow WAN).
class FakeCollector {
 public:
  // `incarnation` tags rec_ids, so answers of a restarted collector are told from cached ones.
  FakeCollector(const std::string& pki_dir, const pki::IssuedCert& server_cert, int port,
                std::string incarnation)
      : incarnation_(std::move(incarnation)),
        snapshot_(*wire::encode_rec_snapshot(store_snapshot())) {
    http::ServerOptions options;
    options.port = port;
    options.threads = 4;
    options.tls_cert_file = server_cert.cert_path;
    options.tls_key_file = server_cert.key_path;
    options.tls_client_ca_file = pki::ca_cert_path(pki_dir);
    server_ = std::make_unique<http::HttpServer>(options, metrics_, "fake_collector");
    server_->get("/v1/recommendations", "/v1/recommendations", [this](const http::Request& r) {
      if (stall) std::this_thread::sleep_for(600ms);
      if (r.header("Authorization") != "Bearer store-1-key") {
        return http::Response::error(401, "missing or wrong API key");
      }
      ++recommendations;
      if (r.param("store") != "store-1") return http::Response::error(400, "store");
      last_identity_ok = r.param("identity") == "loyalty_id:LOY-1";
      const nlohmann::json answer = {
          {"rec_id", "rec-" + incarnation_ + "-" + std::to_string(recommendations.load())},
          {"mode", "live"},
          {"strategy", "vsknn"},
          {"items",
           {{{"sku", "LIVE-" + r.param("context_item")}, {"score", 0.9}, {"source", "vsknn"}}}}};
      return http::Response::json(200, answer.dump());
    });
    server_->get("/v1/recs/snapshot", "/v1/recs/snapshot", [this](const http::Request& r) {
      if (r.param("store") != "store-1") return http::Response::error(404, "no such store");
      http::Response response;
      response.body = snapshot_;
      response.content_type = std::string(wire::kRecSnapshotContentType);
      return response;
    });
    REQUIRE(server_->start());
  }
  int port() const { return server_->port(); }
  void kill() { server_->stop(); }

  std::atomic<bool> stall{false};
  std::atomic<int> recommendations{0};
  std::atomic<bool> last_identity_ok{false};

 private:
  metrics::Registry metrics_;
  std::string incarnation_;
  std::string snapshot_;
  std::unique_ptr<http::HttpServer> server_;
};

std::string product_view(const std::string& sku) {
  const nlohmann::json event = {
      {"type", "product_view"},
      {"occurred_at", format_rfc3339_ms(SystemClock::instance()->now_unix_ms())},
      {"source", {{"store_id", "store-1"}, {"channel", "kiosk"}, {"device_id", "kiosk-07"}}},
      {"identities", {{"loyalty_id", "LOY-1"}, {"session_id", "sess-k-1"}}},
      {"consent",
       {{"analytics", "granted"}, {"personalization", "granted"}, {"marketing", "denied"}}},
      {"properties", {{"sku", sku}, {"name", "Beans"}, {"price", 9.5}, {"currency", "EUR"}}}};
  return event.dump();
}

}  // namespace

TEST_CASE(
    "kiosks are answered live, then from the cache and the store-local model while the "
    "collector is stalled or down, and live again when it is back, with no request failing",
    "[integration][recs]") {
  test::TempDir dir("aisle-agent-recs-it");
  const std::string pki_dir = dir.file("pki");
  REQUIRE(pki::init_ca(pki_dir, pki::CaOptions{"acme", 30}));
  pki::IssueOptions server_options;
  server_options.kind = pki::CertKind::kServer;
  server_options.name = "localhost";
  auto server_cert = pki::issue(pki_dir, server_options);
  REQUIRE(server_cert);
  pki::IssueOptions agent_options;
  agent_options.kind = pki::CertKind::kAgent;
  agent_options.store_id = "store-1";
  agent_options.agent_id = "agent-1";
  auto agent_cert = pki::issue(pki_dir, agent_options);
  REQUIRE(agent_cert);

  auto collector = std::make_unique<FakeCollector>(pki_dir, *server_cert, 0, "first");
  const int collector_port = collector->port();

  agent::AgentConfig c;
  c.tenant = "acme";
  c.store_id = "store-1";
  c.agent_id = "agent-1";
  c.http.port = 0;
  c.http.threads = 4;
  c.schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
  c.outbox.path = dir.file("outbox.db");
  c.shutdown_grace = 0ms;
  // The recommendation client uses the agent's MQTT identity (mutual TLS) by default.
  c.mqtt.ca_file = pki::ca_cert_path(pki_dir);
  c.mqtt.cert_file = agent_cert->cert_path;
  c.mqtt.key_file = agent_cert->key_path;
  test::write_file(dir.file("recs.key"), "store-1-key\n");
  c.recommendations = {{"api_key_file", dir.file("recs.key")},
                       {"collector_url", "https://localhost:" + std::to_string(collector_port)},
                       {"timeout", "150ms"},
                       {"breaker_failures", 3},
                       {"breaker_cooldown", "300ms"},
                       {"cache_ttl", "10m"}};
  auto created = agent::Agent::create(std::move(c), nullptr, std::make_unique<test::FakeUplink>());
  REQUIRE(created);
  auto& agent = **created;
  REQUIRE(agent.start());
  test::HttpClient kiosk("http://127.0.0.1:" + std::to_string(agent.http_port()));

  // The snapshot is fetched at start.
  for (int i = 0; i < 200; ++i) {
    if (kiosk.get("/v1/recs/status").json()["snapshot"]["present"] == true) break;
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(kiosk.get("/v1/recs/status").json()["snapshot"]["model_generation"] == 7);

  // The shopper looks at beans at the kiosk: the agent's ingest feeds the local history.
  const auto posted = kiosk.post("/v1/events", product_view("BEAN-1"));
  REQUIRE(posted.status == 202);

  int requests = 0;
  auto ask = [&](const std::string& query) {
    ++requests;
    const auto response = kiosk.get("/v1/recommendations?" + query);
    INFO(response.describe());
    REQUIRE(response.status == 200);
    return response.json();
  };
  const std::string shopper = "identity=loyalty_id:LOY-1&placement=kiosk_home&n=4";

  // 1. Collector up: live, over mutual TLS.
  auto answer = ask(shopper + "&context_item=CUP-1");
  CHECK(answer["mode"] == "live");
  CHECK(answer["items"][0]["sku"] == "LIVE-CUP-1");
  CHECK(collector->last_identity_ok);

  // 2. Collector stalled (answers after 600 ms, the timeout is 150 ms): the cached live answer
  // for the same shopper and context, then the local model for a new context.
  collector->stall = true;
  const auto stalled_at = std::chrono::steady_clock::now();
  answer = ask(shopper + "&context_item=CUP-1");
  CHECK(answer["mode"] == "cache");
  CHECK(answer["items"][0]["sku"] == "LIVE-CUP-1");
  CHECK(std::chrono::steady_clock::now() - stalled_at < 500ms);
  answer = ask(shopper + "&context_item=POP-2");
  CHECK(answer["mode"] == "offline");
  // Neighbours of BEAN-1: GRIND-1, CUP-1 (OUT-1 is out of stock), filled up with popularity:
  // POP-1 (POP-2 is on screen, OUT-1 out of stock).
  REQUIRE(answer["items"].size() == 3);
  CHECK(answer["items"][0]["sku"] == "GRIND-1");
  CHECK(answer["items"][0]["source"] == "local_item_knn");
  CHECK(answer["items"][1]["sku"] == "CUP-1");
  CHECK(answer["items"][2]["sku"] == "POP-1");
  CHECK(answer["items"][2]["source"] == "local_popularity");
  for (const auto& item : answer["items"]) CHECK(item["sku"] != "OUT-1");

  // 3. Collector killed: after the third failure the breaker is open and answers come at once.
  collector->kill();
  collector.reset();
  answer = ask("placement=kiosk_home&n=2");  // an anonymous kiosk: popularity
  CHECK(answer["mode"] == "popularity");
  CHECK(answer["items"][0]["sku"] == "POP-1");
  CHECK(kiosk.get("/v1/recs/status").json()["breaker"] == "open");
  const auto open_at = std::chrono::steady_clock::now();
  answer = ask(shopper + "&context_item=CUP-1");
  CHECK(answer["mode"] == "cache");
  answer = ask(shopper + "&context_item=GRIND-1");
  CHECK(answer["mode"] == "offline");
  CHECK(answer["items"][0]["sku"] != "GRIND-1");  // the item on screen is not recommended
  CHECK(std::chrono::steady_clock::now() - open_at < 100ms);
  // A kiosk's own mistake is still a 400.
  CHECK(kiosk.get("/v1/recommendations?identity=nocolon").status == 400);
  CHECK(kiosk.get("/v1/recommendations?n=0").status == 400);
  CHECK(kiosk.get("/v1/recommendations?placement=Kiosk%20Home").status == 400);

  // 4. Collector back on the same port: after the cool-down a probe succeeds, answers are live.
  collector = std::make_unique<FakeCollector>(pki_dir, *server_cert, collector_port, "second");
  bool live_again = false;
  for (int i = 0; i < 100 && !live_again; ++i) {
    answer = ask(shopper + "&context_item=CUP-1");
    live_again = answer["mode"] == "live";
    if (!live_again) std::this_thread::sleep_for(50ms);
  }
  CHECK(live_again);
  // A fresh answer from the restarted collector, not the cached one ("rec-first-1").
  CHECK(answer["rec_id"].get<std::string>().rfind("rec-second-", 0) == 0);
  CHECK(kiosk.get("/v1/recs/status").json()["breaker"] == "closed");

  const double answered =
      agent.metrics().value("aisle_agent_recs_requests_total", {{"mode", "live"}}) +
      agent.metrics().value("aisle_agent_recs_requests_total", {{"mode", "cache"}}) +
      agent.metrics().value("aisle_agent_recs_requests_total", {{"mode", "offline"}}) +
      agent.metrics().value("aisle_agent_recs_requests_total", {{"mode", "popularity"}});
  CHECK(answered == requests);
  CHECK(agent.metrics().value("aisle_agent_recs_upstream_skipped_total") >= 2);
  agent.stop();
}
