#include "agent/recs/recs_options.hpp"

#include <set>

#include "common/config.hpp"

namespace aisle::agent::recs {
namespace {

using nlohmann::json;

Error key_error(const std::string& key, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "recommendations." + key + ": " + message);
}

// Readers: each returns an error naming the key, or leaves `out` unchanged when absent.
Status read_duration(const json& s, const char* key, std::chrono::milliseconds& out,
                     std::int64_t min_ms = 1) {
  const auto it = s.find(key);
  if (it == s.end()) return ok_status();
  const auto ms = parse_duration_ms(*it);
  if (!ms) return key_error(key, "expected a duration like \"150ms\" or \"10m\"");
  if (*ms < min_ms) return key_error(key, "must be at least " + std::to_string(min_ms) + " ms");
  out = std::chrono::milliseconds(*ms);
  return ok_status();
}

Status read_size(const json& s, const char* key, std::size_t& out, std::size_t min,
                 std::size_t max) {
  const auto it = s.find(key);
  if (it == s.end()) return ok_status();
  // Literal integers built in code are signed in nlohmann::json; parsed ones are unsigned.
  const bool integer =
      it->is_number_unsigned() || (it->is_number_integer() && it->get<std::int64_t>() >= 0);
  if (!integer || it->get<std::uint64_t>() < min || it->get<std::uint64_t>() > max) {
    return key_error(
        key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  out = static_cast<std::size_t>(it->get<std::uint64_t>());
  return ok_status();
}

Status read_bytes(const json& s, const char* key, std::size_t& out) {
  const auto it = s.find(key);
  if (it == s.end()) return ok_status();
  const auto bytes = parse_size_bytes(*it);
  if (!bytes || *bytes < 1) return key_error(key, "expected a size like \"256KiB\"");
  out = static_cast<std::size_t>(*bytes);
  return ok_status();
}

Status read_string(const json& s, const char* key, std::string& out) {
  const auto it = s.find(key);
  if (it == s.end()) return ok_status();
  if (!it->is_string()) return key_error(key, "expected a string");
  out = it->get<std::string>();
  return ok_status();
}

Status read_weight(const json& s, const char* key, double& out) {
  const auto it = s.find(key);
  if (it == s.end()) return ok_status();
  if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1000) {
    return key_error(key, "expected a number in [0, 1000]");
  }
  out = it->get<double>();
  return ok_status();
}

}  // namespace

Result<RecsOptions> parse_recs_options(const json& section) {
  RecsOptions o;
  if (section.is_null() || (section.is_object() && section.empty())) return o;
  if (!section.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "recommendations: expected an object");
  }
  static const std::set<std::string, std::less<>> kKeys = {"collector_url",
                                                           "ca_file",
                                                           "cert_file",
                                                           "key_file",
                                                           "api_key_file",
                                                           "timeout",
                                                           "snapshot_timeout",
                                                           "connections",
                                                           "max_response_bytes",
                                                           "cache_ttl",
                                                           "cache_entries",
                                                           "snapshot_interval",
                                                           "snapshot_retry",
                                                           "snapshot_path",
                                                           "max_snapshot_bytes",
                                                           "max_snapshot_raw_bytes",
                                                           "max_snapshot_items",
                                                           "breaker_failures",
                                                           "breaker_cooldown",
                                                           "history_shoppers",
                                                           "history_items",
                                                           "history_ttl",
                                                           "popularity_weight",
                                                           "view_weight",
                                                           "cart_weight",
                                                           "purchase_weight",
                                                           "unknown_consent",
                                                           "default_n",
                                                           "max_n"};
  for (const auto& [key, value] : section.items()) {
    if (!kKeys.count(key)) return key_error(key, "unknown key");
  }
  o.enabled = true;
  auto& c = o.collector;
  std::size_t breaker_failures = o.breaker_failures;
  const Status steps[] = {
      read_string(section, "collector_url", c.url),
      read_string(section, "ca_file", c.ca_file),
      read_string(section, "cert_file", c.cert_file),
      read_string(section, "key_file", c.key_file),
      read_string(section, "api_key_file", c.api_key_file),
      read_duration(section, "timeout", c.timeout),
      read_duration(section, "snapshot_timeout", c.snapshot_timeout),
      read_size(section, "connections", c.connections, 1, 256),
      read_bytes(section, "max_response_bytes", c.max_response_bytes),
      read_duration(section, "cache_ttl", o.cache_ttl),
      read_size(section, "cache_entries", o.cache_entries, 0, 10'000'000),
      read_duration(section, "snapshot_interval", o.snapshot_interval, 1000),
      read_duration(section, "snapshot_retry", o.snapshot_retry, 100),
      read_string(section, "snapshot_path", o.snapshot_path),
      read_bytes(section, "max_snapshot_bytes", o.snapshot_limits.max_payload_bytes),
      read_bytes(section, "max_snapshot_raw_bytes", o.snapshot_limits.max_raw_bytes),
      read_size(section, "max_snapshot_items", o.snapshot_limits.max_items, 1, 10'000'000),
      read_size(section, "breaker_failures", breaker_failures, 1, 1000),
      read_duration(section, "breaker_cooldown", o.breaker_cooldown),
      read_size(section, "history_shoppers", o.history_shoppers, 0, 10'000'000),
      read_size(section, "history_items", o.history_items, 1, 1000),
      read_duration(section, "history_ttl", o.history_ttl),
      read_weight(section, "popularity_weight", o.popularity_weight),
      read_weight(section, "view_weight", o.view_weight),
      read_weight(section, "cart_weight", o.cart_weight),
      read_weight(section, "purchase_weight", o.purchase_weight),
      read_size(section, "default_n", o.default_n, 1, 1000),
      read_size(section, "max_n", o.max_n, 1, 1000),
  };
  for (const auto& status : steps) {
    if (!status) return status.error();
  }
  o.breaker_failures = static_cast<std::uint32_t>(breaker_failures);
  if (!c.url.empty() && !c.url.starts_with("https://") && !c.url.starts_with("http://")) {
    return key_error("collector_url", "expected an http:// or https:// URL");
  }
  while (c.url.ends_with('/')) c.url.pop_back();
  if (o.default_n > o.max_n) return key_error("default_n", "must not exceed max_n");
  if (const auto it = section.find("unknown_consent"); it != section.end()) {
    if (*it == "popularity") {
      o.unknown_consent = UnknownConsent::kPopularity;
    } else if (*it == "personalize") {
      o.unknown_consent = UnknownConsent::kPersonalize;
    } else {
      return key_error("unknown_consent", "expected \"popularity\" or \"personalize\"");
    }
  }
  return o;
}

}  // namespace aisle::agent::recs
