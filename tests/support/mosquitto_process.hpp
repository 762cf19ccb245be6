// MosquittoProcess: a real Mosquitto broker for integration and fault tests, configured exactly as
// `aislectl devenv` configures it (common/pki/broker_config.hpp): a temporary tenant PKI, one
// mutual-TLS listener on a free loopback port, the per-identity ACL, persistence.
//
//   aisle::test::MosquittoProcess broker;              // started and ready, or throws
//   auto agent = broker.agent("store-1", "agent-1");   // ca/cert/key paths of that identity
//   aisle::mqtt::MqttClient client(broker.client_options(agent, "test-agent"));
//   broker.kill9(); broker.start();                    // outage; same port, same persistence
//
// The broker binary is AISLE_MOSQUITTO (set by the test build), else $AISLE_MOSQUITTO, else
// /usr/sbin/mosquitto. Everything lives in one temporary directory removed by the destructor,
// which also stops the broker. Not thread-safe: drive it from the test's thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/mqtt/mqtt_client.hpp"
#include "common/pki/broker_config.hpp"
#include "common/result.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {

// Files a client presents in mutual TLS.
struct TlsIdentity {
  std::string ca_file;    // the CA the client trusts (the broker's issuer)
  std::string cert_file;  // the client's certificate
  std::string key_file;
  std::string common_name;  // = the broker username
};

struct MosquittoOptions {
  std::string tenant = "acme";
  // Identities issued up front and granted by the ACL.
  std::vector<pki::BrokerAgent> agents{{"store-1", "agent-1"}, {"store-2", "agent-2"}};
  std::vector<std::string> collectors{"collector-1"};
  // Snapshot interval: 1 s so a kill9() loses at most about a second of broker state.
  int autosave_interval_s = 1;
  // Log every packet ("Denied PUBLISH ..." shows up in log_text()).
  bool verbose_log = true;
};

class MosquittoProcess {
 public:
  // Creates the PKI and configuration, starts the broker and waits until its port accepts
  // connections. Throws std::runtime_error (with the broker log) when it does not come up.
  explicit MosquittoProcess(MosquittoOptions options = {});
  ~MosquittoProcess();
  MosquittoProcess(const MosquittoProcess&) = delete;
  MosquittoProcess& operator=(const MosquittoProcess&) = delete;

  // Starts the broker again (no-op when running) on the same port with the same persistence.
  Status start();
  // SIGTERM: Mosquitto writes its persistence file and exits.
  Status stop();
  // SIGKILL: an outage without a final snapshot.
  Status kill9();
  bool running() const;
  pid_t pid() const { return pid_; }

  int port() const { return port_; }
  std::string uri() const;  // "ssl://127.0.0.1:<port>"
  const std::string& tenant() const { return options_.tenant; }
  std::string ca_file() const;
  std::string pki_dir() const;
  std::string log_file() const;
  std::string log_text() const;

  // An agent's identity; one not in the options is issued on demand (it can connect, but the ACL
  // grants it nothing until add_agent()).
  TlsIdentity agent(const std::string& store_id, const std::string& agent_id);
  TlsIdentity collector(const std::string& name = "collector-1");
  // A certificate with the CN of agent store-1/agent-1 but from a different CA: must be refused.
  TlsIdentity foreign_agent();
  // Grants an agent in the ACL (issuing its certificate if needed) and makes the running broker
  // reload the ACL (SIGHUP).
  Status add_agent(const std::string& store_id, const std::string& agent_id);

  // Client options for common/mqtt: this broker, that identity, MQTT 5, clean session.
  mqtt::ClientOptions client_options(const TlsIdentity& identity,
                                     const std::string& client_id) const;

 private:
  Status write_acl();
  TlsIdentity identity_for(const std::string& cert_file, const std::string& key_file,
                           const std::string& common_name) const;

  MosquittoOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::string mosquitto_;
  std::string config_file_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace aisle::test
