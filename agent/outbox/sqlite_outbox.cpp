// SqliteOutbox: open, append (group commit) and the transaction helpers. Batches and stats are in
// sqlite_outbox_batches.cpp, quota eviction and maintenance in sqlite_outbox_quota.cpp.
#include "agent/outbox/sqlite_outbox.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

#include "agent/outbox/sqlite_outbox_internal.hpp"
#include "agent/outbox/sqlite_outbox_schema.hpp"

namespace aisle::agent {
namespace {

constexpr Priority kAllPriorities[] = {Priority::kCritical, Priority::kNormal, Priority::kBulk};

Status validate_records(const std::vector<OutboxRecord>& records, std::uint64_t& payload_bytes) {
  payload_bytes = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const OutboxRecord& r = records[i];
    const char* problem = nullptr;
    if (r.event_id.empty()) {
      problem = "empty event_id";
    } else if (r.kind != 'e' && r.kind != 'q') {
      problem = "kind must be 'e' or 'q'";
    } else if (priority_index(r.priority) > 2) {
      problem = "unknown priority";
    }
    if (problem != nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        "outbox record " + std::to_string(i) + ": " + problem);
    }
    payload_bytes += r.payload.size();
  }
  return ok_status();
}

}  // namespace

const char* durability_name(OutboxDurability durability) {
  return durability == OutboxDurability::kFull ? "full" : "normal";
}

std::optional<OutboxDurability> parse_durability(std::string_view text) {
  if (text == "full") return OutboxDurability::kFull;
  if (text == "normal") return OutboxDurability::kNormal;
  return std::nullopt;
}

// --- open ---

Result<std::unique_ptr<SqliteOutbox>> SqliteOutbox::open(SqliteOutboxOptions options,
                                                         ClockPtr clock,
                                                         metrics::Registry& registry) {
  if (options.path.empty()) return make_error(ErrorCode::kInvalidArgument, "outbox: empty path");
  if (options.max_bytes == 0 || options.max_rows == 0 || options.max_age_ms <= 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "outbox: max_bytes, max_rows and max_age_ms must be positive");
  }
  if (options.hard_max_bytes == 0) {
    options.hard_max_bytes = options.max_bytes + options.max_bytes / 10;
  }
  if (options.hard_max_bytes < options.max_bytes) {
    return make_error(ErrorCode::kInvalidArgument, "outbox: hard_max_bytes is below max_bytes");
  }
  if (!clock) clock = SystemClock::instance();

  const CorruptStoreReport report{"outbox", "aisle_agent_store_corrupt_total", &registry,
                                  &outbox_logger(), clock};
  const std::function<Result<std::unique_ptr<SqliteOutbox>>()> attempt = [&] {
    return open_once(options, clock, registry);
  };
  return open_or_move_aside(options.path, options.corruption, report, attempt);
}

Result<std::unique_ptr<SqliteOutbox>> SqliteOutbox::open_once(const SqliteOutboxOptions& options,
                                                              const ClockPtr& clock,
                                                              metrics::Registry& registry) {
  auto db = SqliteDb::open(options.path);
  if (!db.ok()) return db.error();
  // Before anything is written: a truncated file or a damaged page deep in `records` would
  // otherwise only show on the read that reaches it, long after the agent answered 202s.
  db->set_busy_timeout(options.busy_timeout_ms);
  if (auto s = db->startup_check(options.corruption.startup_check); !s.ok()) return s.error();
  OutboxConnectionSettings settings;
  settings.synchronous_full = options.durability == OutboxDurability::kFull;
  settings.busy_timeout_ms = options.busy_timeout_ms;
  settings.journal_size_limit_bytes = static_cast<std::int64_t>(options.journal_size_limit_bytes);
  settings.max_file_bytes = static_cast<std::int64_t>(options.max_file_bytes);
  auto schema = prepare_outbox_schema(*db, settings, clock);
  if (!schema.ok()) return schema.error();
  if (!schema->incremental_vacuum) {
    outbox_logger().warn(
        "outbox database without auto_vacuum=INCREMENTAL: maintain() cannot shrink it",
        {{"path", options.path}});
  }

  std::unique_ptr<SqliteOutbox> outbox(new SqliteOutbox(options, clock, std::move(*db), registry));
  if (auto s = outbox->prepare_statements(); !s.ok()) return s.error();
  if (auto s = outbox->load_state(); !s.ok()) return s.error();
  outbox->register_gauges(registry);

  const Totals& t = outbox->shared_->totals;
  outbox_logger().info("outbox opened",
                       {{"path", outbox->options_.path},
                        {"stream_id", outbox->stream_id_},
                        {"created", schema->created},
                        {"durability", durability_name(outbox->options_.durability)},
                        {"rows", t.total_rows()},
                        {"bytes", t.total_bytes()},
                        {"pending_rows", t.pending_rows},
                        {"unacked_batches", t.batches}});
  return outbox;
}

