// EventStore: where the collector keeps accepted events, quarantined input and batch receipts.
// SQLite (WAL) is the embedded default (sqlite_event_store.hpp); a PostgreSQL backend will
// implement the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::collector {

// An accepted, validated canonical event as stored.
struct StoredEvent {
  std::string event_id;  // canonical lowercase UUID text; the dedup key
  std::string type;
  std::string schema;
  std::string store_id;
  std::string agent_id;  // empty for web/mobile events posted to the collector directly
  std::string channel;
  UnixMillis occurred_at = 0;
  UnixMillis received_at = 0;
  UnixMillis ingested_at = 0;  // collector clock at commit
  std::string payload;         // canonical event JSON
};

// Input that could not be accepted, kept whole with the reasons (like Snowplow's bad rows).
struct QuarantineEntry {
  std::int64_t id = 0;     // assigned by the store
  std::string reason;      // short class: "schema", "envelope", "parse", "batch", "store_mismatch"
  std::string errors;      // JSON array of {path, keyword, message}
  std::string raw;         // the payload exactly as received (event text, or a whole batch)
  std::string store_id;    // as claimed by the input or the topic ("" when unknown)
  std::string agent_id;
  std::string origin;      // "mqtt", "http", "agent:<agent's input>" (quarantined at the edge and
                           // forwarded: "agent:http", "agent:adapter:door-main"; "agent" if unsaid)
  UnixMillis received_at = 0;
  UnixMillis quarantined_at = 0;
  std::int64_t replayed_at = 0;  // 0 until a replay accepted it
};

// Identifies one agent batch, so a retransmission is recognised and answered without being
// processed twice.
struct BatchReceipt {
  std::string stream_id;
  std::uint64_t batch_seq = 0;
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint32_t stored = 0;
  std::uint32_t duplicates = 0;
  std::uint32_t quarantined = 0;
  UnixMillis committed_at = 0;
};

struct CommitRequest {
  std::optional<BatchReceipt> receipt;  // set for agent batches
  std::vector<StoredEvent> events;
  std::vector<QuarantineEntry> quarantine;
};

struct CommitResult {
  std::uint32_t stored = 0;
  std::uint32_t duplicates = 0;  // events whose event_id was already stored
  std::uint32_t quarantined = 0;
  // The receipt's (stream_id, batch_seq) was committed before: nothing was written and the
  // counts are those of the first commit.
  bool batch_already_committed = false;
  std::vector<bool> duplicate_flags;  // per event of the request (empty when already committed)
  // Collector clock when the batch was committed (for a retransmission: the first commit).
  UnixMillis committed_at = 0;
  // Only with batch_already_committed: the stream's progress shows the batch committed, but its
  // receipt was pruned by retention, so the counts are unknown (reported as 0).
  bool receipt_expired = false;
};

struct QuarantineQuery {
  std::string store_id;          // "" = any
  std::string reason;            // "" = any
  UnixMillis since = 0;          // quarantined_at >= since
  std::int64_t after_id = 0;     // paging cursor: id > after_id
  std::size_t limit = 100;
  bool include_replayed = false;
};

struct EventQuery {
  std::string store_id;  // "" = any
  std::string type;      // "" = any
  UnixMillis since = 0;  // ingested_at >= since
  std::size_t limit = 100;
};

// Sequence-tracking state per agent stream, rebuilt at start from the receipts.
struct StreamProgress {
  std::string stream_id;
  std::string store_id;
  std::string agent_id;
  std::uint64_t max_batch_seq = 0;
  std::uint64_t contiguous_batch_seq = 0;  // every batch 1..this is committed
  UnixMillis last_committed_at = 0;
};

// Thread-safety: commit() from the ingest worker(s); queries from HTTP threads. Implementations
// serialize writes internally; reads do not block writes (WAL).
class EventStore {
 public:
  virtual ~EventStore() = default;

  // One transaction: receipt check, events (INSERT OR IGNORE by event_id), quarantine rows,
  // receipt. Durable when it returns.
  virtual Result<CommitResult> commit(const CommitRequest& request) = 0;

  virtual Result<std::vector<QuarantineEntry>> list_quarantine(const QuarantineQuery& q) = 0;
  virtual Result<std::optional<QuarantineEntry>> get_quarantine(std::int64_t id) = 0;
  // Marks entries as replayed (after their content was accepted by a replay).
  virtual Status mark_replayed(const std::vector<std::int64_t>& ids, UnixMillis at) = 0;
  virtual Result<std::uint64_t> count_quarantine(const std::string& reason) = 0;

  virtual Result<std::vector<StoredEvent>> list_events(const EventQuery& q) = 0;
  virtual Result<std::optional<StoredEvent>> get_event(const std::string& event_id) = 0;
  virtual Result<std::uint64_t> count_events() = 0;
  // Events in commit order (row order) after the cursor `after_row` (0 = from the start) that
  // were ingested at or after `ingested_since`, at most `limit`; `next_row` receives the cursor
  // of the next page (unchanged when the page is empty). Replays (segment backfills) page
  // through the store with it.
  virtual Result<std::vector<StoredEvent>> scan_events(std::int64_t after_row,
                                                       UnixMillis ingested_since,
                                                       std::size_t limit,
                                                       std::int64_t& next_row) = 0;
  // Deletes the stored events with these ids (erasure) in one transaction; ids not stored (and
  // strings that are not UUIDs, which cannot be) are skipped. Returns how many were deleted.
  virtual Result<std::uint64_t> delete_events(const std::vector<std::string>& event_ids) = 0;
  // Retention: deletes up to `max_rows` events with ingested_at < `cutoff`, oldest first, in one
  // transaction, and returns how many went (fewer than max_rows: none older is left).
  virtual Result<std::uint64_t> delete_events_before(UnixMillis cutoff, std::size_t max_rows) = 0;
  // Retention of quarantined input (raw bytes that may hold personal data): the same, by
  // quarantined_at, replayed entries included.
  virtual Result<std::uint64_t> delete_quarantine_before(UnixMillis cutoff,
                                                         std::size_t max_rows) = 0;

  virtual Result<std::vector<StreamProgress>> load_stream_progress() = 0;
};
using EventStorePtr = std::unique_ptr<EventStore>;

}  // namespace aisle::collector
