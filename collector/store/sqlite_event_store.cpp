#include "collector/store/sqlite_event_store.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <string_view>
#include <utility>

#include "collector/store/sqlite_event_store_schema.hpp"
#include "collector/store/sqlite_receipts.hpp"
#include "common/log.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.store");

constexpr std::uint64_t kMaxSqlInteger = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kJournalSizeLimitBytes = 64LL * 1024 * 1024;
constexpr auto kPruneInterval = std::chrono::hours(1);
constexpr auto kPruneRetryInterval = std::chrono::minutes(1);

// SQLite cache per connection, in KiB (negative cache_size). The writer's covers the hot right
// edge of the indexes; readers mostly serve recent rows.
constexpr int kWriterCacheKiB = 32 * 1024;
constexpr int kReaderCacheKiB = 8 * 1024;

constexpr const char* kInsertEvent =
    "INSERT OR IGNORE INTO events (event_id, type, schema, store_id, agent_id, channel, "
    "occurred_at, received_at, ingested_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
    "?10)";
constexpr const char* kInsertQuarantine =
    "INSERT INTO quarantine (reason, errors, raw, store_id, agent_id, origin, received_at, "
    "quarantined_at, replayed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr const char* kAddEventRows =
    "UPDATE counters SET value = value + ?1 WHERE name = 'events'";
constexpr const char* kEventColumns =
    "SELECT event_id, type, schema, store_id, agent_id, channel, occurred_at, received_at, "
    "ingested_at, payload FROM events";
constexpr const char* kQuarantineColumns =
    "SELECT id, reason, errors, raw, store_id, agent_id, origin, received_at, quarantined_at, "
    "replayed_at FROM quarantine";

std::string quoted_prefix(std::string_view text) {
  constexpr std::size_t kMax = 64;  // enough to recognise the value in a log line
  return "'" + std::string(text.substr(0, kMax)) + (text.size() > kMax ? "...'" : "'");
}

// Rejects what no retry can fix, before anything is written. `ids` receives the parsed ids.
Status validate_request(const CommitRequest& request, std::vector<Uuid>& ids) {
  ids.reserve(request.events.size());
  for (std::size_t i = 0; i < request.events.size(); ++i) {
    auto id = Uuid::parse(request.events[i].event_id);
    if (!id) {
      return make_error(ErrorCode::kInvalidArgument, "event " + std::to_string(i) + ": event_id " +
                                                         quoted_prefix(request.events[i].event_id) +
                                                         " is not a UUID");
    }
    ids.push_back(*id);
  }
  if (request.events.size() > std::numeric_limits<std::uint32_t>::max()) {
    return make_error(ErrorCode::kInvalidArgument, "too many events in one commit");
  }
  if (!request.receipt) return ok_status();
  const BatchReceipt& receipt = *request.receipt;
  if (receipt.stream_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "receipt without stream_id");
  }
  if (receipt.batch_seq == 0 || receipt.batch_seq > kMaxSqlInteger ||
      receipt.first_seq > kMaxSqlInteger || receipt.last_seq > kMaxSqlInteger) {
    return make_error(ErrorCode::kInvalidArgument,
                      "receipt " + receipt.stream_id + "/" + std::to_string(receipt.batch_seq) +
                          ": batch_seq must be 1..2^63-1 and first/last_seq below 2^63");
  }
  return ok_status();
}

StoredEvent read_event(const SqliteStatement& stmt) {
  StoredEvent e;
  const std::string_view id_bytes = stmt.column_blob(0);
  Uuid id;
  std::copy_n(id_bytes.begin(), std::min(id_bytes.size(), id.bytes.size()), id.bytes.begin());
  e.event_id = id.to_string();
  e.type = stmt.column_text(1);
  e.schema = stmt.column_text(2);
  e.store_id = stmt.column_text(3);
  e.agent_id = stmt.column_text(4);
  e.channel = stmt.column_text(5);
  e.occurred_at = stmt.column_int64(6);
  e.received_at = stmt.column_int64(7);
  e.ingested_at = stmt.column_int64(8);
  e.payload = stmt.column_text(9);
  return e;
}

