// The production broker configuration (packaging/mosquitto/aisle-broker.conf) against a real
// Mosquitto: the shipped file with only its paths and port substituted, and the ACL written by
// `aislectl pki acl` from the CA's index. An agent publishes to its own events topic, is denied
// another store's (and cannot read another store's acks); the collector reads every store's
// events; an identity revoked after the ACL was written loses its rules with the next
// `aislectl pki acl`, and fails the handshake through the shipped `crlfile`.
// Denials are proved with a marker sent after the forbidden message (see broker_tls_test.cpp).
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "common/mqtt/mqtt_client.hpp"
#include "common/pki/pki.hpp"
#include "common/pki/revocation.hpp"
#include "common/process.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/mqtt_inbox.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string source_dir() {
  return fs::path(AISLE_TEST_DATA_DIR).parent_path().parent_path().string();
}

std::string current_user() {
  const passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : "root";
}

// A Mosquitto running packaging/mosquitto/aisle-broker.conf with its /etc and /var paths moved
// into a temporary directory. Stopped by the destructor.
class StaticBroker {
 public:
  StaticBroker() {
    REQUIRE(pki::init_ca(pki_dir(), {"acme", 30}).ok());
    pki::IssueOptions server;
    server.kind = pki::CertKind::kServer;
    server.name = "localhost";
    auto server_cert = pki::issue(pki_dir(), server);
    REQUIRE(server_cert.ok());
    fs::create_directories(dir_.file("etc"));
    fs::copy_file(pki::ca_cert_path(pki_dir()), dir_.file("etc/ca.crt"));
    fs::copy_file(server_cert->cert_path, dir_.file("etc/server.crt"));
    fs::copy_file(server_cert->key_path, dir_.file("etc/server.key"));
    issue_collector("collector-1");
    issue_agent("store-1", "agent-1");
    issue_agent("store-2", "agent-2");
    REQUIRE(pki::write_crl(pki_dir()).ok());
    fs::copy_file(pki::crl_path(pki_dir()), dir_.file("etc/ca.crl"));
    REQUIRE(write_acl());

    auto port = find_free_port();
    REQUIRE(port.ok());
    port_ = *port;
    fs::create_directories(dir_.file("data"));
    std::string conf = read_file(source_dir() + "/packaging/mosquitto/aisle-broker.conf");
    shipped_ = conf;
    conf = std::regex_replace(conf, std::regex("/etc/mosquitto/aisle/"), dir_.file("etc") + "/");
    conf = std::regex_replace(conf, std::regex("/var/lib/mosquitto/"), dir_.file("data") + "/");
    conf = std::regex_replace(conf, std::regex("\nlistener 8883\n"),
                              "\nlistener " + std::to_string(port_) + " 127.0.0.1\n");
    // Run as this user (root would otherwise switch to "mosquitto", who cannot read the temp
    // files) and log every packet, for the denial lines.
    conf += "user " + current_user() + "\nlog_type all\n";
    config_ = dir_.file("mosquitto.conf");
    write_file(config_, conf);

    SpawnOptions spawn_options;
    spawn_options.argv = {AISLE_MOSQUITTO, "-c", config_};
    spawn_options.log_file = log_file();
    auto pid = spawn(spawn_options);
    REQUIRE(pid.ok());
    pid_ = *pid;
    const bool up = wait_for_tcp("127.0.0.1", port_, 10s).ok();
    INFO(tail_file(log_file(), 30));
    if (!up) (void)terminate(pid_, 5s);
    REQUIRE(up);
  }
  ~StaticBroker() { (void)terminate(pid_, 5s); }

  std::string pki_dir() const { return dir_.file("pki"); }
  std::string log_file() const { return dir_.file("mosquitto.log"); }
  const std::string& shipped() const { return shipped_; }

  // The ACL exactly as an operator writes it: the installed CLI on the CA directory.
  bool write_acl() {
    const CommandResult acl = run_command({std::string(AISLE_BINARY_DIR) + "/aislectl", "pki",
                                           "acl", pki_dir(), "--out", dir_.file("etc/aisle.acl")});
    INFO(acl.output);
    CHECK(acl.exit_code == 0);
    return acl.exit_code == 0;
  }
  void reload() {
    REQUIRE(kill(pid_, SIGHUP) == 0);
    std::this_thread::sleep_for(500ms);  // Mosquitto reloads in its main loop
  }

  void issue_agent(const std::string& store, const std::string& agent) {
    pki::IssueOptions options;
    options.kind = pki::CertKind::kAgent;
    options.store_id = store;
    options.agent_id = agent;
    REQUIRE(pki::issue(pki_dir(), options).ok());
  }
  void issue_collector(const std::string& name) {
    pki::IssueOptions options;
    options.kind = pki::CertKind::kCollector;
    options.name = name;
    REQUIRE(pki::issue(pki_dir(), options).ok());
  }
  mqtt::ClientOptions options(const std::string& file_base, const std::string& client_id) const {
    mqtt::ClientOptions o;
    o.uri = "ssl://127.0.0.1:" + std::to_string(port_);
    o.client_id = client_id;
    o.ca_file = pki::ca_cert_path(pki_dir());
    o.cert_file = pki_dir() + "/" + file_base + ".crt";
    o.key_file = pki_dir() + "/" + file_base + ".key";
    o.persistent_session = false;
    return o;
  }

 private:
  TempDir dir_{"aisle-static-broker"};
  std::string config_;
  std::string shipped_;
  int port_ = 0;
  pid_t pid_ = -1;
};

