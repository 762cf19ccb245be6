#include "agent/agent_config.hpp"

#include <fstream>
#include <sstream>

#include "agent/privacy/privacy_config.hpp"
#include "agent/recs/recs_options.hpp"
#include "agent/segments/segment_listener.hpp"
#include "common/config.hpp"
#include "common/http/server_config.hpp"
#include "common/pki/tls_file_watch.hpp"
#include "common/schema/registry.hpp"

namespace aisle::agent {
namespace {

using nlohmann::json;

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

std::set<std::string, std::less<>> string_set(const json& j, const char* key,
                                              std::set<std::string, std::less<>> fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  std::set<std::string, std::less<>> out;
  for (const auto& v : *it) out.insert(v.get<std::string>());
  return out;
}

Result<AgentConfig> from_json(const json& j, std::string_view origin) {
  AgentConfig c;
  c.tenant = j.at("tenant").get<std::string>();
  c.store_id = j.at("store_id").get<std::string>();
  c.agent_id = j.at("agent_id").get<std::string>();
  const json empty = json::object();
  const json& log_json = j.value("log", empty);
  if (!log::parse_level(log_json.value("level", "info"), c.log_level)) c.log_level = log::Level::kInfo;
  c.log_format = log_json.value("format", "logfmt") == "json" ? log::Format::kJson
                                                              : log::Format::kLogfmt;

  const json& http_json = j.value("http", empty);
  if (auto status = http::parse_http_section(http_json, 8680, origin, c.http); !status) {
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

  const json& schemas_json = j.value("schemas", empty);
  c.schemas_builtin_dir = schemas_json.value("builtin_dir", schema::default_schemas_dir());
  c.schemas_extra_dirs = schemas_json.value("extra_dirs", std::vector<std::string>{});

  const json& events_json = j.value("events", empty);
  c.max_event_bytes = size_at(events_json, "max_event_bytes", 64 * 1024);
  c.max_depth = events_json.value("max_depth", 64);
  c.custom_identity_types = string_set(events_json, "custom_identity_types", {});

  const json& outbox_json = j.at("outbox");
  c.outbox.path = outbox_json.at("path").get<std::string>();
  c.outbox.durability = outbox_json.value("durability", "full") == "normal"
                            ? OutboxDurability::kNormal
                            : OutboxDurability::kFull;
  c.outbox.max_bytes = size_at(outbox_json, "max_bytes", c.outbox.max_bytes);
  c.outbox.hard_max_bytes =
      size_at(outbox_json, "hard_max_bytes", c.outbox.max_bytes + c.outbox.max_bytes / 10);
  if (c.outbox.hard_max_bytes < c.outbox.max_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) + ": /outbox/hard_max_bytes must be >= max_bytes");
  }
  c.outbox.max_rows = outbox_json.value("max_rows", c.outbox.max_rows);
  c.outbox.min_free_disk_bytes =
      size_at(outbox_json, "min_free_disk_bytes", c.outbox.min_free_disk_bytes);
  // The schema admits only the documented names (enums), so the parses cannot fail here.
  c.outbox.corruption.on_corrupt = parse_on_corrupt(outbox_json.value("on_corrupt", "move_aside"))
                                       .value_or(OnCorrupt::kMoveAside);
  c.outbox.corruption.startup_check =
      parse_startup_check(outbox_json.value("startup_check", "quick"))
          .value_or(StartupCheck::kQuick);
  c.outbox.max_age_ms = duration_at(outbox_json, "max_age", std::chrono::milliseconds(
                                                                c.outbox.max_age_ms))
                            .count();
  c.maintenance_interval =
      duration_at(outbox_json, "maintenance_interval", c.maintenance_interval);
  c.critical_types = string_set(outbox_json, "critical_types",
                                {"purchase", "checkout", "consent", "identify"});
  c.bulk_types = string_set(outbox_json, "bulk_types", {"footfall", "beacon_proximity"});

