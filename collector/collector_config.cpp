#include "collector/collector_config.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config.hpp"
#include "common/http/server_config.hpp"
#include "common/pki/tls_file_watch.hpp"
#include "common/schema/registry.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

// `on_corrupt` / `startup_check` of a database section (docs/storage.md, "Damaged files"); the
// schema has checked the spelling.
CorruptStorePolicy corruption_policy(const json& section, CorruptStorePolicy policy) {
  policy.on_corrupt =
      parse_on_corrupt(section.value("on_corrupt", "move_aside")).value_or(policy.on_corrupt);
  policy.startup_check = parse_startup_check(section.value("startup_check", "header"))
                             .value_or(policy.startup_check);
  return policy;
}

const json& schema_document() {
  static const json document = json::parse(config_schema_text());
  return document;
}

std::chrono::milliseconds duration_at(const json& j, const char* key,
                                      std::chrono::milliseconds fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  return std::chrono::milliseconds(parse_duration_ms(*it).value_or(fallback.count()));
}

std::uint64_t size_at(const json& j, const char* key, std::uint64_t fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  return static_cast<std::uint64_t>(
      parse_size_bytes(*it).value_or(static_cast<std::int64_t>(fallback)));
}

Result<CollectorConfig> from_json(const json& j, std::string_view origin) {
  CollectorConfig c;
  const json empty = json::object();
  c.tenant = j.at("tenant").get<std::string>();
  c.collector_id = j.value("collector_id", c.collector_id);
  const json& log_json = j.value("log", empty);
  if (!log::parse_level(log_json.value("level", "info"), c.log_level)) c.log_level = log::Level::kInfo;
  c.log_format = log_json.value("format", "logfmt") == "json" ? log::Format::kJson
                                                              : log::Format::kLogfmt;

  const json& http_json = j.value("http", empty);
  if (auto status = http::parse_http_section(http_json, 8780, origin, c.http); !status) {
    return status.error();
  }

  // Certificate files: expiry metrics, renewal on SIGHUP or before expiry (docs/operations.md).
  auto tls_watch = pki::parse_tls_watch_options(j.value("tls", empty), "tls");
  if (!tls_watch) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) + ": " + tls_watch.error().message);
  }
  c.tls = *tls_watch;
  c.max_events_per_request = http_json.value("max_events_per_request", 10000);
  if (auto tls = http_json.find("tls"); tls != http_json.end()) {
    c.http.tls_cert_file = tls->at("cert_file").get<std::string>();
    c.http.tls_key_file = tls->at("key_file").get<std::string>();
    c.http.tls_client_ca_file = tls->value("client_ca_file", "");
  }

  const json& schemas_json = j.value("schemas", empty);
  c.schemas_builtin_dir = schemas_json.value("builtin_dir", schema::default_schemas_dir());
  c.schemas_extra_dirs = schemas_json.value("extra_dirs", std::vector<std::string>{});

  const json& events_json = j.value("events", empty);
  c.max_event_bytes = size_at(events_json, "max_event_bytes", 64 * 1024);
  c.max_depth = events_json.value("max_depth", 64);
  if (auto it = events_json.find("custom_identity_types"); it != events_json.end()) {
    for (const auto& v : *it) c.custom_identity_types.insert(v.get<std::string>());
  }

  const json& store_json = j.at("store");
  c.store.path = store_json.at("path").get<std::string>();
  c.store.synchronous_full = store_json.value("synchronous", "full") != "normal";
  c.store.corruption = corruption_policy(store_json, c.store.corruption);
  c.store.receipts_retention_ms =
      duration_at(store_json, "receipts_retention",
                  std::chrono::milliseconds(c.store.receipts_retention_ms))
          .count();
  c.retention.max_age_ms =
      duration_at(store_json, "events_retention", std::chrono::milliseconds(0)).count();
  c.retention.quarantine_max_age_ms =
      duration_at(store_json, "quarantine_retention", std::chrono::milliseconds(0)).count();
  c.retention.interval = duration_at(store_json, "retention_interval", c.retention.interval);
  c.retention.batch_rows = store_json.value("retention_batch_rows", c.retention.batch_rows);
  c.retention.pause = duration_at(store_json, "retention_pause", c.retention.pause);

  const json& mqtt_json = j.at("mqtt");
  c.mqtt.uri = mqtt_json.at("uri").get<std::string>();
  c.mqtt.ca_file = mqtt_json.at("ca_file").get<std::string>();
  c.mqtt.cert_file = mqtt_json.at("cert_file").get<std::string>();
  c.mqtt.key_file = mqtt_json.at("key_file").get<std::string>();
  c.mqtt.client_id = mqtt_json.value("client_id", "aisle-" + c.collector_id);
  c.mqtt.keep_alive = std::chrono::duration_cast<std::chrono::seconds>(
      duration_at(mqtt_json, "keep_alive", std::chrono::seconds(30)));
  c.share_group = mqtt_json.value("share_group", c.share_group);
  c.reconnect_max = duration_at(mqtt_json, "reconnect_max", c.reconnect_max);
  const std::string protocol = mqtt_json.value("protocol", "auto");
  c.mqtt.protocol = protocol == "5"       ? mqtt::Protocol::kV5
                    : protocol == "3.1.1" ? mqtt::Protocol::kV311
                                          : mqtt::Protocol::kAuto;

  const json& ingest_json = j.value("ingest", empty);
  c.queue_batches = ingest_json.value("queue_batches", c.queue_batches);
  c.ingest_workers = ingest_json.value("workers", c.ingest_workers);
  c.batch_limits.max_payload_bytes =
      size_at(ingest_json, "max_payload_bytes", c.batch_limits.max_payload_bytes);
  c.batch_limits.max_raw_bytes = size_at(ingest_json, "max_raw_bytes", c.batch_limits.max_raw_bytes);
  c.batch_limits.max_records =
      ingest_json.value("max_records_per_batch", c.batch_limits.max_records);

  for (const auto& k : j.value("write_keys", json::array())) {
    c.write_keys.push_back(ApiKey{k.at("source").get<std::string>(),
                                  k.at("sha256").get<std::string>(), "",
                                  k.value("store_id", "")});
  }
  for (const auto& k : j.value("admin_keys", json::array())) {
    c.admin_keys.push_back(ApiKey{k.at("name").get<std::string>(),
                                  k.at("sha256").get<std::string>(), k.value("scope", "admin"),
                                  ""});
  }
  c.shutdown_grace = duration_at(j, "shutdown_grace", c.shutdown_grace);
  c.watchdog = j.value("watchdog", true);

  const std::string data_dir = std::filesystem::path(c.store.path).parent_path().string();
  c.data_dir = data_dir.empty() ? "." : data_dir;
  auto beside_store = [&](const char* name) {
    return data_dir.empty() ? std::string(name) : data_dir + "/" + name;
  };
  const json& profiles_json = j.value("profiles", empty);
  c.profiles.path = profiles_json.value("path", beside_store("profiles.db"));
  c.profiles.synchronous_full = profiles_json.value("synchronous", "normal") == "full";
  c.profiles.corruption = corruption_policy(profiles_json, c.profiles.corruption);
  c.profiles.last_events = profiles_json.value("last_events", c.profiles.last_events);
  c.profiles.history_limit = profiles_json.value("history_limit", c.profiles.history_limit);
  c.profiles.max_unmerge_events =
      profiles_json.value("max_unmerge_events", c.profiles.max_unmerge_events);
  c.profiles.rules.shared_after_user_ids =
      profiles_json.value("shared_after_user_ids", c.profiles.rules.shared_after_user_ids);
  const json identity_types = profiles_json.value("identity_types", empty);
  for (const auto& [type, rule_json] : identity_types.items()) {
    // A configured type starts from its standard rule (or the custom default) and overrides.
    profiles::IdentityTypeRule rule = c.profiles.rules.rule(type);
    rule.max_per_profile = rule_json.value("max_per_profile", rule.max_per_profile);
    rule.priority = rule_json.value("priority", rule.priority);
    rule.links = rule_json.value("links", rule.links);
    rule.shared_protection = rule_json.value("shared_protection", rule.shared_protection);
    c.profiles.rules.types[type] = rule;
  }
  if (auto status = c.profiles.rules.validate(); !status) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) + ": /profiles: " + status.error().message);
  }

  const json& privacy_json = j.value("privacy", empty);
  c.privacy.policy.without_analytics =
      parse_no_consent_action(privacy_json.value("without_analytics", "drop"))
          .value_or(NoConsentAction::kDrop);
  c.privacy.policy.unknown_analytics_granted =
      privacy_json.value("unknown_analytics", "granted") == "granted";
  if (auto it = privacy_json.find("always_keep_types"); it != privacy_json.end()) {
    c.privacy.policy.always_keep_types.clear();
    for (const auto& t : *it) c.privacy.policy.always_keep_types.insert(t.get<std::string>());
  }
  const json anonymous_properties = privacy_json.value("anonymous_properties", empty);
  for (const auto& [type, names] : anonymous_properties.items()) {
    auto& kept = c.privacy.policy.anonymous_properties[type];
    for (const auto& n : names) kept.insert(n.get<std::string>());
  }
  c.privacy.consent_sync_page = privacy_json.value("consent_sync_page", c.privacy.consent_sync_page);
  c.privacy.erasures_path = privacy_json.value("erasures_path", beside_store("erasures.db"));
  c.privacy.erasure_rebroadcast =
      duration_at(privacy_json, "erasure_rebroadcast", c.privacy.erasure_rebroadcast);
  c.privacy.fleet_ca_file = privacy_json.value("fleet_ca_file", c.mqtt.ca_file);
  c.privacy.fleet_crl_file = privacy_json.value("fleet_crl_file", "");
  c.privacy.ipv4_prefix = privacy_json.value("ipv4_prefix", c.privacy.ipv4_prefix);
  c.privacy.ipv6_prefix = privacy_json.value("ipv6_prefix", c.privacy.ipv6_prefix);

  c.audit_path = j.value("audit", empty).value("path", beside_store("audit.log"));

  if (j.contains("segments")) c.segments = j.at("segments");
  if (j.contains("recs")) c.recs = j.at("recs");

  const json& dashboard_json = j.contains("dashboard") ? j.at("dashboard") : empty;
  c.dashboard.enabled = dashboard_json.value("enabled", c.dashboard.enabled);
  c.dashboard.public_data = dashboard_json.value("public", c.dashboard.public_data);
  c.dashboard.step = duration_at(dashboard_json, "step", c.dashboard.step);
  c.dashboard.steps = dashboard_json.value("steps", c.dashboard.steps);
  c.dashboard.max_series = dashboard_json.value("max_series", c.dashboard.max_series);
  return c;
}

}  // namespace

std::vector<std::string> CollectorConfig::schema_dirs() const {
  std::vector<std::string> dirs{schemas_builtin_dir};
  dirs.insert(dirs.end(), schemas_extra_dirs.begin(), schemas_extra_dirs.end());
  return dirs;
}

Result<CollectorConfig> parse_collector_config(std::string_view text, std::string_view origin) {
  auto document = parse_config_text(text, origin, schema_document());
  if (!document) return document.error();
  return from_json(*document, origin);
}

Result<CollectorConfig> load_collector_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open config file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_collector_config(buffer.str(), path);
}

}  // namespace aisle::collector