QuarantineEntry read_quarantine(const SqliteStatement& stmt) {
  QuarantineEntry q;
  q.id = stmt.column_int64(0);
  q.reason = stmt.column_text(1);
  q.errors = stmt.column_text(2);
  q.raw = stmt.column_blob(3);
  q.store_id = stmt.column_text(4);
  q.agent_id = stmt.column_text(5);
  q.origin = stmt.column_text(6);
  q.received_at = stmt.column_int64(7);
  q.quarantined_at = stmt.column_int64(8);
  q.replayed_at = stmt.column_int64(9);
  return q;
}

// A WHERE clause built from optional filters, with its text/integer parameters in order. The
// SQL text only depends on which filters are set, so each shape is prepared once per connection.
class Filter {
 public:
  void text(const char* column_op, const std::string& value) {
    add(column_op);
    texts_.push_back({index_, &value});
  }
  void integer(const char* column_op, std::int64_t value) {
    add(column_op);
    integers_.push_back({index_, value});
  }
  void condition(const char* sql) { append(sql); }
  const std::string& sql() const { return sql_; }
  int next_index() const { return index_ + 1; }
  void bind(SqliteStatement& stmt) const {
    for (const auto& [index, value] : texts_) stmt.bind_text(index, *value);
    for (const auto& [index, value] : integers_) stmt.bind_int64(index, value);
  }

 private:
  void add(const char* column_op) {
    ++index_;
    append((std::string(column_op) + " ?" + std::to_string(index_)).c_str());
  }
  void append(const char* sql) {
    sql_ += sql_.empty() ? " WHERE " : " AND ";
    sql_ += sql;
  }
  std::string sql_;
  int index_ = 0;
  std::vector<std::pair<int, const std::string*>> texts_;
  std::vector<std::pair<int, std::int64_t>> integers_;
};

// Runs a cached query on `db` and appends each row's conversion to `out`.
template <typename Row, typename Read>
Status collect(SqliteDb& db, const std::string& sql, const Filter& filter, std::int64_t limit,
               Read read, std::vector<Row>& out) {
  auto stmt = db.cached(sql);
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  filter.bind(**stmt);
  (*stmt)->bind_int64(filter.next_index(), limit);
  for (;;) {
    auto row = (*stmt)->step();
    if (!row) return row.error();
    if (!*row) return ok_status();
    out.push_back(read(**stmt));
  }
}

Result<SqliteDb> open_connection(const SqliteEventStoreOptions& options) {
  auto db = SqliteDb::open(options.path);
  if (!db) return db.error();
  db->set_busy_timeout(static_cast<int>(
      std::clamp<std::int64_t>(options.busy_timeout_ms, 0, std::numeric_limits<int>::max())));
  return db;
}

Result<SqliteDb> open_writer(const SqliteEventStoreOptions& options) {
  WalWriterSettings settings;
  settings.synchronous_full = options.synchronous_full;
  settings.journal_size_limit_bytes = kJournalSizeLimitBytes;
  settings.cache_kib = kWriterCacheKiB;
  settings.busy_timeout_ms = static_cast<int>(
      std::clamp<std::int64_t>(options.busy_timeout_ms, 0, std::numeric_limits<int>::max()));
  settings.startup_check = options.corruption.startup_check;
  auto db = open_wal_writer(options.path, settings);
  if (!db) return db.error();
  if (auto status = migrate_event_store_schema(*db); !status) return status.error();
  return db;
}

Result<SqliteDb> open_reader(const SqliteEventStoreOptions& options) {
  auto db = open_connection(options);
  if (!db) return db.error();
  const std::string pragmas =
      "PRAGMA query_only = 1; PRAGMA cache_size = -" + std::to_string(kReaderCacheKiB) + ";";
  if (auto status = db->exec(pragmas); !status) return status.error();
  return db;
}

// A connection only checkpoints once it has opened the WAL, which its first read does.
Result<SqliteDb> open_checkpointer(const SqliteEventStoreOptions& options) {
  auto db = open_connection(options);
  if (!db) return db.error();
  auto mode = db->query_text("PRAGMA journal_mode");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return make_error(ErrorCode::kInternal, "checkpoint connection not in WAL mode: " + *mode);
  }
  return db;
}

}  // namespace

// --- lifecycle ---

