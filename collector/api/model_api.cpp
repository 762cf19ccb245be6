#include "collector/api/model_api.hpp"

#include <memory>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.model_api");

constexpr const char* kNamePattern = "([a-z0-9_]{1,64})";
const JsonLimits kBodyLimits{4 * 1024, 4};

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

http::Response error_answer(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return http::Response::error(400, error.message);
    case ErrorCode::kNotFound: return http::Response::error(404, error.message);
    case ErrorCode::kFailedPrecondition: return http::Response::error(409, error.message);
    default: return http::Response::error(503, "model store unavailable: " + error.message);
  }
}

struct Shared {
  ModelApiContext ctx;
  metrics::Counter& bad_requests;

  segments::ManagedModel* find(const std::string& name) const {
    for (auto* m : ctx.models) {
      if (m->name() == name) return m;
    }
    return nullptr;
  }
  http::Response bad_request(const std::string& message) {
    bad_requests.inc();
    return http::Response::error(400, message);
  }
};

http::Response unauthorized() {
  auto r = http::Response::error(401, "missing or invalid API key");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace

void register_model_api(http::HttpServer& server, ModelApiContext context) {
  auto& bad = context.metrics.counter("aisle_collector_model_api_bad_requests_total",
                                      "Model API requests refused as malformed");
  auto s = std::make_shared<Shared>(Shared{std::move(context), bad});

  server.get("/v1/models", "/v1/models", [s](const http::Request& r) {
    if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
    json models = json::array();
    for (auto* m : s->ctx.models) models.push_back(m->describe());
    return http::Response::json(200, dump({{"models", std::move(models)}}));
  });

  server.get(std::string("/v1/models/") + kNamePattern, "/v1/models/{name}",
             [s](const http::Request& r) {
               if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
               auto* model = s->find(r.path_params[0]);
               if (!model) return http::Response::error(404, "no model " + r.path_params[0]);
               auto versions = model->versions();
               if (!versions) return error_answer(versions.error());
               json j = model->describe();
               j["versions"] = std::move(*versions);
               return http::Response::json(200, dump(j));
             });

  server.post(std::string("/v1/models/") + kNamePattern + "/rollback", "/v1/models/{name}/rollback",
              [s](const http::Request& r) {
                const auto key = s->ctx.keys.authenticate_admin(r, "admin");
                if (!key) return unauthorized();
                auto* model = s->find(r.path_params[0]);
                if (!model) return http::Response::error(404, "no model " + r.path_params[0]);
                auto body = parse_json(r.body, kBodyLimits);
                if (!body) return s->bad_request("body: " + body.error().message);
                if (!body->is_object() || body->size() != 1 || !body->contains("version")) {
                  return s->bad_request("body must be {\"version\": n}");
                }
                const auto& v = (*body)["version"];
                if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 ||
                    v.get<std::uint64_t>() > UINT32_MAX) {
                  return s->bad_request("version must be an integer >= 1");
                }
                const auto version = static_cast<std::uint32_t>(v.get<std::uint64_t>());
                auto result = model->rollback(version);
                if (!result) return error_answer(result.error());
                s->ctx.audit(key->name, "model.rollback", model->name(),
                             {{"version", version}, {"saved_as", (*result)["version"]}});
                kLog.info("model rolled back by API",
                          {{"model", model->name()}, {"version", version}, {"actor", key->name}});
                return http::Response::json(200, dump(*result));
              });
}

}  // namespace aisle::collector
