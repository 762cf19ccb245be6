// A complete local Aisle environment in one directory: a tenant PKI, a Mosquitto broker with
// mutual TLS and the production ACL, one collector and N store agents, all on free loopback
// ports. `aislectl devenv` is the command line; integration tests drive the same functions
// in-process (docs/devenv.md).
//
// Layout of DIR (every path written into configs is absolute):
//   env.json                    what a client needs: ports, URLs, keys, config paths
//   pki/                        CA, broker server cert, collector cert, one cert per agent
//   mosquitto/mosquitto.conf    mosquitto/acl    mosquitto/data/ (persistence)
//   collector.json  agent-<i>.json
//   data/                       collector.db, agent-<i>.db
//   run/<part>.pid  log/<part>.log
//
// The functions block (process start-up and shutdown) and are meant for one caller at a time per
// directory.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/sim/agent_devices.hpp"
#include "common/sim/catalog.hpp"

namespace aisle::ctl {

struct DevEnvAgent {
  std::string store_id;  // store-<i>
  std::string agent_id;  // agent-<i>
  std::string http;      // "http://127.0.0.1:<port>"
  std::string config;    // DIR/agent-<i>.json
  // The store's simulated devices, when the environment has them (DevEnvInitOptions::devices):
  // the agent's five adapters listen or tail here, and `aislectl simulate --env` sends here.
  std::optional<sim::DeviceEndpoints> devices;
};

// The contents of DIR/env.json.
struct DevEnv {
  std::string dir;  // absolute
  std::string tenant;
  std::string mqtt;  // "ssl://127.0.0.1:<port>"
  int mqtt_port = 0;
  std::string collector_http;  // "http://127.0.0.1:<port>"
  std::string write_key;       // plaintext; the collector config holds only its SHA-256
  std::string admin_key;       // plaintext; likewise
  std::string ca_file;
  std::vector<DevEnvAgent> agents;
  std::string collector_config;
  std::string mosquitto_config;
  // With devices: the POS decoders' loyalty_key (also what simulated kiosks and the web use for
  // loyalty ids), the seed of the catalog both the adapters' options and the simulator derive
  // from (its options), and the simulator speed-up the decoders' timers are set for (docs/simulator.md).
  std::string loyalty_key;
  sim::CatalogOptions catalog;
  double device_speed = 1;
};

nlohmann::json devenv_to_json(const DevEnv& env);
Result<DevEnv> devenv_from_json(const nlohmann::json& json);

struct DevEnvInitOptions {
  int stores = 1;  // one agent per store
  std::string tenant = "acme";
  // Replace an existing environment (refused while any of its processes runs). Removes its PKI,
  // configs, data and logs first.
  bool force = false;
  // Give every agent the five device adapters of a simulated store (POS and door counters on
  // TCP, the BLE gateway on UDP, RFID and weight shelves tailing files under DIR/devices/).
  bool devices = false;
  sim::CatalogOptions catalog;  // the assortment and layout (seed and sizes)
  double device_speed = 1;  // the simulator's --speed the decoders' timers are scaled for
};

// Writes everything under `dir` (created if needed). kAlreadyExists when DIR/env.json exists and
// !force; kFailedPrecondition when forcing while parts still run.
Result<DevEnv> devenv_init(const std::string& dir, const DevEnvInitOptions& options);

// Reads DIR/env.json.
Result<nlohmann::json> read_env(const std::string& dir);
Result<DevEnv> read_devenv(const std::string& dir);

struct DevEnvUpOptions {
  // Where aisle-collector and aisle-agent are; empty: the directory of the running executable.
  std::string bin_dir;
  // Empty: $AISLE_MOSQUITTO, else /usr/sbin/mosquitto.
  std::string mosquitto;
  // Per part: how long to wait for its port (broker) or GET /healthz == 200 (daemons).
  std::chrono::milliseconds ready_timeout{20000};
};

struct DevEnvDownOptions {
  // SIGTERM, then SIGKILL after this long.
  std::chrono::milliseconds grace{10000};
};

// One process of the environment.
struct PartState {
  std::string name;        // "mosquitto", "collector", "agent-<i>"
  std::optional<int> pid;  // running (its pid file names a live process running its config)
  bool ready = false;      // port accepts / healthz is 200
  std::string endpoint;    // what readiness is probed on
  std::string log_file;
};

// Starts, in order, the broker, the collector and the agents that are not already running, and
// waits until each is ready before starting the next. On failure the part that did not come up
// is stopped and the error names it and quotes the tail of its log; parts that did come up are
// left running (a later devenv_up starts only what is missing).
Status devenv_up(const std::string& dir, const DevEnvUpOptions& options = {});

// Stops the agents, then the collector, then the broker; removes their pid files.
Status devenv_down(const std::string& dir, const DevEnvDownOptions& options = {});

Result<std::vector<PartState>> devenv_status(const std::string& dir);

}  // namespace aisle::ctl