SqliteOutbox::SqliteOutbox(SqliteOutboxOptions options, ClockPtr clock, SqliteDb db,
                           metrics::Registry& registry)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      shared_(std::make_shared<Shared>()),
      metrics_(std::make_unique<Metrics>()),
      db_(std::move(db)),
      stmts_(std::make_unique<Statements>()) {
  shared_->path = options_.path;
  shared_->clock = clock_;
  Metrics& m = *metrics_;
  for (Priority p : kAllPriorities) {
    const int i = priority_index(p);
    const metrics::Labels labels = {{"priority", priority_name(p)}};
    m.appended[i] = &registry.counter("aisle_agent_outbox_appended_total",
                                      "Records stored in the outbox", labels);
    m.refused[i] = &registry.counter("aisle_agent_outbox_refused_total",
                                     "Records refused because the outbox is full", labels);
    m.evicted_quota[i] = m.evicted_age[i] = nullptr;
    if (p == Priority::kCritical) continue;  // never evicted: no series
    const char* help = "Records deleted before acknowledgement (over quota, too old)";
    m.evicted_quota[i] = &registry.counter("aisle_agent_outbox_evicted_total", help,
                                           {{"priority", priority_name(p)}, {"reason", "quota"}});
    m.evicted_age[i] = &registry.counter("aisle_agent_outbox_evicted_total", help,
                                         {{"priority", priority_name(p)}, {"reason", "age"}});
  }
  m.duplicates = &registry.counter("aisle_agent_outbox_duplicates_total",
                                   "Records not stored: event_id already in the outbox");
  m.commits = &registry.counter("aisle_agent_outbox_commits_total",
                                "Append transactions committed (one per group commit)");
  m.commit_failures = &registry.counter("aisle_agent_outbox_commit_failures_total",
                                        "Append transactions rolled back (disk full, I/O error)");
  m.commit_seconds = &registry.histogram("aisle_agent_outbox_commit_seconds",
                                         "Duration of an append transaction, fsync included",
                                         metrics::latency_buckets_seconds());
  const char* erased_help = "Records deleted by erasure requests, by kind";
  m.erased[0] =
      &registry.counter("aisle_agent_outbox_erased_total", erased_help, {{"kind", "event"}});
  m.erased[1] =
      &registry.counter("aisle_agent_outbox_erased_total", erased_help, {{"kind", "quarantine"}});
  m.group_calls =
      &registry.histogram("aisle_agent_outbox_commit_group_calls",
                          "append() calls sharing one transaction", metrics::count_buckets());
}

SqliteOutbox::~SqliteOutbox() = default;

