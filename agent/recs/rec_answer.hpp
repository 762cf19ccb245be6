// The vocabulary of the agent's recommendation server (docs/agent-recommendations.md): what a
// kiosk asks (RecQuery) and what it gets (RecAnswer), in the same shape as the collector's
// `GET /v1/recommendations` so a kiosk cannot tell which side answered except by `mode`.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace aisle::agent::recs {

// Which path produced an answer, worst last. Every answer names its mode.
enum class ServeMode {
  kLive,        // the collector answered within the timeout
  kCache,       // the collector did not; an earlier live answer for the same shopper and context
  kOffline,     // the store-local model: snapshot neighbours of the shopper's local items
  kPopularity,  // the store's popularity alone (no consent, no local history, or nothing else)
};
const char* serve_mode_name(ServeMode mode);

struct RecQuery {
  std::string identity;      // "type:value" as the agent stores it (after pseudonymization)
  std::string profile;       // the collector's profile id, when the kiosk knows it
  std::string context_item;  // sku on screen, "" on a home placement
  std::string placement;     // "kiosk_home", "product_page", ...
  std::size_t n = 10;
};

struct RecItem {
  std::string sku;
  double score = 0;
  std::string source;  // the collector's source name, or "local_item_knn" / "local_popularity"
  friend bool operator==(const RecItem&, const RecItem&) = default;
};

struct RecAnswer {
  std::string rec_id;
  ServeMode mode = ServeMode::kLive;
  std::string strategy;
  std::vector<RecItem> items;
};

// {"rec_id","mode","strategy","items":[{"sku","score","source"}]}
nlohmann::json rec_answer_to_json(const RecAnswer& answer);
// The collector's answer (its own `mode` is ignored: the agent sets kLive). Errors name the
// field; at most `max_items` items are kept.
Result<RecAnswer> rec_answer_from_json(const nlohmann::json& document, std::size_t max_items);

}  // namespace aisle::agent::recs