  const json& mqtt_json = j.at("mqtt");
  c.mqtt.uri = mqtt_json.at("uri").get<std::string>();
  c.mqtt.ca_file = mqtt_json.at("ca_file").get<std::string>();
  c.mqtt.cert_file = mqtt_json.at("cert_file").get<std::string>();
  c.mqtt.key_file = mqtt_json.at("key_file").get<std::string>();
  c.mqtt.client_id = mqtt_json.value("client_id", "aisle-agent-" + c.store_id + "-" + c.agent_id);
  c.mqtt.keep_alive = std::chrono::duration_cast<std::chrono::seconds>(
      duration_at(mqtt_json, "keep_alive", std::chrono::seconds(30)));
  const std::string protocol = mqtt_json.value("protocol", "auto");
  c.mqtt.protocol = protocol == "5"       ? mqtt::Protocol::kV5
                    : protocol == "3.1.1" ? mqtt::Protocol::kV311
                                          : mqtt::Protocol::kAuto;

  const json& fwd = j.value("forwarder", empty);
  c.forwarder.batch_max_events = fwd.value("batch_max_events", c.forwarder.batch_max_events);
  c.forwarder.batch_max_bytes = size_at(fwd, "batch_max_bytes", c.forwarder.batch_max_bytes);
  c.forwarder.linger = duration_at(fwd, "linger", c.forwarder.linger);
  c.forwarder.window = fwd.value("window", c.forwarder.window);
  c.forwarder.ack_timeout = duration_at(fwd, "ack_timeout", c.forwarder.ack_timeout);
  c.forwarder.backoff_base = duration_at(fwd, "backoff_base", c.forwarder.backoff_base);
  c.forwarder.backoff_max = duration_at(fwd, "backoff_max", c.forwarder.backoff_max);
  c.forwarder.zstd_level = fwd.value("zstd_level", c.forwarder.zstd_level);
  c.mqtt.max_inflight = static_cast<int>(c.forwarder.window) * 2 + 16;

  std::set<std::string, std::less<>> adapter_names;
  const json& adapters_json = j.value("adapters", json::array());
  for (std::size_t i = 0; i < adapters_json.size(); ++i) {
    const json& a = adapters_json[i];
    AdapterConfig adapter;
    adapter.name = a.at("name").get<std::string>();
    if (!adapter_names.insert(adapter.name).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(origin) + ": /adapters/" + std::to_string(i) + "/name: '" +
                            adapter.name + "' is used by another adapter");
    }
    adapter.device_id = a.value("device_id", adapter.name);
    adapter.enabled = a.value("enabled", true);
    adapter.transport = a.at("transport");
    adapter.decoder = a.at("decoder");
    c.adapters.push_back(std::move(adapter));
  }

  auto privacy = privacy::parse_privacy_options(
      j.contains("privacy") ? j.at("privacy") : empty, origin, c.outbox.path);
  if (!privacy) return privacy.error();
  c.privacy = std::move(*privacy);

  if (j.contains("recommendations")) c.recommendations = j.at("recommendations");
  if (j.contains("segments")) c.segments = j.at("segments");
  // Checked here too (the components parse them again when built), so --check-config and a
  // start fail alike on a bad key, naming it.
  if (auto recs = recs::parse_recs_options(c.recommendations); !recs) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) + ": recommendations: " + recs.error().message);
  }
  if (auto segments = parse_segment_listener_options(c.segments); !segments) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) + ": segments: " + segments.error().message);
  }

  c.shutdown_grace = duration_at(j, "shutdown_grace", c.shutdown_grace);
  c.watchdog = j.value("watchdog", true);
  return c;
}

}  // namespace

std::vector<std::string> AgentConfig::schema_dirs() const {
  std::vector<std::string> dirs{schemas_builtin_dir};
  dirs.insert(dirs.end(), schemas_extra_dirs.begin(), schemas_extra_dirs.end());
  return dirs;
}

Result<AgentConfig> parse_agent_config(std::string_view text, std::string_view origin) {
  auto document = parse_config_text(text, origin, schema_document());
  if (!document) return document.error();
  return from_json(*document, origin);
}

Result<AgentConfig> load_agent_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open config file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_agent_config(buffer.str(), path);
}

}  // namespace aisle::agent
