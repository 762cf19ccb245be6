// SqliteOutbox: batches (form, reload, ack), stats and the gauges.
#include <algorithm>
#include <utility>

#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/outbox/sqlite_outbox_internal.hpp"

namespace aisle::agent {
namespace {

StoredBatch batch_header(const SqliteStatement& row) {
  StoredBatch batch;
  batch.batch_seq = static_cast<std::uint64_t>(row.column_int64(0));
  batch.first_seq = static_cast<std::uint64_t>(row.column_int64(1));
  batch.last_seq = static_cast<std::uint64_t>(row.column_int64(2));
  batch.created_at = row.column_int64(3);
  return batch;
}

wire::BatchRecord batch_record(const SqliteStatement& row) {
  wire::BatchRecord record;
  record.seq = static_cast<std::uint64_t>(row.column_int64(0));
  const std::string_view kind = row.column_text(1);
  record.kind = kind.empty() ? 'e' : kind[0];
  record.json = std::string(row.column_blob(2));
  return record;
}

}  // namespace

// --- batches ---

Result<std::optional<StoredBatch>> SqliteOutbox::form_batch(const BatchLimits& limits) {
  std::lock_guard db_lock(db_mutex_);
  if (shared_->totals.pending_rows == 0) return std::optional<StoredBatch>();
  Txn txn;
  if (auto s = begin_txn(txn); !s.ok()) return s.error();
  auto fail = [this](Error error) {
    db_.rollback_quietly();
    return error;
  };

  StoredBatch batch;
  batch.batch_seq = txn.next_batch_seq;
  batch.first_seq = txn.last_batched_seq + 1;
  batch.created_at = clock_->now_unix_ms();
  {
    auto& query = stmts_->pending_records;
    ResetGuard guard(query);
    query.bind_int64(1, static_cast<std::int64_t>(txn.last_batched_seq));
    query.bind_int64(2, std::max<std::uint32_t>(1, limits.max_records));
    for (;;) {
      auto row = query.step();
      if (!row.ok()) return fail(row.error());
      if (!*row) break;
      const std::uint64_t size = query.column_blob(2).size();
      // At least one record, even one larger than max_bytes on its own.
      if (!batch.records.empty() && batch.bytes + size > limits.max_bytes) break;
      batch.records.push_back(batch_record(query));
      batch.bytes += size;
    }
  }
  if (batch.records.empty()) {
    return fail(make_error(ErrorCode::kInternal,
                           "outbox counters list pending records but none was found"));
  }
  batch.last_seq = batch.records.back().seq;
  batch.dropped =
      static_cast<std::uint32_t>(batch.last_seq - batch.first_seq + 1 - batch.records.size());

  auto& insert = stmts_->insert_batch;
  insert.bind_int64(1, static_cast<std::int64_t>(batch.batch_seq));
  insert.bind_int64(2, static_cast<std::int64_t>(batch.first_seq));
  insert.bind_int64(3, static_cast<std::int64_t>(batch.last_seq));
  insert.bind_int64(4, batch.created_at);
  if (auto s = insert.run(); !s.ok()) return fail(s.error());

  Totals& t = txn.totals;
  t.pending_rows -= batch.records.size();
  t.pending_bytes -= batch.bytes;
  t.batches += 1;
  txn.next_batch_seq += 1;
  txn.last_batched_seq = batch.last_seq;
  txn.pending_oldest_dirty = true;
  if (auto s = commit_txn(txn); !s.ok()) return fail(s.error());
  publish(txn);
  return std::optional<StoredBatch>(std::move(batch));
}

// Re-reads the records still present in the batch's range (caller holds db_mutex_).
Result<StoredBatch> SqliteOutbox::read_batch_records(StoredBatch batch) {
  auto& query = stmts_->range_records;
  ResetGuard guard(query);
  query.bind_int64(1, static_cast<std::int64_t>(batch.first_seq));
  query.bind_int64(2, static_cast<std::int64_t>(batch.last_seq));
  for (;;) {
    auto row = query.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    batch.records.push_back(batch_record(query));
    batch.bytes += batch.records.back().json.size();
  }
  batch.dropped =
      static_cast<std::uint32_t>(batch.last_seq - batch.first_seq + 1 - batch.records.size());
  return batch;
}

Result<std::vector<StoredBatch>> SqliteOutbox::unacked_batches() {
  std::lock_guard db_lock(db_mutex_);
  std::vector<StoredBatch> headers;
  {
    auto& query = stmts_->select_batches;
    ResetGuard guard(query);
    for (;;) {
      auto row = query.step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      headers.push_back(batch_header(query));
    }
  }
  std::vector<StoredBatch> out;
  out.reserve(headers.size());
  for (StoredBatch& header : headers) {
    auto batch = read_batch_records(std::move(header));
    if (!batch.ok()) return batch.error();
    out.push_back(std::move(*batch));
  }
  return out;
}

Result<StoredBatch> SqliteOutbox::load_batch(std::uint64_t batch_seq) {
  std::lock_guard db_lock(db_mutex_);
  StoredBatch header;
  {
    auto& query = stmts_->select_batch;
    ResetGuard guard(query);
    query.bind_int64(1, static_cast<std::int64_t>(batch_seq));
    auto row = query.step();
    if (!row.ok()) return row.error();
    if (!*row) {
      return make_error(ErrorCode::kNotFound, "outbox batch " + std::to_string(batch_seq) +
                                                  " is not pending (acknowledged or never formed)");
    }
    header = batch_header(query);
  }
  return read_batch_records(std::move(header));
}

Status SqliteOutbox::ack_batch(std::uint64_t batch_seq) {
  std::lock_guard db_lock(db_mutex_);
  Txn txn;
  if (auto s = begin_txn(txn); !s.ok()) return s;
  auto fail = [this](Error error) {
    db_.rollback_quietly();
    return error;
  };
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  {
    auto& query = stmts_->select_batch;
    ResetGuard guard(query);
    query.bind_int64(1, static_cast<std::int64_t>(batch_seq));
    auto row = query.step();
    if (!row.ok()) return fail(row.error());
    if (!*row) {
      db_.rollback_quietly();
      return ok_status();  // already acknowledged (a repeated ack) or unknown: nothing to do
    }
    first_seq = static_cast<std::uint64_t>(query.column_int64(1));
    last_seq = static_cast<std::uint64_t>(query.column_int64(2));
  }
  Totals& t = txn.totals;
  {
    auto& del = stmts_->delete_range;
    ResetGuard guard(del);
    del.bind_int64(1, static_cast<std::int64_t>(first_seq));
    del.bind_int64(2, static_cast<std::int64_t>(last_seq));
    for (;;) {
      auto row = del.step();
      if (!row.ok()) return fail(row.error());
      if (!*row) break;
      const std::int64_t p = del.column_int64(0);
      if (p < 0 || p > 2) continue;
      t.rows[p] -= 1;
      t.bytes[p] -= static_cast<std::uint64_t>(del.column_int64(1)) + options_.row_overhead_bytes;
    }
  }
  auto& del_batch = stmts_->delete_batch;
  del_batch.bind_int64(1, static_cast<std::int64_t>(batch_seq));
  if (auto s = del_batch.run(); !s.ok()) return fail(s.error());
  t.batches -= 1;
  txn.oldest_dirty = true;
  if (auto s = commit_txn(txn); !s.ok()) return fail(s.error());
  publish(txn);
  return ok_status();
}

// --- counters ---

std::uint64_t SqliteOutbox::next_batch_seq() {
  std::lock_guard db_lock(db_mutex_);
  return next_batch_seq_;
}

PendingInfo SqliteOutbox::pending() const {
  std::lock_guard lock(shared_->mutex);
  const Totals& t = shared_->totals;
  return PendingInfo{t.pending_rows, t.pending_bytes, t.pending_oldest_received_at};
}

OutboxStats SqliteOutbox::stats() const {
  OutboxStats out;
  {
    std::lock_guard lock(shared_->mutex);
    const Totals& t = shared_->totals;
    for (int i = 0; i < 3; ++i) {
      out.rows[i] = t.rows[i];
      out.bytes[i] = t.bytes[i];
    }
    out.total_rows = t.total_rows();
    out.total_bytes = t.total_bytes();
    out.oldest_received_at = t.oldest_received_at;
    out.batches = t.batches;
  }
  out.file_bytes = database_file_bytes(options_.path);
  return out;
}

void SqliteOutbox::register_gauges(metrics::Registry& registry) {
  // The callbacks hold the shared state, not `this`: the registry may outlive the outbox.
  std::shared_ptr<const Shared> shared = shared_;
  for (Priority p : {Priority::kCritical, Priority::kNormal, Priority::kBulk}) {
    const int i = priority_index(p);
    const metrics::Labels labels = {{"priority", priority_name(p)}};
    registry.gauge_callback("aisle_agent_outbox_backlog_events",
                            "Records in the outbox (pending and in unacknowledged batches)", labels,
                            [shared, i] {
                              std::lock_guard lock(shared->mutex);
                              return static_cast<double>(shared->totals.rows[i]);
                            });
    registry.gauge_callback("aisle_agent_outbox_backlog_bytes",
                            "Accounted bytes (payload + per-row overhead) in the outbox", labels,
                            [shared, i] {
                              std::lock_guard lock(shared->mutex);
                              return static_cast<double>(shared->totals.bytes[i]);
                            });
  }
  registry.gauge_callback("aisle_agent_outbox_oldest_event_age_seconds",
                          "Age of the oldest record in the outbox (0 when empty)", {}, [shared] {
                            std::optional<UnixMillis> oldest;
                            {
                              std::lock_guard lock(shared->mutex);
                              oldest = shared->totals.oldest_received_at;
                            }
                            if (!oldest) return 0.0;
                            const UnixMillis age = shared->clock->now_unix_ms() - *oldest;
                            return std::max<double>(0, static_cast<double>(age) / 1000.0);
                          });
  registry.gauge_callback(
      "aisle_agent_outbox_file_bytes", "Outbox database + WAL size on disk", {},
      [shared] { return static_cast<double>(database_file_bytes(shared->path)); });
  registry.gauge_callback(
      "aisle_agent_outbox_disk_free_bytes",
      "Free bytes on the outbox's file system at the last append (-1 before the first)", {},
      [shared] { return shared->disk_free_bytes.load(); });
  registry.gauge_callback("aisle_agent_outbox_batches_unacked",
                          "Batches formed and not yet acknowledged", {}, [shared] {
                            std::lock_guard lock(shared->mutex);
                            return static_cast<double>(shared->totals.batches);
                          });
}

}  // namespace aisle::agent
