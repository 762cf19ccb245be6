// Ingest: the one path every producer's input takes into the agent (HTTP from kiosks and POS,
// and firmware adapters in-process): validation, stamping (event_id, received_at, agent_id),
// classification into an outbox priority, and a durable append. Invalid input is answered and
// also forwarded as quarantine records, so central operations see every bad event.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "common/ingest_report.hpp"
#include "common/json_text.hpp"
#include "common/result.hpp"
#include "common/schema/validator.hpp"

namespace aisle::agent {

using aisle::IngestReport;
using aisle::RejectedRecord;

struct IngestOrigin {
  std::string name = "http";  // "http" or "adapter:<name>"; in metrics and quarantine records
  std::string remote_addr;    // HTTP peer, for logs
};

// Thread-safe; blocks until the outbox commit.
class Ingest {
 public:
  virtual ~Ingest() = default;
  // Records cut from a request body (json_text.hpp split_records).
  virtual IngestReport ingest_records(const std::vector<RawRecord>& records,
                                      const IngestOrigin& origin) = 0;
  // Events decoded by a firmware adapter (their properties are still validated here).
  virtual IngestReport ingest_events(std::vector<Event> events, const IngestOrigin& origin) = 0;
  // A frame an adapter could not decode: kept for inspection and forwarded as quarantine.
  virtual Status quarantine_frame(std::string raw, std::string reason,
                                  std::vector<schema::ValidationError> errors,
                                  const IngestOrigin& origin) = 0;
};

}  // namespace aisle::agent
