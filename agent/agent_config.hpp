// The agent's configuration (one JSON-with-comments file, checked against
// agent/config_schema.json; every key documented in packaging/config/agent.example.json).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/outbox/outbox.hpp"
#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/privacy/privacy_options.hpp"
#include "common/http/http_server.hpp"
#include "common/log.hpp"
#include "common/mqtt/mqtt_client.hpp"
#include "common/pki/tls_file_watch.hpp"
#include "common/result.hpp"

namespace aisle::agent {

// The embedded JSON Schema (agent/config_schema.json).
std::string_view config_schema_text();

struct ForwarderOptions {
  std::uint32_t batch_max_events = 2000;
  std::uint64_t batch_max_bytes = 1024 * 1024;
  std::chrono::milliseconds linger{5};  // wait this long for a fuller batch (BENCHMARKS.md)
  std::uint32_t window = 8;              // batches in flight awaiting the collector's ack
  std::chrono::milliseconds ack_timeout{30000};  // resend a batch not acked within this
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{60000};
  int zstd_level = 1;
};

// One firmware adapter (docs/adapters.md): a transport that takes frames from a device and a
// decoder that turns them into events. `transport` and `decoder` are kept as JSON: their keys are
// checked by make_transport() / make_decoder() when the agent is built.
struct AdapterConfig {
  std::string name;       // unique; in logs, metrics (adapter="...") and quarantine origins
  std::string device_id;  // stamped into source.device_id; default: the name
  bool enabled = true;
  nlohmann::json transport = nlohmann::json::object();  // {"type": "tcp", ...}
  nlohmann::json decoder = nlohmann::json::object();    // {"type": "people_counter", ...}
};

struct AgentConfig {
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kLogfmt;

  http::ServerOptions http;  // default listen 127.0.0.1:8680
  std::size_t max_events_per_request = 10000;

  std::string schemas_builtin_dir;  // default: the installed schemas
  std::vector<std::string> schemas_extra_dirs;
  std::size_t max_event_bytes = 64 * 1024;
  std::size_t max_depth = 64;
  std::set<std::string, std::less<>> custom_identity_types;

  SqliteOutboxOptions outbox;
  std::chrono::milliseconds maintenance_interval{30000};
  std::set<std::string, std::less<>> critical_types;
  std::set<std::string, std::less<>> bulk_types;

  mqtt::ClientOptions mqtt;
  // Renewal and expiry of the mqtt TLS files (section `tls`, pki::parse_tls_watch_options).
  pki::TlsWatchOptions tls;
  ForwarderOptions forwarder;

  std::vector<AdapterConfig> adapters;

  // Pseudonymization, IP truncation, data minimization, consent policy (docs/privacy.md).
  privacy::PrivacyOptions privacy;

  // Sections parsed by their components (agent/recs, agent/segments), kept raw here so the
  // component owns its defaults and error messages.
  nlohmann::json recommendations = nlohmann::json::object();
  nlohmann::json segments = nlohmann::json::object();

  std::chrono::milliseconds shutdown_grace{10000};
  bool watchdog = true;

  std::vector<std::string> schema_dirs() const;
};

// Loads and validates the file. Errors name the file and each failing key.
Result<AgentConfig> load_agent_config(const std::string& path);
Result<AgentConfig> parse_agent_config(std::string_view text, std::string_view origin);

}  // namespace aisle::agent
