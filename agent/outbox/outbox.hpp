// Outbox: the agent's durable store-and-forward buffer (ingest -> outbox -> forwarder).
//
// An event is acknowledged to its producer only after append() returned, i.e. after the commit;
// it leaves the outbox only when the collector confirmed its own commit (ack_batch) or when it is
// evicted under quota — never critical events — which is counted and logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/wire/batch.hpp"

namespace aisle::agent {

// Eviction classes: bulk goes first, then normal, oldest first; critical never.
enum class Priority : std::uint8_t { kCritical = 0, kNormal = 1, kBulk = 2 };
const char* priority_name(Priority priority);
std::optional<Priority> parse_priority(std::string_view text);

struct OutboxRecord {
  std::string event_id;  // idempotency key: a second record with the same id is a duplicate
  char kind = 'e';       // 'e' canonical event, 'q' quarantine record (see wire/batch.hpp)
  Priority priority = Priority::kNormal;
  UnixMillis received_at = 0;
  std::string payload;  // JSON text, sent as is
};

enum class AppendOutcome : std::uint8_t {
  kInserted,
  kDuplicate,    // the event_id is already in the outbox (not yet acknowledged by the collector)
  kRefusedFull,  // over quota and nothing of a lower (or, for bulk/normal, equal) class to evict
  // bulk/normal only: the file system holding the outbox has less than min_free_disk_bytes
  // free; what is left is kept for critical records
  kRefusedDiskLow,
};

struct AppendResult {
  std::vector<AppendOutcome> outcomes;  // one per record, in order
  std::uint32_t inserted = 0;
  std::uint32_t duplicates = 0;
  std::uint32_t refused = 0;
};

// A batch as persisted: the contiguous seq range it covers and the records still present.
struct StoredBatch {
  std::uint64_t batch_seq = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  UnixMillis created_at = 0;
  std::uint32_t dropped = 0;  // seqs in range no longer present (evicted, erased)
  std::uint64_t bytes = 0;    // payload bytes of `records`
  std::vector<wire::BatchRecord> records;
};

struct BatchLimits {
  std::uint32_t max_records = 2000;
  std::uint64_t max_bytes = 1024 * 1024;
};

// Records waiting for a batch (what the forwarder's linger decision looks at).
struct PendingInfo {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::optional<UnixMillis> oldest_received_at;
};

struct OutboxStats {
  std::uint64_t rows[3] = {0, 0, 0};   // indexed by Priority
  std::uint64_t bytes[3] = {0, 0, 0};  // accounted bytes (payload + per-row overhead)
  std::uint64_t total_rows = 0;
  std::uint64_t total_bytes = 0;
  std::optional<UnixMillis> oldest_received_at;
  std::uint64_t batches = 0;     // formed, not yet acknowledged
  std::uint64_t file_bytes = 0;  // database + WAL on disk
};

// What purge_identities() removed (docs/privacy-erasure.md).
struct ErasurePurge {
  std::uint64_t events = 0;      // 'e' records
  std::uint64_t quarantine = 0;  // 'q' records, in the outbox or only in the local quarantine ring
  std::uint64_t scanned = 0;     // rows examined by this call
};

// Thread-safety: append() from any number of threads (group-committed together); the batch
// calls (form/load/pending/ack) from the forwarder thread; stats() and maintain() from any.
class Outbox {
 public:
  virtual ~Outbox() = default;

  // Stores the records durably and returns after the commit. Concurrent calls share one
  // transaction (group commit). Over quota, evicts bulk then normal, oldest first.
  virtual Result<AppendResult> append(std::vector<OutboxRecord> records) = 0;

  // Forms the next batch from the oldest records not yet in a batch, persists it with the next
  // batch_seq, and returns it; nullopt when nothing is pending.
  virtual Result<std::optional<StoredBatch>> form_batch(const BatchLimits& limits) = 0;
  // Formed but unacknowledged batches, oldest first, with their current records (after a
  // restart, or to resend after an ack timeout).
  virtual Result<std::vector<StoredBatch>> unacked_batches() = 0;
  virtual Result<StoredBatch> load_batch(std::uint64_t batch_seq) = 0;
  // The batch_seq the next form_batch() will assign (persisted, so it survives restarts).
  virtual std::uint64_t next_batch_seq() = 0;
  // The collector committed the batch: delete it and its records.
  virtual Status ack_batch(std::uint64_t batch_seq) = 0;

  virtual PendingInfo pending() const = 0;
  virtual OutboxStats stats() const = 0;
  // Identifies this outbox's life (wire::BatchHeader::stream_id); new when the database is new.
  virtual std::string stream_id() const = 0;

  // Periodic housekeeping: expire non-critical records older than the age quota, reclaim free
  // pages (incremental vacuum), checkpoint and truncate the WAL.
  virtual Status maintain() = 0;

  // Called (on the appending thread, after the commit) whenever records were added.
  virtual void set_append_listener(std::function<void()> listener) = 0;

  // --- erasure (GDPR Art. 17) ---

  // Deletes every record whose identities hold one of `identities` ("type:value"): events by
  // their `identities` object, quarantine records by the identities of their raw input (or, when
  // the raw input is not JSON, by the value appearing in it as a JSON string). One scan of the
  // outbox in chunks, each its own transaction. The totals are kept under `erasure_id` in the
  // same transactions, so a call repeated after a crash returns what every run removed.
  // Records of formed batches are removed too (a resend reports them as dropped). Blocks:
  // seconds for a full outbox (docs/privacy-erasure.md, "Cost"). kInvalidArgument for an
  // identity without ':' or an erasure_id that is not 1-64 of [A-Za-z0-9-].
  virtual Result<ErasurePurge> purge_identities(const std::string& erasure_id,
                                                const std::vector<std::string>& identities) = 0;
  // The erasure ledger: the receipt recorded for `erasure_id` (nullopt when none), and recording
  // it (which also drops the purge totals kept for it). Receipts are kept indefinitely: they
  // hold counts and ids, no personal data.
  virtual Result<std::optional<std::string>> erasure_receipt(const std::string& erasure_id) = 0;
  virtual Status record_erasure_receipt(const std::string& erasure_id,
                                        const std::string& receipt) = 0;
};
using OutboxPtr = std::unique_ptr<Outbox>;

}  // namespace aisle::agent
