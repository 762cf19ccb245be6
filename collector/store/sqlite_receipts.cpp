#include "collector/store/sqlite_receipts.hpp"

#include <initializer_list>
#include <string>

namespace aisle::collector {
namespace {

std::int64_t sql_int(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

// Binds (stream_id, values...) to ?1, ?2, ... of a cached statement.
Result<SqliteStatement*> prepare_for_stream(SqliteDb& db, const std::string& sql,
                                            const std::string& stream_id,
                                            std::initializer_list<std::int64_t> values) {
  auto stmt = db.cached(sql);
  if (!stmt) return stmt.error();
  (*stmt)->bind_text(1, stream_id);
  int index = 2;
  for (const std::int64_t value : values) (*stmt)->bind_int64(index++, value);
  return stmt;
}

// A single-row query of one integer column; nullopt when there is no row.
Result<std::optional<std::int64_t>> query_int(SqliteDb& db, const std::string& sql,
                                              const std::string& stream_id,
                                              std::initializer_list<std::int64_t> values) {
  auto stmt = prepare_for_stream(db, sql, stream_id, values);
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>((*stmt)->column_int64(0));
}

Status run(SqliteDb& db, const std::string& sql, const std::string& stream_id,
           std::initializer_list<std::int64_t> values) {
  auto stmt = prepare_for_stream(db, sql, stream_id, values);
  if (!stmt) return stmt.error();
  return (*stmt)->run();
}

const std::string kInsertIsland =
    "INSERT INTO stream_islands (stream_id, first_seq, last_seq) VALUES (?1, ?2, ?3)";
const std::string kExtendIsland =  // ?2 first_seq of the island, ?3 its new last_seq
    "UPDATE stream_islands SET last_seq = ?3 WHERE stream_id = ?1 AND first_seq = ?2";
const std::string kDeleteIsland =
    "DELETE FROM stream_islands WHERE stream_id = ?1 AND first_seq = ?2";
const std::string kIslandStartingAt =
    "SELECT last_seq FROM stream_islands WHERE stream_id = ?1 AND first_seq = ?2";
const std::string kIslandEndingAt =
    "SELECT first_seq FROM stream_islands WHERE stream_id = ?1 AND last_seq = ?2";

// Adds batch `seq` (above contiguous + 1) to the islands, merging with its neighbours so the
// runs stay disjoint and non-adjacent.
Status add_to_islands(SqliteDb& db, const std::string& stream, std::int64_t seq) {
  auto left = query_int(db, kIslandEndingAt, stream, {seq - 1});  // [first, seq - 1]
  if (!left) return left.error();
  auto right = query_int(db, kIslandStartingAt, stream, {seq + 1});  // [seq + 1, last]
  if (!right) return right.error();
  if (*right) {
    if (auto s = run(db, kDeleteIsland, stream, {seq + 1}); !s) return s;
  }
  const std::int64_t last = right->value_or(seq);
  if (*left) return run(db, kExtendIsland, stream, {**left, last});
  return run(db, kInsertIsland, stream, {seq, last});
}

Status advance_stream(SqliteDb& db, const BatchReceipt& receipt, UnixMillis committed_at) {
  const std::int64_t seq = sql_int(receipt.batch_seq);
  auto current = query_int(db, "SELECT contiguous_batch_seq FROM streams WHERE stream_id = ?1",
                           receipt.stream_id, {});
  if (!current) return current.error();
  std::int64_t contiguous = current->value_or(0);
  if (seq == contiguous + 1) {
    contiguous = seq;
    // The batch may close a gap: absorb the island that starts right after it.
    auto island = query_int(db, kIslandStartingAt, receipt.stream_id, {seq + 1});
    if (!island) return island.error();
    if (*island) {
      contiguous = **island;
      if (auto s = run(db, kDeleteIsland, receipt.stream_id, {seq + 1}); !s) return s;
    }
  } else if (auto s = add_to_islands(db, receipt.stream_id, seq); !s) {
    return s;
  }

  auto upsert = db.cached(
      "INSERT INTO streams (stream_id, store_id, agent_id, max_batch_seq, contiguous_batch_seq, "
      "last_committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (stream_id) DO UPDATE SET "
      "store_id = excluded.store_id, agent_id = excluded.agent_id, "
      "max_batch_seq = max(max_batch_seq, excluded.max_batch_seq), "
      "contiguous_batch_seq = excluded.contiguous_batch_seq, "
      "last_committed_at = excluded.last_committed_at");
  if (!upsert) return upsert.error();
  SqliteStatement& stmt = **upsert;
  stmt.bind_text(1, receipt.stream_id);
  stmt.bind_text(2, receipt.store_id);
  stmt.bind_text(3, receipt.agent_id);
  stmt.bind_int64(4, seq);
  stmt.bind_int64(5, contiguous);
  stmt.bind_int64(6, committed_at);
  return stmt.run();
}

}  // namespace

Result<std::optional<CommitResult>> find_committed_batch(SqliteDb& db,
                                                         const BatchReceipt& receipt) {
  auto lookup = db.cached(
      "SELECT stored, duplicates, quarantined, committed_at FROM receipts "
      "WHERE stream_id = ?1 AND batch_seq = ?2");
  if (!lookup) return lookup.error();
  {
    SqliteStatement& stmt = **lookup;
    ResetGuard guard(stmt);
    stmt.bind_text(1, receipt.stream_id);
    stmt.bind_int64(2, sql_int(receipt.batch_seq));
    auto row = stmt.step();
    if (!row) return row.error();
    if (*row) {
      CommitResult first;
      first.batch_already_committed = true;
      first.stored = static_cast<std::uint32_t>(stmt.column_int64(0));
      first.duplicates = static_cast<std::uint32_t>(stmt.column_int64(1));
      first.quarantined = static_cast<std::uint32_t>(stmt.column_int64(2));
      first.committed_at = stmt.column_int64(3);
      return std::optional<CommitResult>(std::move(first));
    }
  }
  // No receipt: still committed if the stream's progress covers the batch (receipt pruned).
  auto covered = query_int(
      db,
      "SELECT EXISTS (SELECT 1 FROM streams WHERE stream_id = ?1 AND contiguous_batch_seq >= ?2)"
      " OR EXISTS (SELECT 1 FROM stream_islands WHERE stream_id = ?1 AND first_seq <= ?2 "
      "AND last_seq >= ?2)",
      receipt.stream_id, {sql_int(receipt.batch_seq)});
  if (!covered) return covered.error();
  if (!*covered || **covered == 0) return std::optional<CommitResult>();
  CommitResult expired;
  expired.batch_already_committed = true;
  expired.receipt_expired = true;
  return std::optional<CommitResult>(std::move(expired));
}

Status record_batch(SqliteDb& db, const BatchReceipt& receipt, const CommitResult& counts,
                    UnixMillis committed_at) {
  auto insert = db.cached(
      "INSERT INTO receipts (stream_id, batch_seq, tenant, store_id, agent_id, first_seq, "
      "last_seq, stored, duplicates, quarantined, committed_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!insert) return insert.error();
  SqliteStatement& stmt = **insert;
  stmt.bind_text(1, receipt.stream_id);
  stmt.bind_int64(2, sql_int(receipt.batch_seq));
  stmt.bind_text(3, receipt.tenant);
  stmt.bind_text(4, receipt.store_id);
  stmt.bind_text(5, receipt.agent_id);
  stmt.bind_int64(6, sql_int(receipt.first_seq));
  stmt.bind_int64(7, sql_int(receipt.last_seq));
  stmt.bind_int64(8, counts.stored);
  stmt.bind_int64(9, counts.duplicates);
  stmt.bind_int64(10, counts.quarantined);
  stmt.bind_int64(11, committed_at);
  if (auto status = stmt.run(); !status) return status;
  return advance_stream(db, receipt, committed_at);
}

Result<std::vector<StreamProgress>> read_stream_progress(SqliteDb& db) {
  auto select = db.cached(
      "SELECT stream_id, store_id, agent_id, max_batch_seq, contiguous_batch_seq, "
      "last_committed_at FROM streams ORDER BY stream_id");
  if (!select) return select.error();
  SqliteStatement& stmt = **select;
  ResetGuard guard(stmt);
  std::vector<StreamProgress> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) return out;
    StreamProgress p;
    p.stream_id = stmt.column_text(0);
    p.store_id = stmt.column_text(1);
    p.agent_id = stmt.column_text(2);
    p.max_batch_seq = static_cast<std::uint64_t>(stmt.column_int64(3));
    p.contiguous_batch_seq = static_cast<std::uint64_t>(stmt.column_int64(4));
    p.last_committed_at = stmt.column_int64(5);
    out.push_back(std::move(p));
  }
}

Result<std::uint64_t> prune_receipts_before(SqliteDb& db, UnixMillis cutoff, std::size_t max_rows) {
  // Oldest first through receipts_by_committed; the join keeps each stream's newest receipt.
  auto prune = db.cached(
      "DELETE FROM receipts WHERE (stream_id, batch_seq) IN ("
      "SELECT r.stream_id, r.batch_seq FROM receipts AS r JOIN streams AS s "
      "ON s.stream_id = r.stream_id WHERE r.committed_at < ?1 AND r.batch_seq < s.max_batch_seq "
      "LIMIT ?2)");
  if (!prune) return prune.error();
  (*prune)->bind_int64(1, cutoff);
  (*prune)->bind_int64(2, static_cast<std::int64_t>(max_rows));
  if (auto status = (*prune)->run(); !status) return status.error();
  return static_cast<std::uint64_t>(db.changes());
}

}  // namespace aisle::collector
