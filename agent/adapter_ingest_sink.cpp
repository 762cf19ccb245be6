#include "agent/adapter_ingest_sink.hpp"

namespace aisle::agent {

adapters::DeliveryReport AdapterIngestSink::deliver(const std::string& adapter,
                                                    std::vector<Event> events) {
  const IngestReport report = ingest_.ingest_events(std::move(events), {"adapter:" + adapter, ""});
  adapters::DeliveryReport out;
  out.accepted = report.accepted;
  out.duplicates = report.duplicates;
  out.rejected = static_cast<std::uint32_t>(report.rejected.size());
  out.refused_full = static_cast<std::uint32_t>(report.refused_full.size());
  out.storage_error = report.storage_error;
  return out;
}

Status AdapterIngestSink::keep_undecodable(const std::string& adapter, const adapters::Frame& frame,
                                           const std::vector<adapters::DecodeError>& errors) {
  // Where the frame came from travels in every message: the raw bytes alone do not say.
  std::string where = frame.origin;
  if (frame.line > 0) where += " line " + std::to_string(frame.line);
  std::vector<schema::ValidationError> details;
  details.reserve(errors.size());
  for (const auto& error : errors) {
    schema::ValidationError detail;
    detail.keyword = error.reason;
    detail.message = where + ": " + error.message;
    details.push_back(std::move(detail));
  }
  const std::string reason = errors.empty() ? "undecodable" : errors.front().reason;
  return ingest_.quarantine_frame(frame.bytes, "decode:" + reason, std::move(details),
                                  {"adapter:" + adapter, frame.origin});
}

}  // namespace aisle::agent
