// The broker's access model against a real Mosquitto (tests/support/mosquitto_process): mutual TLS
// with the tenant CA, identities from certificate CNs, and the per-identity ACL of
// common/pki/broker_config.hpp. Denials are proved with a marker message: the broker handles one
// client's packets in order, so when the marker sent after a forbidden message has arrived, the
// forbidden one would have arrived before it.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/mqtt/mqtt_client.hpp"
#include "common/pki/pki.hpp"
#include "common/pki/revocation.hpp"
#include "common/process.hpp"
#include "common/wire/privacy.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/mosquitto_process.hpp"
#include "tests/support/mqtt_inbox.hpp"

namespace aisle {
namespace {

using namespace std::chrono_literals;
using test::MosquittoProcess;
using test::TlsIdentity;

const wire::AgentAddress kAgent1{"acme", "store-1", "agent-1"};
const wire::AgentAddress kAgent2{"acme", "store-2", "agent-2"};

using Inbox = test::MqttInbox;

// A connected client with an inbox.
struct Client {
  Client(const MosquittoProcess& broker, const TlsIdentity& identity, const std::string& id,
         bool persistent = false)
      : client(options(broker, identity, id, persistent)) {
    inbox.attach(client);
  }
  static mqtt::ClientOptions options(const MosquittoProcess& broker, const TlsIdentity& identity,
                                     const std::string& id, bool persistent) {
    auto o = broker.client_options(identity, id);
    o.persistent_session = persistent;
    return o;
  }
  mqtt::MqttClient client;
  Inbox inbox;
};

std::unique_ptr<Client> connect_collector(MosquittoProcess& broker) {
  auto collector = std::make_unique<Client>(broker, broker.collector(), "test-collector");
  REQUIRE(collector->client.connect().ok());
  REQUIRE(collector->client.subscribe(wire::shared_events_subscription("aisle-collectors")).ok());
  return collector;
}

// Speaks just enough MQTT 3.1.1 over TLS to see whether the broker answers CONNECT with an
// accepting CONNACK. Independent of Paho, so a refusal is the broker's, not a client-side error.
bool broker_accepts(const MosquittoProcess& broker, const std::string& cert_file,
                    const std::string& key_file) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  REQUIRE(ctx);
  REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), broker.ca_file().c_str(), nullptr) == 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!cert_file.empty()) {
    REQUIRE(SSL_CTX_use_certificate_file(ctx.get(), cert_file.c_str(), SSL_FILETYPE_PEM) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_ssl_connect(ctx.get()), &BIO_free_all);
  REQUIRE(bio);
  const std::string address = "127.0.0.1:" + std::to_string(broker.port());
  BIO_set_conn_hostname(bio.get(), address.c_str());
  bool accepted = false;
  if (BIO_do_connect(bio.get()) == 1 && BIO_do_handshake(bio.get()) == 1) {
    const std::string client_id = "probe";
    std::string connect = {
        0x10, static_cast<char>(12 + client_id.size()), 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60,
        0,    static_cast<char>(client_id.size())};
    connect += client_id;
    unsigned char connack[4] = {};
    if (BIO_write(bio.get(), connect.data(), static_cast<int>(connect.size())) ==
        static_cast<int>(connect.size())) {
      int got = 0;
      while (got < 4) {
        const int n = BIO_read(bio.get(), connack + got, 4 - got);
        if (n <= 0) break;
        got += n;
      }
      accepted = got == 4 && connack[0] == 0x20 && connack[3] == 0;
    }
  }
  ERR_clear_error();
  return accepted;
}

}  // namespace

TEST_CASE("an agent's message on its own events topic reaches the collector's shared subscription",
          "[integration][broker]") {
  MosquittoProcess broker;
  auto collector = connect_collector(broker);
  Client agent(broker, broker.agent("store-1", "agent-1"), "aisle-agent-store-1-agent-1");
  REQUIRE(agent.client.connect().ok());

  REQUIRE(agent.client.publish_and_wait(wire::events_topic(kAgent1), "batch-1", 5s).ok());

  REQUIRE(collector->inbox.wait_for("batch-1"));
  CHECK(collector->inbox.messages().front().topic == "aisle/v1/acme/store-1/agent-1/events");
}

TEST_CASE("an agent's message on another store's events topic never reaches the collector",
          "[integration][broker]") {
  MosquittoProcess broker;
  auto collector = connect_collector(broker);
  Client agent(broker, broker.agent("store-1", "agent-1"), "aisle-agent-store-1-agent-1");
  REQUIRE(agent.client.connect().ok());

  (void)agent.client.publish_and_wait(wire::events_topic(kAgent2), "forged", 5s);
  (void)agent.client.publish_and_wait(wire::events_topic({"other-tenant", "store-1", "agent-1"}),
                                      "other-tenant", 5s);
  REQUIRE(agent.client.publish_and_wait(wire::events_topic(kAgent1), "marker", 5s).ok());

  REQUIRE(collector->inbox.wait_for("marker"));
  CHECK_FALSE(collector->inbox.has("forged"));
  CHECK_FALSE(collector->inbox.has("other-tenant"));
  CHECK(broker.log_text().find("Denied PUBLISH") != std::string::npos);
}

