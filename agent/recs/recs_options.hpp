// The agent's `recommendations` config section (docs/agent-recommendations.md has every key).
// The section is kept raw in AgentConfig and parsed here, so this component owns its defaults
// and its error messages.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"
#include "common/wire/rec_snapshot.hpp"

namespace aisle::agent::recs {

// What to do offline for a shopper whose personalization consent is neither granted nor denied
// (no entry in the consent cache and no flag in their own events).
enum class UnknownConsent { kPopularity, kPersonalize };

struct CollectorClientOptions {
  // Base URL of the collector's HTTP API ("https://collector.example:8443"). Empty: no live mode,
  // the agent answers from the snapshot alone.
  std::string url;
  // Mutual TLS, as on the MQTT link; empty fields are filled from the agent's `mqtt` section.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // The collector's API key (a write key scoped to this store), sent as a Bearer token; read at
  // start from this file (kept out of the config). Empty: no Authorization header.
  std::string api_key_file;
  // Whole-request budget of a live recommendation (connect included): past it the kiosk is
  // answered from the cache or the local model.
  std::chrono::milliseconds timeout{150};
  std::chrono::milliseconds snapshot_timeout{10000};  // a snapshot download
  std::size_t connections = 4;  // keep-alive handles kept open (more are opened when busy)
  std::size_t max_response_bytes = 256 * 1024;  // a recommendation answer
};

struct RecsOptions {
  // True when the config has a `recommendations` section (the route is registered only then).
  bool enabled = false;
  CollectorClientOptions collector;

  std::chrono::milliseconds cache_ttl{10 * 60 * 1000};  // how old a cached live answer may be
  std::size_t cache_entries = 20000;                    // LRU bound

  // Snapshots: fetched every interval (retried sooner after a failure), also accepted pushed on
  // the MQTT downlink; the last one is kept in `snapshot_path` for a restart without WAN.
  std::chrono::milliseconds snapshot_interval{15 * 60 * 1000};
  std::chrono::milliseconds snapshot_retry{30 * 1000};
  std::string snapshot_path;  // default: recs_snapshot.zst beside the outbox
  wire::RecSnapshotLimits snapshot_limits;

  // Circuit breaker: after `breaker_failures` consecutive live failures the collector is not
  // asked for `breaker_cooldown`; then one probe request decides.
  std::uint32_t breaker_failures = 3;
  std::chrono::milliseconds breaker_cooldown{5000};

  // Shoppers' recent items seen in the store's events (the local model's input).
  std::size_t history_shoppers = 50000;                       // LRU bound
  std::size_t history_items = 20;                             // per shopper, most recent kept
  std::chrono::milliseconds history_ttl{4 * 60 * 60 * 1000};  // older items are ignored

  // Local model: weight of the popularity score added to the neighbour score (both normalized
  // to [0, 1] within their list), and the weight of each interaction kind.
  double popularity_weight = 0.2;
  double view_weight = 1;
  double cart_weight = 3;
  double purchase_weight = 5;
  UnknownConsent unknown_consent = UnknownConsent::kPopularity;

  std::size_t default_n = 10;
  std::size_t max_n = 100;
};

// Parses the section (an empty object or null: disabled, defaults). Unknown keys are errors;
// every error names the key: "recommendations.timeout: expected a duration like \"150ms\"".
Result<RecsOptions> parse_recs_options(const nlohmann::json& section);

}  // namespace aisle::agent::recs
