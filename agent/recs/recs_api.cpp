#include "agent/recs/recs_api.hpp"

#include <algorithm>
#include <charconv>

namespace aisle::agent::recs {
namespace {

constexpr std::size_t kMaxParameterBytes = 256;

bool printable(const std::string& text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

Result<RecQuery> parse_rec_query(const http::Request& request, const RecsOptions& options,
                                 const std::string& store_id) {
  auto bad = [](const std::string& message) {
    return make_error(ErrorCode::kInvalidArgument, message);
  };
  RecQuery query;
  query.n = options.default_n;
  query.identity = request.param("identity");
  query.profile = request.param("profile");
  query.context_item = request.param("context_item");
  query.placement = request.param("placement");
  const std::pair<const char*, const std::string*> texts[] = {{"identity", &query.identity},
                                                              {"profile", &query.profile},
                                                              {"context_item", &query.context_item},
                                                              {"placement", &query.placement}};
  for (const auto& [name, value] : texts) {
    if (value->size() > kMaxParameterBytes || !printable(*value)) {
      return bad(std::string("parameter '") + name + "': at most " +
                 std::to_string(kMaxParameterBytes) + " printable bytes");
    }
  }
  if (!query.identity.empty()) {
    const auto colon = query.identity.find(':');
    if (colon == 0 || colon == std::string::npos || colon + 1 == query.identity.size()) {
      return bad("parameter 'identity': expected <type>:<value>, e.g. loyalty_id:LOY-1");
    }
  }
  // The collector's rule for placements, so a kiosk's typo is its own 400 here rather than a
  // refused live request.
  if (!query.placement.empty() &&
      (query.placement.size() > 64 ||
       !std::all_of(query.placement.begin(), query.placement.end(), [](char c) {
         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                c == '-';
       }))) {
    return bad("parameter 'placement': expected [a-z0-9_.-]{1,64}");
  }
  if (request.has_param("store") && request.param("store") != store_id) {
    return bad("parameter 'store': this agent serves store '" + store_id + "', not '" +
               request.param("store") + "'");
  }
  if (request.has_param("n")) {
    const std::string text = request.param("n");
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > options.max_n) {
      return bad("parameter 'n': expected an integer in [1, " + std::to_string(options.max_n) +
                 "]");
    }
    query.n = n;
  }
  return query;
}

void register_recs_routes(http::HttpServer& server, RecsService& service,
                          const std::string& store_id, metrics::Registry& metrics) {
  metrics::Counter* bad_requests = &metrics.counter(
      "aisle_agent_recs_bad_requests_total", "Kiosk recommendation requests refused with 400");
  server.get("/v1/recommendations", "/v1/recommendations",
             [&service, store_id, bad_requests](const http::Request& request) {
               auto query = parse_rec_query(request, service.options(), store_id);
               if (!query) {
                 bad_requests->inc();
                 return http::Response::error(400, query.error().message);
               }
               return http::Response::json(200, rec_answer_to_json(service.handle(*query)).dump());
             });
  server.get("/v1/recs/status", "/v1/recs/status", [&service](const http::Request&) {
    return http::Response::json(200, service.status().dump());
  });
}

}  // namespace aisle::agent::recs