TEST_CASE("a client without a certificate is refused by the broker", "[integration][broker]") {
  MosquittoProcess broker;
  const TlsIdentity agent = broker.agent("store-1", "agent-1");
  REQUIRE(broker_accepts(broker, agent.cert_file, agent.key_file));  // the probe itself works

  CHECK_FALSE(broker_accepts(broker, "", ""));
}

TEST_CASE("a client whose certificate comes from another CA is refused by the broker",
          "[integration][broker]") {
  MosquittoProcess broker;
  const TlsIdentity foreign = broker.foreign_agent();  // same CN as agent-1, other issuer

  CHECK_FALSE(broker_accepts(broker, foreign.cert_file, foreign.key_file));
  mqtt::MqttClient client(broker.client_options(foreign, "aisle-agent-store-1-agent-1"));
  CHECK_FALSE(client.connect().ok());
}

TEST_CASE("an agent receives its own acks but not another agent's", "[integration][broker]") {
  MosquittoProcess broker;
  auto collector = connect_collector(broker);
  Client agent1(broker, broker.agent("store-1", "agent-1"), "aisle-agent-store-1-agent-1");
  Client agent2(broker, broker.agent("store-2", "agent-2"), "aisle-agent-store-2-agent-2");
  REQUIRE(agent1.client.connect().ok());
  REQUIRE(agent2.client.connect().ok());
  REQUIRE(agent1.client.subscribe(wire::acks_topic(kAgent1)).ok());
  REQUIRE(agent1.client.subscribe(wire::downlink_topic(kAgent1, "#")).ok());
  // Mosquitto 2.0 grants every SUBSCRIBE; the ACL is applied to each delivery instead.
  REQUIRE(agent1.client.subscribe(wire::acks_topic(kAgent2)).ok());
  REQUIRE(agent2.client.subscribe(wire::acks_topic(kAgent2)).ok());

  REQUIRE(collector->client.publish_and_wait(wire::acks_topic(kAgent2), "ack-for-2", 5s).ok());
  REQUIRE(collector->client.publish_and_wait(wire::downlink_topic(kAgent1, "config"), "down-1", 5s)
              .ok());
  REQUIRE(collector->client.publish_and_wait(wire::acks_topic(kAgent1), "ack-for-1", 5s).ok());

  REQUIRE(agent1.inbox.wait_for("ack-for-1"));
  CHECK(agent1.inbox.has("down-1"));
  CHECK_FALSE(agent1.inbox.has("ack-for-2"));
  CHECK(agent2.inbox.wait_for("ack-for-2"));
}

TEST_CASE("an agent cannot forge acks or subscribe the collector's events",
          "[integration][broker]") {
  MosquittoProcess broker;
  auto collector = connect_collector(broker);
  Client agent1(broker, broker.agent("store-1", "agent-1"), "aisle-agent-store-1-agent-1");
  Client agent2(broker, broker.agent("store-2", "agent-2"), "aisle-agent-store-2-agent-2");
  REQUIRE(agent1.client.connect().ok());
  REQUIRE(agent2.client.connect().ok());
  REQUIRE(agent1.client.subscribe(wire::acks_topic(kAgent1)).ok());
  REQUIRE(agent1.client.subscribe("aisle/v1/+/+/+/events").ok());

  (void)agent2.client.publish_and_wait(wire::acks_topic(kAgent1), "forged-ack", 5s);
  REQUIRE(agent2.client.publish_and_wait(wire::events_topic(kAgent2), "events-2", 5s).ok());
  REQUIRE(collector->client.publish_and_wait(wire::acks_topic(kAgent1), "real-ack", 5s).ok());

  REQUIRE(agent1.inbox.wait_for("real-ack"));
  REQUIRE(collector->inbox.wait_for("events-2"));
  CHECK_FALSE(agent1.inbox.has("forged-ack"));
  CHECK_FALSE(agent1.inbox.has("events-2"));
}