Result<std::unique_ptr<SqliteEventStore>> SqliteEventStore::open(SqliteEventStoreOptions options,
                                                                 ClockPtr clock,
                                                                 metrics::Registry& registry) {
  if (options.path.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "store path is empty");
  }
  options.read_connections = std::max<std::size_t>(options.read_connections, 1);
  options.checkpoint_frames = std::max(options.checkpoint_frames, 1);
  const CorruptStoreReport report{"events", "aisle_collector_store_corrupt_total", &registry,
                                  &kLog, clock};
  const std::function<Result<std::unique_ptr<SqliteEventStore>>()> attempt = [&] {
    return open_once(options, clock, registry);
  };
  return open_or_move_aside(options.path, options.corruption, report, attempt);
}

Result<std::unique_ptr<SqliteEventStore>> SqliteEventStore::open_once(
    SqliteEventStoreOptions options, ClockPtr clock, metrics::Registry& registry) {
  auto writer = open_writer(options);
  if (!writer) return writer.error();
  std::vector<SqliteDb> readers;
  for (std::size_t i = 0; i < options.read_connections; ++i) {
    auto reader = open_reader(options);
    if (!reader) return reader.error();
    readers.push_back(std::move(*reader));
  }
  auto checkpointer = open_checkpointer(options);
  if (!checkpointer) return checkpointer.error();
  Metrics metrics{
      registry.histogram("aisle_collector_store_commit_seconds",
                         "Duration of one store commit (transaction and fsync)",
                         metrics::latency_buckets_seconds()),
      registry.counter("aisle_collector_store_commits_total", "Store commits, by result",
                       {{"result", "ok"}}),
      registry.counter("aisle_collector_store_commits_total", "Store commits, by result",
                       {{"result", "error"}}),
      registry.gauge("aisle_collector_store_events_rows", "Rows in the events table"),
      registry.counter("aisle_collector_store_receipts_pruned_total",
                       "Batch receipts deleted by retention"),
      registry.counter("aisle_collector_store_maintenance_errors_total",
                       "Failed receipt prunes and WAL checkpoints (retried)"),
  };
  std::unique_ptr<SqliteEventStore> store(
      new SqliteEventStore(std::move(options), std::move(clock), std::move(*writer),
                           std::move(readers), std::move(*checkpointer), metrics));
  auto rows = store->writer_.query_int64("SELECT value FROM counters WHERE name = 'events'");
  if (!rows) return rows.error();
  store->events_rows_ = *rows;
  store->metrics_.events_rows.set(static_cast<double>(*rows));
  kLog.info("event store open",
            {{"path", store->options_.path},
             {"events", *rows},
             {"synchronous", store->options_.synchronous_full ? "full" : "normal"}});
  return store;
}

SqliteEventStore::SqliteEventStore(SqliteEventStoreOptions options, ClockPtr clock, SqliteDb writer,
                                   std::vector<SqliteDb> readers, SqliteDb checkpointer,
                                   Metrics metrics)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      metrics_(metrics),
      writer_(std::move(writer)),
      readers_(std::move(readers)),
      checkpointer_(std::move(checkpointer)) {
  // Replaces SQLite's automatic checkpoint (which would run inside commits): the hook only
  // records the WAL size, commit() wakes the checkpoint thread.
  writer_.set_wal_hook([this](int frames) { wal_frames_ = frames; });
  checkpoint_thread_ = std::thread([this] { checkpoint_loop(); });
}

SqliteEventStore::~SqliteEventStore() {
  {
    std::lock_guard lock(checkpoint_mutex_);
    stopping_ = true;
  }
  checkpoint_wanted_.notify_one();
  checkpoint_thread_.join();
  // Closing the last connection checkpoints the WAL and removes it.
}

void SqliteEventStore::checkpoint_loop() {
  std::unique_lock lock(checkpoint_mutex_);
  for (;;) {
    checkpoint_wanted_.wait(lock, [this] { return checkpoint_pending_ || stopping_; });
    if (stopping_) return;
    checkpoint_pending_ = false;
    lock.unlock();
    // The bulk of the copy runs beside the commits. Under steady load it never catches up with
    // the last commit, and SQLite restarts the WAL from its start only when a write transaction
    // begins with every frame copied: so the tail is copied with the writer held off (a commit
    // waits for about one commit's worth of pages). Without it the WAL grows without bound.
    Status status = checkpointer_.checkpoint_passive();
    if (status) {
      std::lock_guard writer_lock(writer_mutex_);
      status = checkpointer_.checkpoint_passive();
    }
    if (!status) {
      metrics_.maintenance_errors.inc();
      kLog.warn("wal checkpoint failed; retried after the next commit",
                {{"error", status.error().message}});
    }
    lock.lock();
  }
}

