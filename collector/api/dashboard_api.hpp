// The collector's dashboard (docs/dashboard.md):
//   GET /ui, /ui/app.js, /ui/style.css   the page: static files embedded in the binary (no CDN,
//                                        no build step); public, they hold no data
//   GET /v1/dashboard                    every panel's numbers as JSON (admin key, scope read,
//                                        unless `dashboard.public` is set)
// The page takes the key from its URL fragment (/ui#key=...), which browsers never send to the
// server, and presents it as a Bearer token.
#pragma once

#include "collector/api/api_keys.hpp"
#include "collector/dashboard/dashboard_stats.hpp"
#include "common/http/http_server.hpp"

namespace aisle::collector {

struct DashboardApiContext {
  DashboardStats& stats;
  const ApiKeys& keys;
  bool public_data = false;  // serve /v1/dashboard without a key (trusted networks only)
};

void register_dashboard_api(http::HttpServer& server, DashboardApiContext context);

}  // namespace aisle::collector