struct Client {
  explicit Client(mqtt::ClientOptions options) : client(std::move(options)) {
    inbox.attach(client);
  }
  mqtt::MqttClient client;
  MqttInbox inbox;
};

const wire::AgentAddress kAgent1{"acme", "store-1", "agent-1"};
const wire::AgentAddress kAgent2{"acme", "store-2", "agent-2"};

}  // namespace

TEST_CASE("the shipped broker configuration requires TLS 1.2+, client certificates and a CRL",
          "[integration][packaging][broker]") {
  StaticBroker broker;
  for (const char* line :
       {"\nallow_anonymous false\n", "\nlistener 8883\n", "\ntls_version tlsv1.2\n",
        "\nrequire_certificate true\n", "\nuse_identity_as_username true\n",
        "\ncrlfile /etc/mosquitto/aisle/ca.crl\n", "\nacl_file /etc/mosquitto/aisle/aisle.acl\n",
        "\npersistence true\n"}) {
    INFO(line);
    CHECK(broker.shipped().find(line) != std::string::npos);
  }
  // Without a client certificate: no connection.
  mqtt::ClientOptions anonymous = broker.options("agent_store-1_agent-1", "anonymous");
  anonymous.cert_file.clear();
  anonymous.key_file.clear();
  mqtt::MqttClient nobody(anonymous);
  CHECK_FALSE(nobody.connect().ok());
}

TEST_CASE("with the shipped broker configuration an agent publishes only to its own store's "
          "topics and the collector reads every store's",
          "[integration][packaging][broker]") {
  StaticBroker broker;
  Client collector(broker.options("collector_collector-1", "collector-1"));
  REQUIRE(collector.client.connect().ok());
  REQUIRE(collector.client.subscribe("aisle/v1/acme/+/+/events").ok());
  Client agent1(broker.options("agent_store-1_agent-1", "agent-1"));
  REQUIRE(agent1.client.connect().ok());
  REQUIRE(agent1.client.subscribe(wire::acks_topic(kAgent1)).ok());
  REQUIRE(agent1.client.subscribe(wire::acks_topic(kAgent2)).ok());  // granted, never delivered
  Client agent2(broker.options("agent_store-2_agent-2", "agent-2"));
  REQUIRE(agent2.client.connect().ok());

  // Own events topic: the collector receives it.
  REQUIRE(agent1.client.publish_and_wait(wire::events_topic(kAgent1), "own-1", 5s).ok());
  CHECK(collector.inbox.wait_for("own-1"));
  // Another store's events topic: denied (the marker after it arrives, it does not).
  (void)agent1.client.publish_and_wait(wire::events_topic(kAgent2), "forged-store-2", 5s);
  REQUIRE(agent1.client.publish_and_wait(wire::events_topic(kAgent1), "marker-1", 5s).ok());
  REQUIRE(collector.inbox.wait_for("marker-1"));
  CHECK_FALSE(collector.inbox.has("forged-store-2"));
  // The collector reads the other store too.
  REQUIRE(agent2.client.publish_and_wait(wire::events_topic(kAgent2), "own-2", 5s).ok());
  CHECK(collector.inbox.wait_for("own-2"));

  // Acks: the collector writes both; agent 1 reads only its own.
  REQUIRE(collector.client.publish_and_wait(wire::acks_topic(kAgent2), "ack-for-2", 5s).ok());
  REQUIRE(collector.client.publish_and_wait(wire::acks_topic(kAgent1), "ack-for-1", 5s).ok());
  REQUIRE(agent1.inbox.wait_for("ack-for-1"));
  CHECK_FALSE(agent1.inbox.has("ack-for-2"));
  // An agent cannot write acks (it could forge the collector's commit).
  (void)agent2.client.publish_and_wait(wire::acks_topic(kAgent1), "forged-ack", 5s);
  REQUIRE(collector.client.publish_and_wait(wire::acks_topic(kAgent1), "ack-marker", 5s).ok());
  REQUIRE(agent1.inbox.wait_for("ack-marker"));
  CHECK_FALSE(agent1.inbox.has("forged-ack"));
}

TEST_CASE("with the shipped broker configuration a revoked agent is refused after the ACL and "
          "CRL are rewritten and the broker reloaded",
          "[integration][packaging][broker]") {
  StaticBroker broker;
  const CommandResult revoke =
      run_command({std::string(AISLE_BINARY_DIR) + "/aislectl", "pki", "revoke", broker.pki_dir(),
                   "agent_store-2_agent-2", "--reason", "key_compromise"});
  INFO(revoke.output);
  REQUIRE(revoke.exit_code == 0);
  // The broker reads the CRL from its own directory: copy it where the config points.
  fs::copy_file(pki::crl_path(broker.pki_dir()),
                fs::path(broker.log_file()).parent_path() / "etc" / "ca.crl",
                fs::copy_options::overwrite_existing);
  REQUIRE(broker.write_acl());
  const std::string acl =
      read_file(fs::path(broker.log_file()).parent_path() / "etc" / "aisle.acl");
  CHECK(acl.find("user agent:store-1:agent-1\n") != std::string::npos);
  CHECK(acl.find("agent:store-2:agent-2") == std::string::npos);
  broker.reload();
  mqtt::MqttClient revoked(broker.options("agent_store-2_agent-2", "agent-2"));
  CHECK_FALSE(revoked.connect().ok());
  mqtt::MqttClient valid(broker.options("agent_store-1_agent-1", "agent-1"));
  CHECK(valid.connect().ok());
}

}  // namespace aisle::test