// --- commit ---

Result<CommitResult> SqliteEventStore::commit(const CommitRequest& request) {
  std::vector<Uuid> ids;
  if (auto status = validate_request(request, ids); !status) return status.error();

  std::lock_guard lock(writer_mutex_);
  const auto started = clock_->now_steady();
  const UnixMillis now = clock_->now_unix_ms();
  CommitResult result;
  Status status = writer_.exec("BEGIN IMMEDIATE");
  if (status) status = commit_locked(request, ids, now, result);
  // A retransmission wrote nothing: ending its transaction either way is the same.
  if (status) status = writer_.exec("COMMIT");
  if (!status) {
    writer_.rollback_quietly();
    metrics_.commits_failed.inc();
    return status.error();
  }
  metrics_.commits_ok.inc();
  metrics_.commit_seconds.observe(
      std::chrono::duration<double>(clock_->now_steady() - started).count());
  if (!result.batch_already_committed && result.stored > 0) {
    events_rows_ += result.stored;
    metrics_.events_rows.set(static_cast<double>(events_rows_));
  }
  maybe_prune_locked();
  maybe_checkpoint_locked();
  return result;
}

Status SqliteEventStore::commit_locked(const CommitRequest& request, const std::vector<Uuid>& ids,
                                       UnixMillis now, CommitResult& result) {
  if (request.receipt) {
    auto first = find_committed_batch(writer_, *request.receipt);
    if (!first) return first.error();
    if (*first) {
      result = std::move(**first);
      return ok_status();
    }
  }
  result.committed_at = now;

  if (!request.events.empty()) {
    auto insert = writer_.cached(kInsertEvent);
    if (!insert) return insert.error();
    SqliteStatement& stmt = **insert;
    result.duplicate_flags.assign(request.events.size(), false);
    for (std::size_t i = 0; i < request.events.size(); ++i) {
      const StoredEvent& e = request.events[i];
      stmt.bind_blob(1, ids[i].bytes.data(), ids[i].bytes.size());
      stmt.bind_text(2, e.type);
      stmt.bind_text(3, e.schema);
      stmt.bind_text(4, e.store_id);
      stmt.bind_text(5, e.agent_id);
      stmt.bind_text(6, e.channel);
      stmt.bind_int64(7, e.occurred_at);
      stmt.bind_int64(8, e.received_at);
      stmt.bind_int64(9, e.ingested_at ? e.ingested_at : now);
      stmt.bind_text(10, e.payload);
      if (auto status = stmt.run(); !status) return status;
      // OR IGNORE skipped the row: the event_id is stored (or came earlier in this request).
      if (writer_.changes() == 0) {
        result.duplicate_flags[i] = true;
        ++result.duplicates;
      } else {
        ++result.stored;
      }
    }
  }

  if (!request.quarantine.empty()) {
    auto insert = writer_.cached(kInsertQuarantine);
    if (!insert) return insert.error();
    SqliteStatement& stmt = **insert;
    for (const QuarantineEntry& q : request.quarantine) {
      stmt.bind_text(1, q.reason);
      stmt.bind_text(2, q.errors);
      stmt.bind_blob(3, q.raw.data(), q.raw.size());
      stmt.bind_text(4, q.store_id);
      stmt.bind_text(5, q.agent_id);
      stmt.bind_text(6, q.origin);
      stmt.bind_int64(7, q.received_at);
      stmt.bind_int64(8, q.quarantined_at ? q.quarantined_at : now);
      stmt.bind_int64(9, q.replayed_at);
      if (auto status = stmt.run(); !status) return status;
      ++result.quarantined;
    }
  }

  if (request.receipt) {
    if (auto status = record_batch(writer_, *request.receipt, result, now); !status) {
      return status;
    }
  }
  if (result.stored > 0) {
    auto add = writer_.cached(kAddEventRows);
    if (!add) return add.error();
    (*add)->bind_int64(1, result.stored);
    if (auto status = (*add)->run(); !status) return status;
  }
  return ok_status();
}

