#include "collector/api/catalog_api.hpp"

#include <memory>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.catalog_api");

constexpr const char* kSkuPattern = "([^/]{1,256})";

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

http::Response unauthorized() {
  auto r = http::Response::error(401, "missing or invalid API key");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// "price: must be a number >= 0" -> ("price", "must be a number >= 0").
std::pair<std::string, std::string> split_field(const std::string& message) {
  const auto colon = message.find(": ");
  if (colon == std::string::npos) return {"", message};
  return {message.substr(0, colon), message.substr(colon + 2)};
}

struct Shared {
  CatalogApiContext ctx;
  metrics::Counter& bad_requests;
  metrics::Counter& refused_items;
};

}  // namespace

void register_catalog_api(http::HttpServer& server, CatalogApiContext context) {
  auto& bad = context.metrics.counter("aisle_collector_catalog_api_bad_requests_total",
                                      "Catalog API requests refused as malformed or too large");
  auto& refused = context.metrics.counter("aisle_collector_catalog_items_refused_total",
                                          "Uploaded catalog items refused as invalid");
  auto s = std::make_shared<Shared>(Shared{std::move(context), bad, refused});

  server.put("/v1/catalog/items", "/v1/catalog/items", [s](const http::Request& r) {
    auto key = s->ctx.keys.authenticate_admin(r, "admin");
    if (!key) return unauthorized();
    const auto& limits = s->ctx.limits;
    if (r.body.size() > limits.max_upload_bytes) {
      s->bad_requests.inc();
      return http::Response::error(413, "body is " + std::to_string(r.body.size()) +
                                            " bytes, limit max_upload_bytes " +
                                            std::to_string(limits.max_upload_bytes));
    }
    auto records = split_records(r.body, BodyFormat::kAuto);
    if (!records) {
      s->bad_requests.inc();
      return http::Response::error(400, "body: " + records.error().message);
    }
    if (records->empty()) {
      s->bad_requests.inc();
      return http::Response::error(400, "body: no items");
    }
    if (records->size() > limits.max_upload_items) {
      s->bad_requests.inc();
      return http::Response::error(413, std::to_string(records->size()) +
                                            " items, limit max_upload_items " +
                                            std::to_string(limits.max_upload_items));
    }
    recs::CatalogItemLimits item_limits;
    item_limits.max_stores = limits.max_stores_per_item;
    const JsonLimits json_limits{limits.max_upload_bytes, 8};
    std::vector<recs::CatalogItem> items;
    items.reserve(records->size());
    json errors = json::array();
    std::size_t error_count = 0;
    for (const auto& record : *records) {
      auto parsed = parse_json(record.text, json_limits);
      Result<recs::CatalogItem> item =
          parsed ? recs::parse_catalog_item(*parsed, item_limits)
                 : Result<recs::CatalogItem>(parsed.error());
      if (item) {
        items.push_back(std::move(*item));
        continue;
      }
      ++error_count;
      if (errors.size() < s->ctx.max_reported_errors) {
        auto [field, message] = parsed ? split_field(item.error().message)
                                       : std::make_pair(std::string(), item.error().message);
        json e = {{"line", record.line}, {"index", record.index}, {"message", message}};
        if (!field.empty()) e["field"] = field;
        if (parsed && parsed->is_object() && parsed->contains("sku") &&
            (*parsed)["sku"].is_string()) {
          e["sku"] = (*parsed)["sku"];
        }
        errors.push_back(std::move(e));
      }
    }
    if (error_count > 0) {
      s->bad_requests.inc();
      s->refused_items.inc(static_cast<double>(error_count));
      const json& first = errors.front();
      std::string summary = std::to_string(error_count) + " invalid item(s), nothing stored; line " +
                            std::to_string(first["line"].get<std::size_t>()) + ": " +
                            (first.contains("field") ? first["field"].get<std::string>() + ": "
                                                     : std::string()) +
                            first["message"].get<std::string>();
      return http::Response::json(400, dump({{"error", summary}, {"errors", errors}}));
    }
    const std::size_t count = items.size();
    if (auto stored = s->ctx.catalog.upsert(std::move(items)); !stored) {
      if (stored.error().code == ErrorCode::kResourceExhausted) {
        s->bad_requests.inc();
        return http::Response::error(422, stored.error().message);
      }
      kLog.error("catalog upload not stored", {{"error", stored.error().message}});
      return http::Response::error(503, "catalog unavailable: " + stored.error().message);
    }
    s->ctx.audit(key->name, "catalog.upsert", "", {{"items", count}});
    return http::Response::json(
        200, dump({{"upserted", count}, {"catalog_items", s->ctx.catalog.size()}}));
  });

  server.get(std::string("/v1/catalog/items/") + kSkuPattern, "/v1/catalog/items/{sku}",
             [s](const http::Request& r) {
               if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
               auto item = s->ctx.catalog.get(r.path_params[0]);
               if (!item) return http::Response::error(404, "no catalog item " + r.path_params[0]);
               json j = recs::catalog_item_json(*item);
               j["updated_at"] = item->updated_at;
               return http::Response::json(200, dump(j));
             });

  server.del(std::string("/v1/catalog/items/") + kSkuPattern, "/v1/catalog/items/{sku}",
             [s](const http::Request& r) {
               auto key = s->ctx.keys.authenticate_admin(r, "admin");
               if (!key) return unauthorized();
               auto removed = s->ctx.catalog.remove(r.path_params[0]);
               if (!removed) {
                 return http::Response::error(503,
                                              "catalog unavailable: " + removed.error().message);
               }
               if (!*removed) {
                 return http::Response::error(404, "no catalog item " + r.path_params[0]);
               }
               s->ctx.audit(key->name, "catalog.delete", r.path_params[0], json::object());
               return http::Response::json(200, dump({{"deleted", r.path_params[0]}}));
             });
}

}  // namespace aisle::collector
