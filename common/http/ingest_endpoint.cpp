#include "common/http/ingest_endpoint.hpp"

#include <nlohmann/json.hpp>

#include "common/event_validator.hpp"

namespace aisle::http {

Result<std::vector<RawRecord>> split_ingest_body(const Request& request,
                                                 const IngestEndpointLimits& limits,
                                                 Response& error_answer) {
  const std::string content_type = request.header("Content-Type");
  const BodyFormat format = content_type.find("ndjson") != std::string::npos ||
                                    content_type.find("jsonlines") != std::string::npos
                                ? BodyFormat::kNdjson
                                : BodyFormat::kAuto;
  auto records = split_records(request.body, format);
  if (!records) {
    error_answer = Response::error(400, "malformed body: " + records.error().message);
    return records.error();
  }
  if (records->size() > limits.max_events_per_request) {
    error_answer = Response::error(
        413, "request holds " + std::to_string(records->size()) + " events, limit " +
                 std::to_string(limits.max_events_per_request) + " (http.max_events_per_request)");
    return make_error(ErrorCode::kInvalidArgument, "too many events");
  }
  if (records->empty()) {
    error_answer = Response::error(400, "malformed body: no events");
    return make_error(ErrorCode::kInvalidArgument, "no events");
  }
  // A body that is one record and not even JSON is a malformed request, not an invalid event:
  // answer 400 rather than accepting it into quarantine.
  if (records->size() == 1 && !nlohmann::json::accept((*records)[0].text)) {
    auto parsed = parse_json((*records)[0].text, JsonLimits{request.body.size() + 1, 64});
    error_answer = Response::error(
        400, "malformed body: " + (parsed ? std::string("not JSON") : parsed.error().message));
    return make_error(ErrorCode::kInvalidArgument, "malformed body");
  }
  return records;
}

Response ingest_answer(const IngestReport& report) {
  if (report.storage_error) {
    const bool full = report.storage_error->code == ErrorCode::kResourceExhausted;
    return Response::error(full ? 507 : 503,
                           std::string(full ? "storage full: " : "storage unavailable: ") +
                               report.storage_error->message + "; nothing was stored, retry");
  }
  nlohmann::json body = {{"accepted", report.accepted}, {"duplicates", report.duplicates}};
  if (report.dropped_no_consent > 0) body["dropped_no_consent"] = report.dropped_no_consent;
  auto rejected = nlohmann::json::array();
  for (const auto& r : report.rejected) {
    nlohmann::json item = {{"index", r.index}, {"errors", errors_to_json(r.errors)}};
    if (r.line) item["line"] = r.line;
    rejected.push_back(std::move(item));
  }
  body["rejected"] = std::move(rejected);
  int status = 202;
  if (!report.refused_full.empty()) {
    status = 507;
    body["refused"] = report.refused_full;
    body["error"] = report.refused_disk_low
                        ? "disk space low: the outbox keeps what is left for critical events; "
                          "priority " + report.refused_priorities +
                              " refused, refused events were not stored, retry later"
                        : "outbox full for priority " + report.refused_priorities +
                              "; refused events were not stored, retry later";
  }
  return Response::json(status,
                        body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace aisle::http