Status SqliteEventStore::mark_replayed(const std::vector<std::int64_t>& ids, UnixMillis at) {
  std::lock_guard lock(writer_mutex_);
  Status status = writer_.exec("BEGIN IMMEDIATE");
  auto update = writer_.cached(
      "UPDATE quarantine SET replayed_at = CASE WHEN replayed_at = 0 THEN ?2 ELSE replayed_at "
      "END WHERE id = ?1");
  if (status && !update) status = update.error();
  for (std::size_t i = 0; status && i < ids.size(); ++i) {
    (*update)->bind_int64(1, ids[i]);
    (*update)->bind_int64(2, at);
    status = (*update)->run();
    if (status && writer_.changes() == 0) {
      status = make_error(ErrorCode::kNotFound,
                          "no quarantine entry " + std::to_string(ids[i]) + ": none marked");
    }
  }
  if (status) status = writer_.exec("COMMIT");
  if (!status) writer_.rollback_quietly();
  return status;
}

Result<std::uint64_t> SqliteEventStore::delete_in_transaction(
    Table table, const std::function<Result<std::uint64_t>()>& delete_rows) {
  std::lock_guard lock(writer_mutex_);
  Status status = writer_.exec("BEGIN IMMEDIATE");
  std::uint64_t deleted = 0;
  if (status) {
    auto rows = delete_rows();
    if (rows) {
      deleted = *rows;
    } else {
      status = rows.error();
    }
  }
  if (status && table == Table::kEvents) status = subtract_event_rows_locked(deleted);
  if (status) status = writer_.exec("COMMIT");
  if (!status) {
    writer_.rollback_quietly();
    return status.error();
  }
  if (table == Table::kEvents) {
    events_rows_ -= static_cast<std::int64_t>(deleted);
    metrics_.events_rows.set(static_cast<double>(events_rows_));
  }
  maybe_checkpoint_locked();
  return deleted;
}

// The oldest rows of `sql`'s table (its subquery walks the time index from the start), at most
// max_rows of them, whatever the table's size.
Result<std::uint64_t> SqliteEventStore::delete_oldest_locked(const std::string& sql,
                                                             UnixMillis cutoff,
                                                             std::size_t max_rows) {
  auto erase = writer_.cached(sql);
  if (!erase) return erase.error();
  ResetGuard guard(**erase);
  (*erase)->bind_int64(1, cutoff);
  (*erase)->bind_int64(2, static_cast<std::int64_t>(std::min<std::size_t>(
                              max_rows, static_cast<std::size_t>(kMaxSqlInteger))));
  if (auto status = (*erase)->run(); !status) return status.error();
  return static_cast<std::uint64_t>(writer_.changes());
}

Result<std::uint64_t> SqliteEventStore::delete_events(const std::vector<std::string>& event_ids) {
  return delete_in_transaction(Table::kEvents, [&]() -> Result<std::uint64_t> {
    auto erase = writer_.cached("DELETE FROM events WHERE event_id = ?1");
    if (!erase) return erase.error();
    std::uint64_t deleted = 0;
    for (const auto& text : event_ids) {
      const auto id = Uuid::parse(text);
      if (!id) continue;  // never stored: ids are canonical UUIDs
      ResetGuard guard(**erase);
      (*erase)->bind_blob(1, id->bytes.data(), id->bytes.size());
      if (auto status = (*erase)->run(); !status) return status.error();
      deleted += static_cast<std::uint64_t>(writer_.changes());
    }
    return deleted;
  });
}

Result<std::uint64_t> SqliteEventStore::delete_events_before(UnixMillis cutoff,
                                                             std::size_t max_rows) {
  return delete_in_transaction(Table::kEvents, [&] {
    // events_by_ingested is (ingested_at, row_id).
    return delete_oldest_locked(
        "DELETE FROM events WHERE row_id IN (SELECT row_id FROM events WHERE ingested_at < ?1 "
        "ORDER BY ingested_at LIMIT ?2)",
        cutoff, max_rows);
  });
}