Status SqliteOutbox::prepare_statements() {
  struct Entry {
    SqliteStatement* target;
    const char* sql;
  };
  Statements& s = *stmts_;
  const Entry entries[] = {
      {&s.begin, "BEGIN IMMEDIATE"},
      {&s.commit, "COMMIT"},
      {&s.insert_record,
       "INSERT INTO records(seq, event_id, kind, priority, received_at, bytes, payload) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(event_id) DO NOTHING"},
      {&s.event_exists, "SELECT 1 FROM records WHERE event_id = ?1"},
      {&s.insert_quarantine,
       "INSERT INTO quarantine_local(seq, event_id, received_at, payload) VALUES (?1, ?2, ?3, ?4)"},
      {&s.trim_quarantine,
       "DELETE FROM quarantine_local WHERE id <= (SELECT max(id) FROM quarantine_local) - ?1"},
      {&s.class_candidates,
       "SELECT seq, bytes, received_at FROM records WHERE seq >= ?2 AND priority = ?1 "
       "ORDER BY seq LIMIT ?3"},
      {&s.delete_record, "DELETE FROM records WHERE seq = ?1"},
      {&s.set_meta, "UPDATE meta SET value = ?2 WHERE key = ?1"},
      {&s.first_received_after,
       "SELECT received_at FROM records WHERE seq > ?1 ORDER BY seq LIMIT 1"},
      {&s.pending_records,
       "SELECT seq, kind, payload FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
      {&s.insert_batch,
       "INSERT INTO batches(batch_seq, first_seq, last_seq, created_at) VALUES (?1, ?2, ?3, ?4)"},
      {&s.select_batch,
       "SELECT batch_seq, first_seq, last_seq, created_at FROM batches WHERE batch_seq = ?1"},
      {&s.select_batches,
       "SELECT batch_seq, first_seq, last_seq, created_at FROM batches ORDER BY batch_seq"},
      {&s.range_records,
       "SELECT seq, kind, payload FROM records WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"},
      {&s.delete_range,
       "DELETE FROM records WHERE seq BETWEEN ?1 AND ?2 RETURNING priority, bytes"},
      {&s.delete_batch, "DELETE FROM batches WHERE batch_seq = ?1"},
  };
  for (const Entry& e : entries) {
    auto stmt = db_.prepare(e.sql);
    if (!stmt.ok()) return stmt.error();
    *e.target = std::move(*stmt);
  }
  return ok_status();
}

// Recomputes every counter from the tables: the in-memory state after a crash is whatever the
// last commit left on disk.
Status SqliteOutbox::load_state() {
  std::lock_guard db_lock(db_mutex_);
  auto meta = db_.prepare("SELECT key, value FROM meta");
  if (!meta.ok()) return meta.error();
  std::int64_t meta_next_seq = -1, meta_next_batch = -1, meta_last_batched = -1;
  for (;;) {
    auto row = meta->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    const std::string_view key = meta->column_text(0);
    if (key == "stream_id") {
      stream_id_ = std::string(meta->column_text(1));
    } else if (key == "next_seq") {
      meta_next_seq = meta->column_int64(1);
    } else if (key == "next_batch_seq") {
      meta_next_batch = meta->column_int64(1);
    } else if (key == "last_batched_seq") {
      meta_last_batched = meta->column_int64(1);
    }
  }
  if (stream_id_.empty() || meta_next_seq < 1 || meta_next_batch < 1 || meta_last_batched < 0) {
    return make_error(ErrorCode::kDataLoss,
                      "outbox database " + options_.path + ": meta table incomplete or invalid");
  }
  auto max_seq = db_.query_int64("SELECT coalesce(max(seq), 0) FROM records");
  if (!max_seq.ok()) return max_seq.error();
  auto max_batch = db_.query_int64("SELECT coalesce(max(batch_seq), 0) FROM batches");
  if (!max_batch.ok()) return max_batch.error();
  // Defensive: never reuse a number that is on disk, even if meta lagged behind.
  next_seq_ = static_cast<std::uint64_t>(std::max(meta_next_seq, *max_seq + 1));
  next_batch_seq_ = static_cast<std::uint64_t>(std::max(meta_next_batch, *max_batch + 1));
  last_batched_seq_ = static_cast<std::uint64_t>(meta_last_batched);

  Totals t;
  auto classes = db_.prepare(
      "SELECT priority, count(*), coalesce(sum(bytes), 0) FROM records GROUP BY priority");
  if (!classes.ok()) return classes.error();
  for (;;) {
    auto row = classes->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    const std::int64_t p = classes->column_int64(0);
    if (p < 0 || p > 2) continue;  // excluded by the CHECK constraint
    t.rows[p] = static_cast<std::uint64_t>(classes->column_int64(1));
    t.bytes[p] = static_cast<std::uint64_t>(classes->column_int64(2)) +
                 t.rows[p] * options_.row_overhead_bytes;
  }
  const std::string after = std::to_string(last_batched_seq_);
  auto pending =
      db_.prepare("SELECT count(*), coalesce(sum(bytes), 0) FROM records WHERE seq > " + after);
  if (!pending.ok()) return pending.error();
  if (auto row = pending->step(); !row.ok()) return row.error();
  t.pending_rows = static_cast<std::uint64_t>(pending->column_int64(0));
  t.pending_bytes = static_cast<std::uint64_t>(pending->column_int64(1));
  auto batches = db_.query_int64("SELECT count(*) FROM batches");
  if (!batches.ok()) return batches.error();
  t.batches = static_cast<std::uint64_t>(*batches);
  shared_->totals = t;

  Txn txn;
  txn.totals = t;
  txn.last_batched_seq = last_batched_seq_;
  txn.oldest_dirty = txn.pending_oldest_dirty = true;
  if (auto s = refresh_oldest(txn); !s.ok()) return s;
  shared_->totals = txn.totals;
  return ok_status();
}

void SqliteOutbox::set_append_listener(std::function<void()> listener) {
  std::shared_ptr<const std::function<void()>> holder;
  if (listener) holder = std::make_shared<const std::function<void()>>(std::move(listener));
  std::lock_guard lock(listener_mutex_);
  listener_ = std::move(holder);
}

// --- append: group commit ---

Result<AppendResult> SqliteOutbox::append(std::vector<OutboxRecord> records) {
  Writer self;
  if (auto s = validate_records(records, self.payload_bytes); !s.ok()) return s.error();
  if (records.empty()) return AppendResult{};
  self.records = &records;
  self.result.outcomes.resize(records.size());

  std::unique_lock queue_lock(queue_mutex_);
  writers_.push_back(&self);
  while (!self.done && writers_.front() != &self) self.cv.wait(queue_lock);
  if (!self.done) {
    // Leader: take the queued requests (in order, up to the group cap) into one transaction.
    group_.clear();
    std::uint64_t group_bytes = 0;
    for (Writer* w : writers_) {
      if (!group_.empty() && group_bytes + w->payload_bytes > options_.max_group_bytes) break;
      group_.push_back(w);
      group_bytes += w->payload_bytes;
    }
    queue_lock.unlock();
    Status status;
    {
      std::lock_guard db_lock(db_mutex_);
      status = commit_group(group_);
    }
    std::uint32_t inserted = 0;
    queue_lock.lock();
    for (Writer* w : group_) {
      writers_.pop_front();  // the group is the front of the queue, in order
      if (!status.ok()) w->error = status.error();
      inserted += w->result.inserted;
      w->done = true;
      if (w != &self) w->cv.notify_one();  // under the lock: w may vanish once we release it
    }
    if (!writers_.empty()) writers_.front()->cv.notify_one();  // the next leader
    queue_lock.unlock();
    if (status.ok() && inserted > 0) {
      std::shared_ptr<const std::function<void()>> listener;
      {
        std::lock_guard lock(listener_mutex_);
        listener = listener_;
      }
      if (listener) (*listener)();
    }
  } else {
    queue_lock.unlock();
  }
  if (self.error) return *self.error;
  return std::move(self.result);
}

Status SqliteOutbox::commit_group(const std::vector<Writer*>& group) {
  const auto started = clock_->now_steady();
  std::size_t record_count = 0;
  Txn txn;
  Status status = begin_txn(txn);
  observe_clock(txn.next_seq);
  if (status.ok() && options_.min_free_disk_bytes > 0) {
    txn.disk_free_bytes = free_disk_bytes(options_.path);
    if (txn.disk_free_bytes) {
      shared_->disk_free_bytes.store(static_cast<double>(*txn.disk_free_bytes));
      txn.disk_low = *txn.disk_free_bytes < options_.min_free_disk_bytes;
    }
  }
  for (std::size_t g = 0; status.ok() && g < group.size(); ++g) {
    Writer& w = *group[g];
    w.result.inserted = w.result.duplicates = w.result.refused = 0;
    const std::vector<OutboxRecord>& records = *w.records;
    record_count += records.size();
    for (std::size_t i = 0; i < records.size(); ++i) {
      auto outcome = append_one(records[i], txn);
      if (!outcome.ok()) {
        status = outcome.error();
        break;
      }
      w.result.outcomes[i] = *outcome;
      switch (*outcome) {
        case AppendOutcome::kInserted: ++w.result.inserted; break;
        case AppendOutcome::kDuplicate: ++w.result.duplicates; break;
        case AppendOutcome::kRefusedFull:
        case AppendOutcome::kRefusedDiskLow: ++w.result.refused; break;
      }
    }
  }
  if (status.ok() && txn.wrote_quarantine) {
    auto& trim = stmts_->trim_quarantine;
    trim.bind_int64(1, static_cast<std::int64_t>(options_.local_quarantine_rows));
    status = trim.run();
  }
  if (status.ok()) status = commit_txn(txn);
  if (!status.ok()) {
    db_.rollback_quietly();
    metrics_->commit_failures->inc();
    outbox_logger().warn("outbox append rolled back",
                         {{"error", status.error().message},
                          {"code", error_code_name(status.error().code)},
                          {"records", record_count},
                          {"calls", group.size()}});
    return status;
  }
  publish(txn);

  Metrics& m = *metrics_;
  for (int i = 0; i < 3; ++i) {
    if (txn.appended[i] > 0) m.appended[i]->inc(static_cast<double>(txn.appended[i]));
    if (txn.refused[i] > 0) m.refused[i]->inc(static_cast<double>(txn.refused[i]));
  }
  if (txn.duplicates > 0) m.duplicates->inc(static_cast<double>(txn.duplicates));
  m.commits->inc();
  m.group_calls->observe(static_cast<double>(group.size()));
  m.commit_seconds->observe(std::chrono::duration<double>(clock_->now_steady() - started).count());
  log_and_count_evictions(txn, "quota");
  if (txn.refused_disk_low > 0) {
    outbox_logger().warn("disk space low: bulk and normal records refused, kept for critical",
                         {{"normal", txn.refused[1]},
                          {"bulk", txn.refused[2]},
                          {"free_bytes", txn.disk_free_bytes.value_or(0)},
                          {"min_free_disk_bytes", options_.min_free_disk_bytes},
                          {"path", options_.path}});
  } else if (txn.refused[0] + txn.refused[1] + txn.refused[2] > 0) {
    const Totals& t = txn.totals;
    outbox_logger().warn("outbox full: records refused", {{"critical", txn.refused[0]},
                                                          {"normal", txn.refused[1]},
                                                          {"bulk", txn.refused[2]},
                                                          {"rows", t.total_rows()},
                                                          {"bytes", t.total_bytes()}});
  }
  return ok_status();
}

void SqliteOutbox::observe_clock(std::uint64_t next_seq) {
  const std::int64_t step =
      clock_steps_.observe(clock_->now_unix_ms(), clock_->now_steady(), next_seq);
  if (step != 0) {
    // Order is by seq and batching by the monotonic clock, so nothing is reordered; the new
    // received_at stamps jump with the clock, and age expiry discounts forward steps.
    outbox_logger().warn("wall clock stepped", {{"step_ms", step},
                                                {"direction", step > 0 ? "forward" : "back"},
                                                {"next_seq", next_seq}});
  }
}

Result<AppendOutcome> SqliteOutbox::append_one(const OutboxRecord& record, Txn& txn) {
  const int p = priority_index(record.priority);
  const std::uint64_t payload_bytes = record.payload.size();
  const std::uint64_t accounted = payload_bytes + options_.row_overhead_bytes;
  Totals& t = txn.totals;
  // Only on the refusal paths below: there the UNIQUE index cannot tell a duplicate (which is
  // answered as such, and must not evict anything) from a new record.
  auto stored_already = [&]() -> Result<bool> {
    auto& exists = stmts_->event_exists;
    ResetGuard guard(exists);
    exists.bind_text(1, record.event_id);
    return exists.step();
  };
  if (txn.disk_low && record.priority != Priority::kCritical) {
    auto duplicate = stored_already();
    if (!duplicate.ok()) return duplicate.error();
    if (*duplicate) {
      ++txn.duplicates;
      return AppendOutcome::kDuplicate;
    }
    ++txn.refused[p];
    ++txn.refused_disk_low;
    return AppendOutcome::kRefusedDiskLow;
  }
  const bool fits =
      t.total_rows() + 1 <= options_.max_rows && t.total_bytes() + accounted <= options_.max_bytes;
  if (!fits) {
    auto duplicate = stored_already();
    if (!duplicate.ok()) return duplicate.error();
    if (*duplicate) {
      ++txn.duplicates;
      return AppendOutcome::kDuplicate;
    }
    auto room = make_room(record.priority, accounted, txn);
    if (!room.ok()) return room.error();
    if (!*room) {
      ++txn.refused[p];
      return AppendOutcome::kRefusedFull;
    }
  }

  const std::uint64_t seq = txn.next_seq;
  {
    auto& insert = stmts_->insert_record;
    ResetGuard guard(insert);
    insert.bind_int64(1, static_cast<std::int64_t>(seq));
    insert.bind_text(2, record.event_id);
    insert.bind_text(3, std::string_view(&record.kind, 1));
    insert.bind_int64(4, p);
    insert.bind_int64(5, record.received_at);
    insert.bind_int64(6, static_cast<std::int64_t>(payload_bytes));
    insert.bind_blob(7, record.payload);
    if (auto done = insert.step(); !done.ok()) return done.error();
  }
  if (db_.changes() == 0) {  // ON CONFLICT(event_id) DO NOTHING: also within this group
    ++txn.duplicates;
    return AppendOutcome::kDuplicate;
  }
  ++txn.next_seq;
  if (t.total_rows() == 0) t.oldest_received_at = record.received_at;
  if (t.pending_rows == 0) t.pending_oldest_received_at = record.received_at;
  t.rows[p] += 1;
  t.bytes[p] += accounted;
  t.pending_rows += 1;
  t.pending_bytes += payload_bytes;
  ++txn.appended[p];

  if (record.kind == 'q' && options_.local_quarantine_rows > 0) {
    auto& quarantine = stmts_->insert_quarantine;
    quarantine.bind_int64(1, static_cast<std::int64_t>(seq));
    quarantine.bind_text(2, record.event_id);
    quarantine.bind_int64(3, record.received_at);
    quarantine.bind_blob(4, record.payload);
    if (auto s = quarantine.run(); !s.ok()) return s.error();
    txn.wrote_quarantine = true;
  }
  return AppendOutcome::kInserted;
}

// --- transactions ---

Status SqliteOutbox::begin_txn(Txn& txn) {
  txn.totals = shared_->totals;  // only db_mutex_ holders write it, so no lock is needed to read
  txn.next_seq = next_seq_;
  txn.next_batch_seq = next_batch_seq_;
  txn.last_batched_seq = last_batched_seq_;
  for (int c = 0; c < 3; ++c) {
    txn.class_cursor[c] = class_cursor_[c];
    candidates_[c].clear();
    candidate_pos_[c] = 0;
  }
  return stmts_->begin.run();
}

Status SqliteOutbox::refresh_oldest(Txn& txn) {
  auto& query = stmts_->first_received_after;
  auto first_after = [&query](std::uint64_t seq) -> Result<std::optional<UnixMillis>> {
    ResetGuard guard(query);
    query.bind_int64(1, static_cast<std::int64_t>(seq));
    auto row = query.step();
    if (!row.ok()) return row.error();
    if (!*row) return std::optional<UnixMillis>();
    return std::optional<UnixMillis>(query.column_int64(0));
  };
  Totals& t = txn.totals;
  if (txn.oldest_dirty) {
    auto oldest = first_after(0);
    if (!oldest.ok()) return oldest.error();
    t.oldest_received_at = *oldest;
  }
  if (txn.pending_oldest_dirty) {
    auto oldest = first_after(txn.last_batched_seq);
    if (!oldest.ok()) return oldest.error();
    t.pending_oldest_received_at = *oldest;
  }
  txn.oldest_dirty = txn.pending_oldest_dirty = false;
  return ok_status();
}

Status SqliteOutbox::commit_txn(Txn& txn) {
  if (auto s = refresh_oldest(txn); !s.ok()) return s;
  auto& set_meta = stmts_->set_meta;
  const std::pair<const char*, std::uint64_t> updates[] = {
      {"next_seq", txn.next_seq},
      {"next_batch_seq", txn.next_batch_seq},
      {"last_batched_seq", txn.last_batched_seq}};
  const std::uint64_t current[] = {next_seq_, next_batch_seq_, last_batched_seq_};
  for (std::size_t i = 0; i < 3; ++i) {
    if (updates[i].second == current[i]) continue;  // one UPDATE per changed key
    set_meta.bind_text(1, updates[i].first);
    set_meta.bind_int64(2, static_cast<std::int64_t>(updates[i].second));
    if (auto s = set_meta.run(); !s.ok()) return s;
  }
  return stmts_->commit.run();
}

void SqliteOutbox::publish(const Txn& txn) {
  next_seq_ = txn.next_seq;
  next_batch_seq_ = txn.next_batch_seq;
  last_batched_seq_ = txn.last_batched_seq;
  for (int c = 0; c < 3; ++c) class_cursor_[c] = txn.class_cursor[c];
  std::lock_guard lock(shared_->mutex);
  shared_->totals = txn.totals;
}

}  // namespace aisle::agent
