#include "collector/api/dashboard_api.hpp"

#include <memory>
#include <string_view>

namespace aisle::collector {
namespace ui {
// Embedded by CMake (aisle_embed_text) from collector/dashboard/ui/.
std::string_view index_html();
std::string_view app_js();
std::string_view style_css();
}  // namespace ui

namespace {

http::Response static_file(std::string_view body, const char* content_type) {
  http::Response r;
  r.status = 200;
  r.body = std::string(body);
  r.content_type = content_type;
  // Everything the page loads comes from here: no inline script, no third party.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

void register_dashboard_api(http::HttpServer& server, DashboardApiContext context) {
  auto ctx = std::make_shared<DashboardApiContext>(context);
  server.get("/ui/?", "/ui", [](const http::Request&) {
    return static_file(ui::index_html(), "text/html; charset=utf-8");
  });
  server.get("/ui/app\\.js", "/ui/app.js", [](const http::Request&) {
    return static_file(ui::app_js(), "text/javascript; charset=utf-8");
  });
  server.get("/ui/style\\.css", "/ui/style.css", [](const http::Request&) {
    return static_file(ui::style_css(), "text/css; charset=utf-8");
  });
  server.get("/v1/dashboard", "/v1/dashboard", [ctx](const http::Request& r) {
    if (!ctx->public_data && !ctx->keys.authenticate_admin(r, "read")) {
      auto response = http::Response::error(
          401, "missing or invalid API key, or a key without the scope this route needs");
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
    auto response = http::Response::json(
        200, ctx->stats.snapshot().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  });
}

}  // namespace aisle::collector