Result<std::uint64_t> SqliteEventStore::delete_quarantine_before(UnixMillis cutoff,
                                                                 std::size_t max_rows) {
  return delete_in_transaction(Table::kQuarantine, [&] {
    return delete_oldest_locked(
        "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine WHERE quarantined_at < ?1 "
        "ORDER BY quarantined_at LIMIT ?2)",
        cutoff, max_rows);
  });
}

Status SqliteEventStore::subtract_event_rows_locked(std::uint64_t deleted) {
  if (deleted == 0) return ok_status();
  auto count = writer_.cached(kAddEventRows);
  if (!count) return count.error();
  (*count)->bind_int64(1, -static_cast<std::int64_t>(deleted));
  return (*count)->run();
}

void SqliteEventStore::maybe_checkpoint_locked() {
  if (wal_frames_ < options_.checkpoint_frames) return;
  // The background checkpointer fell far behind (a busy machine does not schedule it between
  // fast commits): copy the WAL here, holding the writer, so the WAL stays bounded whatever the
  // scheduling. Costs this one commit a checkpoint's worth of I/O.
  if (wal_frames_ >= 4 * options_.checkpoint_frames) {
    if (auto status = writer_.checkpoint_passive(); !status) {
      metrics_.maintenance_errors.inc();
      kLog.warn("inline wal checkpoint failed", {{"error", status.error().message}});
    }
  }
  {
    std::lock_guard checkpoint_lock(checkpoint_mutex_);
    checkpoint_pending_ = true;
  }
  checkpoint_wanted_.notify_one();
}

// --- retention ---

Result<std::uint64_t> SqliteEventStore::prune_receipts(std::size_t max_rows) {
  std::lock_guard lock(writer_mutex_);
  return prune_receipts_locked(max_rows);
}

Result<std::uint64_t> SqliteEventStore::prune_receipts_locked(std::size_t max_rows) {
  if (options_.receipts_retention_ms <= 0) return std::uint64_t{0};
  const UnixMillis cutoff = clock_->now_unix_ms() - options_.receipts_retention_ms;
  auto pruned = prune_receipts_before(writer_, cutoff, max_rows);
  if (!pruned) return pruned.error();
  metrics_.receipts_pruned.inc(static_cast<double>(*pruned));
  if (*pruned > 0) kLog.debug("receipts pruned", {{"rows", *pruned}, {"before", cutoff}});
  return pruned;
}

void SqliteEventStore::maybe_prune_locked() {
  const auto now = clock_->now_steady();
  if (options_.receipts_retention_ms <= 0 || now < next_prune_at_) return;
  // Bounded batches keep each prune short (it holds the write lock); a full batch means more
  // is due, so the next commit continues.
  auto pruned = prune_receipts_locked(kPruneBatchRows);
  if (!pruned) {
    metrics_.maintenance_errors.inc();
    kLog.warn("receipt pruning failed; retrying later", {{"error", pruned.error().message}});
    next_prune_at_ = now + kPruneRetryInterval;
  } else {
    next_prune_at_ = *pruned == kPruneBatchRows ? now : now + kPruneInterval;
  }
}

// --- queries ---

Result<std::vector<QuarantineEntry>> SqliteEventStore::list_quarantine(const QuarantineQuery& q) {
  Filter filter;
  filter.integer("id >", q.after_id);
  if (!q.store_id.empty()) filter.text("store_id =", q.store_id);
  if (!q.reason.empty()) filter.text("reason =", q.reason);
  if (q.since > 0) filter.integer("quarantined_at >=", q.since);
  if (!q.include_replayed) filter.condition("replayed_at = 0");
  const std::string sql = std::string(kQuarantineColumns) + filter.sql() + " ORDER BY id LIMIT ?" +
                          std::to_string(filter.next_index());
  std::vector<QuarantineEntry> out;
  auto lease = readers_.acquire();
  const auto limit = static_cast<std::int64_t>(std::min(q.limit, kMaxQueryLimit));
  if (auto status = collect(lease.db(), sql, filter, limit, read_quarantine, out); !status) {
    return status.error();
  }
  return out;
}

