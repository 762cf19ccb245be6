// IngestReport: what an ingest endpoint (agent or collector, POST /v1/events) did with one
// request, and its HTTP answer — the same formats on both daemons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/schema/validator.hpp"

namespace aisle {

struct RejectedRecord {
  std::size_t index = 0;  // position in the request (0-based)
  std::size_t line = 0;   // 1-based line in the body where the record started (0: not text)
  std::vector<schema::ValidationError> errors;
};

struct IngestReport {
  std::uint32_t accepted = 0;    // newly committed
  std::uint32_t duplicates = 0;  // already stored (a producer retry); not an error
  // Valid events not stored because their shopper gave no analytics consent (agent privacy
  // policy "drop"); neither accepted nor rejected. In the answer only when non-zero.
  std::uint32_t dropped_no_consent = 0;
  std::vector<RejectedRecord> rejected;
  // Valid records that could not be taken for lack of space (agent outbox quota).
  std::vector<std::size_t> refused_full;
  std::string refused_priorities;  // e.g. "bulk,normal", for the answer
  // Some were refused because the disk is low (the rest of its space is kept for critical
  // events), not because the outbox quota is reached.
  bool refused_disk_low = false;
  // The commit itself failed (disk full, I/O): nothing of this request was stored.
  std::optional<Error> storage_error;
};

}  // namespace aisle
