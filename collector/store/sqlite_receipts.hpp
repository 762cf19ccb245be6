// Batch receipts and per-stream progress in the event store's database (tables receipts,
// streams and stream_islands; docs/storage.md).
//
// A receipt answers a retransmission with the first commit's counts, for as long as retention
// keeps it. Progress (max and contiguous batch_seq) is maintained incrementally by every commit
// in `streams`, plus `stream_islands` for committed runs above a gap, so it stays exact after
// receipts are pruned and a pruned batch is still recognised as committed.
//
// All functions run on the writer connection inside the caller's transaction (except
// read_stream_progress, which runs on any connection); none is thread-safe on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "collector/store/event_store.hpp"
#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::collector {

// The first commit of the receipt's (stream_id, batch_seq), as CommitResult with
// batch_already_committed set; receipt_expired when only the stream progress shows it. Nullopt
// for a new batch. batch_seq must be >= 1.
Result<std::optional<CommitResult>> find_committed_batch(SqliteDb& db, const BatchReceipt& receipt);

// Inserts the receipt with the commit's counts and time, and advances the stream's progress.
// The batch must be new (find_committed_batch returned nullopt in the same transaction).
Status record_batch(SqliteDb& db, const BatchReceipt& receipt, const CommitResult& counts,
                    UnixMillis committed_at);

Result<std::vector<StreamProgress>> read_stream_progress(SqliteDb& db);

// Deletes up to `max_rows` receipts committed before `cutoff`, keeping each stream's newest
// (highest batch_seq). Returns the number deleted.
Result<std::uint64_t> prune_receipts_before(SqliteDb& db, UnixMillis cutoff, std::size_t max_rows);

}  // namespace aisle::collector