TEST_CASE("the broker keeps an offline agent's acks across a restart", "[integration][broker]") {
  MosquittoProcess broker;
  const TlsIdentity identity = broker.agent("store-1", "agent-1");
  {
    Client agent(broker, identity, "aisle-agent-store-1-agent-1", /*persistent=*/true);
    REQUIRE(agent.client.connect().ok());
    REQUIRE(agent.client.subscribe(wire::acks_topic(kAgent1)).ok());
    agent.client.disconnect();
  }
  {
    auto collector = connect_collector(broker);
    REQUIRE(collector->client.publish_and_wait(wire::acks_topic(kAgent1), "queued-ack", 5s).ok());
  }

  SECTION("after a clean stop") {
    REQUIRE(broker.stop().ok());
  }
  SECTION("after kill -9, once a snapshot was written") {
    std::this_thread::sleep_for(2500ms);  // autosave_interval is 1 s
    REQUIRE(broker.kill9().ok());
  }
  REQUIRE_FALSE(broker.running());
  REQUIRE(broker.start().ok());

  Client agent(broker, identity, "aisle-agent-store-1-agent-1", /*persistent=*/true);
  REQUIRE(agent.client.connect().ok());
  CHECK(agent.client.session_present());
  CHECK(agent.inbox.wait_for("queued-ack"));
}


// Consent changes and erasures reach every agent on the tenant's broadcast topics; only the
// collector may publish there (an agent forging an erasure or a consent change for the whole
// fleet is refused by the broker), and an agent's uplink is its own.
TEST_CASE("only the collector broadcasts, and an agent's uplink is its own",
          "[integration][broker][privacy]") {
  MosquittoProcess broker;
  Client collector(broker, broker.collector(), "test-collector");
  REQUIRE(collector.client.connect().ok());
  REQUIRE(collector.client.subscribe(wire::shared_uplink_subscription("g", "erasure_receipt")).ok());
  Client agent1(broker, broker.agent("store-1", "agent-1"), "aisle-agent-store-1-agent-1");
  Client agent2(broker, broker.agent("store-2", "agent-2"), "aisle-agent-store-2-agent-2");
  REQUIRE(agent1.client.connect().ok());
  REQUIRE(agent2.client.connect().ok());
  REQUIRE(agent1.client.subscribe(wire::broadcast_topic("acme", "erasure")).ok());

  // Forged by agent 2: a fleet-wide erasure, and a receipt in agent 1's name.
  (void)agent2.client.publish_and_wait(wire::broadcast_topic("acme", "erasure"), "forged-erasure",
                                       5s);
  (void)agent2.client.publish_and_wait(wire::uplink_topic(kAgent1, "erasure_receipt"),
                                       "forged-receipt", 5s);
  // Genuine: the collector's broadcast and agent 2's own receipt (sent after the forgeries:
  // the broker handles one client's packets in order).
  REQUIRE(collector.client
              .publish_and_wait(wire::broadcast_topic("acme", "erasure"), "real-erasure", 5s)
              .ok());
  REQUIRE(agent2.client
              .publish_and_wait(wire::uplink_topic(kAgent2, "erasure_receipt"), "real-receipt", 5s)
              .ok());
  CHECK(agent1.inbox.wait_for("real-erasure"));
  CHECK(collector.inbox.wait_for("real-receipt"));
  CHECK_FALSE(agent1.inbox.has("forged-erasure"));
  CHECK_FALSE(collector.inbox.has("forged-receipt"));
}

// Revocation and expiry (docs/operations.md): a revoked agent certificate is refused in the TLS
// handshake once the broker has reread the CRL, while the rest of the fleet keeps connecting; an
// expired certificate from the right CA is refused too.
TEST_CASE("a revoked and an expired certificate are refused by the broker",
          "[integration][broker][pki]") {
  MosquittoProcess broker;
  const test::TlsIdentity doomed = broker.agent("store-9", "agent-9");
  const test::TlsIdentity healthy = broker.agent("store-1", "agent-1");
  REQUIRE(broker_accepts(broker, doomed.cert_file, doomed.key_file));

  auto revoked = pki::revoke(broker.pki_dir(), {"agent_store-9_agent-9", "key_compromise"});
  REQUIRE(revoked);
  auto again = pki::revoke(broker.pki_dir(), {revoked->serial_hex, "key_compromise"});
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::kAlreadyExists);
  // Mosquitto 2.0 rereads certificates and the CRL on SIGHUP; a restart proves the file itself.
  REQUIRE(broker.stop());
  REQUIRE(broker.start());
  CHECK_FALSE(broker_accepts(broker, doomed.cert_file, doomed.key_file));
  CHECK(broker_accepts(broker, healthy.cert_file, healthy.key_file));

  pki::IssueOptions expired;
  expired.kind = pki::CertKind::kAgent;
  expired.store_id = "store-8";
  expired.agent_id = "agent-8";
  const UnixMillis now = SystemClock::instance()->now_unix_ms();
  expired.not_before = now - 10LL * 86400 * 1000;
  expired.not_after = now - 86400 * 1000;
  auto issued = pki::issue(broker.pki_dir(), expired);
  REQUIRE(issued);
  CHECK_FALSE(broker_accepts(broker, issued->cert_path, issued->key_path));
}

}  // namespace aisle
