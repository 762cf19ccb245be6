// Certificate renewal without downtime (common/pki/tls_file_watch.hpp, docs/operations.md,
// "Rotating certificates"): while a producer keeps posting, the agent's certificate is renewed in
// place, the old one revoked at the broker, and the agent reloaded with SIGHUP. It reconnects with
// the new files (the broker would refuse the old certificate), and every event arrives exactly
// once.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/mqtt/mqtt_client.hpp"
#include "common/pki/pki.hpp"
#include "common/pki/revocation.hpp"
#include "common/uuid.hpp"
#include "tests/support/delivery_check.hpp"
#include "tests/support/event_factory.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

double agent_metric(const PipelineEnv& env, const std::string& series) {
  return metric_value(env.agent(1).get("/metrics").body, series).value_or(-1);
}

}  // namespace

TEST_CASE("an agent reloaded with SIGHUP reconnects with its renewed certificate and loses or "
          "duplicates no event",
          "[integration][pki][tls_rotation]") {
  PipelineEnv env({.edit_agent = fast_agent_timers()});
  const std::string pki_dir = env.dir() + "/pki";
  // The broker checks the CA's CRL, as packaging/mosquitto/aisle-broker.conf does.
  REQUIRE(read_file(env.env().mosquitto_config).find("crlfile ") != std::string::npos);
  const std::string cert = pki_dir + "/" + pki::agent_file_name("store-1", "agent-1") + ".crt";
  const std::string key = pki_dir + "/" + pki::agent_file_name("store-1", "agent-1") + ".key";
  const std::string expiry_series =
      "aisle_agent_tls_certificate_expiry_seconds{file=\"" + cert + "\",kind=\"client\"}";
  const double expiry_before = agent_metric(env, expiry_series);
  INFO(env.agent(1).get("/metrics").body.substr(0, 200));
  REQUIRE(expiry_before > 0);
  auto old_cert = pki::read_cert_info(cert);
  REQUIRE(old_cert.ok());
  fs::copy_file(cert, env.dir() + "/old.crt");
  fs::copy_file(key, env.dir() + "/old.key");

  const EventFactory factory;
  UuidV7Generator ids;
  Producer producer(factory, ids,
                    {.url = env.env().agents[0].http,
                     .store_id = "store-1",
                     .threads = 2,
                     .events_per_request = 50,
                     .pause = milliseconds(20)});
  producer.start();
  REQUIRE(wait_until([&] { return producer.committed_so_far() >= 1000; }, seconds(30)));
  const double connects = agent_metric(env, "aisle_agent_mqtt_connects_total");

  // Renew in place (new key, longer validity), then revoke the old certificate at the broker.
  pki::IssueOptions renew;
  renew.kind = pki::CertKind::kAgent;
  renew.store_id = "store-1";
  renew.agent_id = "agent-1";
  renew.days = 400;
  renew.overwrite = true;
  REQUIRE(pki::issue(pki_dir, renew).ok());
  REQUIRE(pki::revoke(pki_dir, {old_cert->serial_hex, "superseded"}).ok());
  REQUIRE(env.signal("mosquitto", SIGHUP));
  mqtt::ClientOptions probe;
  probe.uri = env.env().mqtt;
  probe.client_id = "probe-old-certificate";
  probe.ca_file = env.env().ca_file;
  probe.cert_file = env.dir() + "/old.crt";
  probe.key_file = env.dir() + "/old.key";
  probe.persistent_session = false;
  probe.connect_timeout = seconds(3);
  // Once the broker reread its CRL the old certificate cannot connect: a reconnect that still
  // used it would fail from here on.
  REQUIRE(wait_until([&] { return !mqtt::MqttClient(probe).connect().ok(); }, seconds(10),
                     milliseconds(300)));

  REQUIRE(env.signal("agent-1", SIGHUP));
  CHECK(wait_until(
      [&] {
        return agent_metric(env, "aisle_agent_mqtt_connects_total") > connects &&
               agent_metric(env, "aisle_agent_mqtt_connected") == 1;
      },
      seconds(20)));
  CHECK(agent_metric(env, "aisle_agent_tls_reloads_total") == 1);
  CHECK(agent_metric(env, expiry_series) == Approx(400.0 * 86400).margin(600));
  const std::uint64_t after_reload = producer.committed_so_far();
  CHECK(wait_until([&] { return producer.committed_so_far() >= after_reload + 1000; },
                   seconds(30)));

  ProducerResult sent = producer.stop();
  CHECK(sent.unknown_ids.empty());
  require_delivered_exactly_once(env, sent.accepted_ids, sent.unknown_ids, {"store-1"});
  // The agent forwarded everything with the new certificate: no connect failure was needed.
  CHECK(agent_metric(env, "aisle_agent_mqtt_connect_failures_total") == 0);
}

}  // namespace aisle::test
