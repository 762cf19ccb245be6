// The collector's configuration (one JSON-with-comments file, checked against
// collector/config_schema.json; every key documented in packaging/config/collector.example.json).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/privacy/privacy_hooks.hpp"
#include "collector/profiles/identity_rules.hpp"
#include "collector/store/retention_job.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/http/http_server.hpp"
#include "common/log.hpp"
#include "common/mqtt/mqtt_client.hpp"
#include "common/pki/tls_file_watch.hpp"
#include "common/result.hpp"
#include "common/wire/batch.hpp"

namespace aisle::collector {

std::string_view config_schema_text();

struct ApiKey {
  std::string name;    // the source (write keys) or operator (admin keys)
  std::string sha256;  // hex digest of the key; the key itself is never stored
  std::string scope;   // admin keys: "read" or "admin"; write keys: ""
  std::string store_id;  // write keys: events must claim this store ("" = any)
};

struct CollectorConfig {
  std::string tenant;
  std::string collector_id = "collector-1";
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kLogfmt;

  http::ServerOptions http;  // default listen 127.0.0.1:8780
  std::size_t max_events_per_request = 10000;

  std::string schemas_builtin_dir;
  std::vector<std::string> schemas_extra_dirs;
  std::size_t max_event_bytes = 64 * 1024;
  std::size_t max_depth = 64;
  std::set<std::string, std::less<>> custom_identity_types;

  SqliteEventStoreOptions store;
  // store.events_retention, quarantine_retention, retention_interval, retention_batch_rows,
  // retention_pause.
  RetentionOptions retention;

  mqtt::ClientOptions mqtt;
  // Renewal and expiry of the mqtt TLS files and the fleet CRL (section `tls`,
  // pki::parse_tls_watch_options).
  pki::TlsWatchOptions tls;
  std::string share_group = "aisle-collectors";
  // Reconnect backoff cap. Short: a few collectors create no thundering herd, and while none is
  // subscribed Mosquitto drops the agents' batches for the shared subscription (agents resend them
  // only after their ack timeout).
  std::chrono::milliseconds reconnect_max{5000};

  std::size_t queue_batches = 64;  // bounded ingest queue: full = backpressure, not loss
  std::size_t ingest_workers = 2;  // decode/validate threads (JSON parsing is the costly part)
  wire::DecodeLimits batch_limits;

  std::vector<ApiKey> write_keys;
  std::vector<ApiKey> admin_keys;

  std::chrono::milliseconds shutdown_grace{10000};
  bool watchdog = true;

  // Identity resolution (docs/profiles.md). Paths default to files next to store.path.
  struct Profiles {
    std::string path;
    bool synchronous_full = false;
    std::size_t last_events = 20;
    std::size_t history_limit = 100;
    std::size_t max_unmerge_events = 100000;
    profiles::IdentityRules rules = profiles::IdentityRules::defaults();
    CorruptStorePolicy corruption{OnCorrupt::kMoveAside, StartupCheck::kHeader};
  } profiles;

  // Consent policy, consent sync and erasure (docs/privacy.md).
  struct Privacy {
    PrivacyPolicy policy;
    std::size_t consent_sync_page = 1000;
    std::string erasures_path;
    std::chrono::milliseconds erasure_rebroadcast{5 * 60 * 1000};
    std::string fleet_ca_file;  // verifies agents' erasure receipts; default mqtt.ca_file
    // The fleet CA's CRL (`aislectl pki crl`): receipts signed by a revoked agent are refused.
    // Empty: no revocation check.
    std::string fleet_crl_file;
    int ipv4_prefix = 24;  // web/mobile client IPs kept to this many bits
    int ipv6_prefix = 48;
  } privacy;

  std::string audit_path;  // hash-chained audit log; default next to store.path

  // The directory of store.path: where the other databases default to.
  std::string data_dir;
  // Sections parsed by their components (collector/segment_stack, collector/recs_stack), kept
  // raw here so each component owns its defaults and error messages.
  nlohmann::json segments = nlohmann::json::object();
  nlohmann::json recs = nlohmann::json::object();

  // The dashboard at /ui (docs/dashboard.md).
  struct Dashboard {
    bool enabled = true;
    bool public_data = false;  // /v1/dashboard without an admin key (trusted networks only)
    std::chrono::milliseconds step{10000};
    std::size_t steps = 90;
    std::size_t max_series = 256;
  } dashboard;

  std::vector<std::string> schema_dirs() const;
};

Result<CollectorConfig> load_collector_config(const std::string& path);
Result<CollectorConfig> parse_collector_config(std::string_view text, std::string_view origin);

}  // namespace aisle::collector