Result<std::optional<QuarantineEntry>> SqliteEventStore::get_quarantine(std::int64_t id) {
  Filter filter;
  filter.integer("id =", id);
  const std::string sql = std::string(kQuarantineColumns) + filter.sql() + " LIMIT ?2";
  std::vector<QuarantineEntry> out;
  auto lease = readers_.acquire();
  if (auto status = collect(lease.db(), sql, filter, 1, read_quarantine, out); !status) {
    return status.error();
  }
  if (out.empty()) return std::optional<QuarantineEntry>();
  return std::optional<QuarantineEntry>(std::move(out.front()));
}

Result<std::uint64_t> SqliteEventStore::count_quarantine(const std::string& reason) {
  auto lease = readers_.acquire();
  auto stmt =
      lease.db().cached(reason.empty() ? "SELECT count(*) FROM quarantine"
                                       : "SELECT count(*) FROM quarantine WHERE reason = ?1");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  if (!reason.empty()) (*stmt)->bind_text(1, reason);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  return static_cast<std::uint64_t>(*row ? (*stmt)->column_int64(0) : 0);
}

Result<std::vector<StoredEvent>> SqliteEventStore::list_events(const EventQuery& q) {
  Filter filter;
  if (!q.store_id.empty()) filter.text("store_id =", q.store_id);
  if (!q.type.empty()) filter.text("type =", q.type);
  if (q.since > 0) filter.integer("ingested_at >=", q.since);
  // (store_id, ingested_at) and (ingested_at) indexes end with row_id, so this order is an
  // index walk, not a sort.
  const std::string sql = std::string(kEventColumns) + filter.sql() +
                          " ORDER BY ingested_at DESC, row_id DESC LIMIT ?" +
                          std::to_string(filter.next_index());
  std::vector<StoredEvent> out;
  auto lease = readers_.acquire();
  const auto limit = static_cast<std::int64_t>(std::min(q.limit, kMaxQueryLimit));
  if (auto status = collect(lease.db(), sql, filter, limit, read_event, out); !status) {
    return status.error();
  }
  return out;
}

Result<std::vector<StoredEvent>> SqliteEventStore::scan_events(std::int64_t after_row,
                                                                UnixMillis ingested_since,
                                                                std::size_t limit,
                                                                std::int64_t& next_row) {
  // The row id is appended to the usual columns (index 10) for the cursor; the primary key walk
  // keeps commit order without a sort.
  static const std::string sql =
      std::string(kEventColumns).replace(std::string(kEventColumns).find(" FROM"), 0,
                                         ", row_id") +
      " WHERE row_id > ?1 AND ingested_at >= ?2 ORDER BY row_id LIMIT ?3";
  std::vector<StoredEvent> out;
  auto lease = readers_.acquire();
  auto stmt = lease.db().cached(sql);
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  (*stmt)->bind_int64(1, after_row);
  (*stmt)->bind_int64(2, ingested_since);
  (*stmt)->bind_int64(3, static_cast<std::int64_t>(std::min(limit, kMaxQueryLimit)));
  for (;;) {
    auto row = (*stmt)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_event(**stmt));
    next_row = (*stmt)->column_int64(10);
  }
  return out;
}

Result<std::optional<StoredEvent>> SqliteEventStore::get_event(const std::string& event_id) {
  const auto id = Uuid::parse(event_id);
  if (!id) return std::optional<StoredEvent>();
  auto lease = readers_.acquire();
  auto stmt = lease.db().cached(std::string(kEventColumns) + " WHERE event_id = ?1");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  (*stmt)->bind_blob(1, id->bytes.data(), id->bytes.size());
  auto row = (*stmt)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<StoredEvent>();
  return std::optional<StoredEvent>(read_event(**stmt));
}

Result<std::uint64_t> SqliteEventStore::count_events() {
  auto lease = readers_.acquire();
  auto stmt = lease.db().cached("SELECT value FROM counters WHERE name = 'events'");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  return static_cast<std::uint64_t>(*row ? (*stmt)->column_int64(0) : 0);
}

Result<std::vector<StreamProgress>> SqliteEventStore::load_stream_progress() {
  auto lease = readers_.acquire();
  return read_stream_progress(lease.db());
}

}  // namespace aisle::collector
