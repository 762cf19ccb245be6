// The POST /v1/events contract shared by the agent and the collector: how a body is framed
// (one event, a JSON array, or NDJSON), the limits, and the answers:
//   202 {"accepted":N,"duplicates":D,"rejected":[{"index":i,"line":l,"errors":[...]}]}
//   400 malformed body · 413 over the size or event-count limit · 507 no space for a priority
//   503 the store could not commit (nothing of the request was stored; retry)
#pragma once

#include <functional>
#include <vector>

#include "common/http/http_server.hpp"
#include "common/ingest_report.hpp"
#include "common/json_text.hpp"
#include "common/metrics.hpp"

namespace aisle::http {

struct IngestEndpointLimits {
  std::size_t max_events_per_request = 10000;
};

// Splits the request body into records or produces the error answer (400/413).
Result<std::vector<RawRecord>> split_ingest_body(const Request& request,
                                                 const IngestEndpointLimits& limits,
                                                 Response& error_answer);

// The answer for a report.
Response ingest_answer(const IngestReport& report);

}  // namespace aisle::http
