// The webhook part of the collector's HTTP API (docs/segment-triggers.md, "Webhooks"):
//   POST   /v1/webhooks  {"url":..., "secret":..., "segments":["vip"], "enabled":true}   (admin)
//            201 with the webhook, its secret included (the only answer that shows it)
//   GET    /v1/webhooks                                  registrations, no secrets (read)
//   GET    /v1/webhooks/{id}                             one registration (read)
//   DELETE /v1/webhooks/{id}                             with its pending deliveries (admin)
//   GET    /v1/webhooks/{id}/dead-letters?limit=         failed deliveries, oldest first (read)
//   POST   /v1/webhooks/{id}/dead-letters/redeliver      back to pending, due now (admin)
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/api/api_keys.hpp"
#include "collector/segments/notify/webhook_dispatcher.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct WebhookApiContext {
  segments::WebhookDispatcher& webhooks;
  const ApiKeys& keys;
  metrics::Registry& metrics;
  // Every admin call (create, delete, redeliver) is recorded.
  std::function<void(const std::string& actor, const std::string& action, const std::string& target,
                     const nlohmann::json& details)>
      audit =
          [](const std::string&, const std::string&, const std::string&, const nlohmann::json&) {};
  std::size_t max_dead_letters_page = 1000;  // upper bound of ?limit=
};

void register_webhook_api(http::HttpServer& server, WebhookApiContext context);

}  // namespace aisle::collector
