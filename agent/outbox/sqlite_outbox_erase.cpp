// SqliteOutbox: erasure — purging a person's records and the erasure ledger
// (docs/privacy-erasure.md).
//
// The ledger lives in the meta table (no schema change): "erasure_progress:<id>" holds the
// running totals of a purge, written in each chunk's transaction; "erasure_receipt:<id>" the
// receipt the agent answered with.
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/outbox/sqlite_outbox_internal.hpp"
#include "common/json_text.hpp"

namespace aisle::agent {
namespace {

constexpr std::string_view kProgressPrefix = "erasure_progress:";
constexpr std::string_view kReceiptPrefix = "erasure_receipt:";
// Raw quarantined input is untrusted: parsed with the same bounds as an ingested event.
constexpr JsonLimits kRawLimits{1024 * 1024, 64};

bool is_erasure_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// The identities of one request, by type, with the byte patterns of their values for the
// pre-filter.
struct SqliteOutbox::IdentityMatcher {
  std::map<std::string, std::set<std::string>, std::less<>> values_by_type;
  // Each value as a JSON string literal, as the outbox's canonical event JSON writes it. A value
  // needing escapes has no reliable pattern: then every event is parsed (`prefilter` false).
  std::vector<std::string> needles;
  bool prefilter = true;

  static Result<IdentityMatcher> build(const std::vector<std::string>& identities) {
    IdentityMatcher m;
    for (std::size_t i = 0; i < identities.size(); ++i) {
      const std::string& identity = identities[i];
      const auto colon = identity.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == identity.size()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "erasure identities[" + std::to_string(i) + "] must be \"type:value\"");
      }
      const std::string value = identity.substr(colon + 1);
      m.values_by_type[identity.substr(0, colon)].insert(value);
      for (const char c : value) {
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) m.prefilter = false;
      }
      m.needles.push_back("\"" + value + "\"");
    }
    return m;
  }

  bool may_contain(std::string_view text) const {
    if (!prefilter) return true;
    for (const auto& needle : needles) {
      if (text.find(needle) != std::string_view::npos) return true;
    }
    return false;
  }

  // True when `identities` (a JSON object type -> value) holds one of the request's identities.
  bool matches_identities(const nlohmann::json& identities) const {
    if (!identities.is_object()) return false;
    for (auto it = identities.begin(); it != identities.end(); ++it) {
      if (!it.value().is_string()) continue;
      auto type = values_by_type.find(it.key());
      if (type != values_by_type.end() &&
          type->second.count(it.value().get_ref<const std::string&>()) > 0) {
        return true;
      }
    }
    return false;
  }

  // A canonical event (our own JSON): by its identities.
  bool matches_event(std::string_view payload) const {
    if (!may_contain(payload)) return false;
    auto event = parse_json(payload, kRawLimits);
    if (!event || !event->is_object()) return false;
    auto identities = event->find("identities");
    return identities != event->end() && matches_identities(*identities);
  }

  // A quarantine record: {"raw": "<the input as received>", ...}. Raw input that is a JSON object
  // is matched by its identities; raw input that is not JSON (the reason it was quarantined) by
  // any of the values appearing in it as a JSON string: a record nobody can parse may still hold
  // the person's data, and purging a broken record too many is the safe side of an erasure.
  bool matches_quarantine(std::string_view payload) const {
    auto record = parse_json(payload, kRawLimits);
    if (!record || !record->is_object()) return false;
    auto raw = record->find("raw");
    if (raw == record->end() || !raw->is_string()) return false;
    const std::string& raw_text = raw->get_ref<const std::string&>();
    auto input = parse_json(raw_text, kRawLimits);
    if (input && input->is_object()) {
      auto identities = input->find("identities");
      return identities != input->end() && matches_identities(*identities);
    }
    for (const auto& needle : needles) {
      if (raw_text.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

Result<ErasurePurge> SqliteOutbox::purge_identities(const std::string& erasure_id,
                                                    const std::vector<std::string>& identities) {
  if (!is_erasure_id(erasure_id)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "erasure_id must be 1-64 characters of [A-Za-z0-9-]");
  }
  auto matcher = IdentityMatcher::build(identities);
  if (!matcher.ok()) return matcher.error();
  ErasurePurge totals;
  std::uint64_t after_seq = 0;
  // Chunks up to the end of the outbox as it is when each chunk runs: records appended during
  // the purge are examined as well.
  for (;;) {
    std::lock_guard db_lock(db_mutex_);
    auto last = purge_chunk(erasure_id, *matcher, after_seq, totals);
    if (!last.ok()) return last.error();
    if (*last == after_seq) break;  // nothing left after after_seq
    after_seq = *last;
  }
  std::lock_guard db_lock(db_mutex_);
  auto ring = purge_local_quarantine(erasure_id, *matcher, totals);
  if (!ring.ok()) return ring.error();
  return totals;
}

// Examines up to kPurgeChunkRows records after `after_seq` and deletes the matching ones, in one
// transaction that also stores the running totals. Returns the last seq examined (after_seq when
// there was none). `totals` receives the totals stored so far (earlier runs included).
Result<std::uint64_t> SqliteOutbox::purge_chunk(const std::string& erasure_id,
                                                const IdentityMatcher& matcher,
                                                std::uint64_t after_seq, ErasurePurge& totals) {
  Txn txn;
  if (auto s = begin_txn(txn); !s.ok()) return s.error();
  auto fail = [this](Error error) {
    db_.rollback_quietly();
    return error;
  };
  const std::string progress_key = std::string(kProgressPrefix) + erasure_id;
  ErasurePurge stored;
  {
    auto read = db_.prepare("SELECT value FROM meta WHERE key = ?1");
    if (!read.ok()) return fail(read.error());
    read->bind_text(1, progress_key);
    auto row = read->step();
    if (!row.ok()) return fail(row.error());
    if (*row) {
      auto progress = parse_json(read->column_text(0), JsonLimits{});
      if (progress && progress->is_object()) {
        stored.events = progress->value("events", std::uint64_t{0});
        stored.quarantine = progress->value("quarantine", std::uint64_t{0});
      }
    }
  }

  struct Victim {
    std::uint64_t seq;
    int priority;
    std::uint64_t bytes;
    bool quarantine;
  };
  std::vector<Victim> victims;
  std::uint64_t last_seq = after_seq;
  {
    auto scan = db_.prepare(
        "SELECT seq, kind, priority, bytes, payload FROM records WHERE seq > ?1 ORDER BY seq "
        "LIMIT ?2");
    if (!scan.ok()) return fail(scan.error());
    scan->bind_int64(1, static_cast<std::int64_t>(after_seq));
    scan->bind_int64(2, static_cast<std::int64_t>(kPurgeChunkRows));
    for (;;) {
      auto row = scan->step();
      if (!row.ok()) return fail(row.error());
      if (!*row) break;
      last_seq = static_cast<std::uint64_t>(scan->column_int64(0));
      ++totals.scanned;
      const bool quarantine = scan->column_text(1) == "q";
      const std::string_view payload = scan->column_blob(4);
      if (quarantine ? matcher.matches_quarantine(payload) : matcher.matches_event(payload)) {
        victims.push_back({last_seq, static_cast<int>(scan->column_int64(2)),
                           static_cast<std::uint64_t>(scan->column_int64(3)), quarantine});
      }
    }
  }
  if (victims.empty()) {
    db_.rollback_quietly();  // nothing to write: the stored totals stand
    totals.events = stored.events;
    totals.quarantine = stored.quarantine;
    return last_seq;
  }

  auto del = db_.prepare("DELETE FROM records WHERE seq = ?1");
  auto del_ring = db_.prepare("DELETE FROM quarantine_local WHERE seq = ?1");
  if (!del.ok()) return fail(del.error());
  if (!del_ring.ok()) return fail(del_ring.error());
  Totals& t = txn.totals;
  std::uint64_t events = 0;
  std::uint64_t quarantined = 0;
  for (const Victim& v : victims) {
    del->bind_int64(1, static_cast<std::int64_t>(v.seq));
    if (auto s = del->run(); !s.ok()) return fail(s.error());
    if (v.priority < 0 || v.priority > 2) continue;  // excluded by the CHECK constraint
    t.rows[v.priority] -= 1;
    t.bytes[v.priority] -= v.bytes + options_.row_overhead_bytes;
    if (v.seq > txn.last_batched_seq) {
      t.pending_rows -= 1;
      t.pending_bytes -= v.bytes;
      txn.pending_oldest_dirty = true;
    }
    txn.oldest_dirty = true;
    if (v.quarantine) {
      ++quarantined;
      del_ring->bind_int64(1, static_cast<std::int64_t>(v.seq));
      if (auto s = del_ring->run(); !s.ok()) return fail(s.error());
    } else {
      ++events;
    }
  }
  stored.events += events;
  stored.quarantine += quarantined;
  {
    auto write = db_.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
    if (!write.ok()) return fail(write.error());
    const std::string value =
        nlohmann::json{{"events", stored.events}, {"quarantine", stored.quarantine}}.dump();
    write->bind_text(1, progress_key);
    write->bind_text(2, value);
    if (auto s = write->run(); !s.ok()) return fail(s.error());
  }
  if (auto s = commit_txn(txn); !s.ok()) return fail(s.error());
  publish(txn);
  totals.events = stored.events;
  totals.quarantine = stored.quarantine;
  if (events > 0) metrics_->erased[0]->inc(static_cast<double>(events));
  if (quarantined > 0) metrics_->erased[1]->inc(static_cast<double>(quarantined));
  return last_seq;
}

// The local quarantine ring keeps quarantine records after they were forwarded and acknowledged
// (at most local_quarantine_rows): one pass over it.
Result<std::uint64_t> SqliteOutbox::purge_local_quarantine(const std::string& erasure_id,
                                                           const IdentityMatcher& matcher,
                                                           ErasurePurge& totals) {
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s.ok()) return s.error();
  auto fail = [this](Error error) {
    db_.rollback_quietly();
    return error;
  };
  std::vector<std::int64_t> ids;
  {
    auto scan = db_.prepare("SELECT id, payload FROM quarantine_local ORDER BY id");
    if (!scan.ok()) return fail(scan.error());
    for (;;) {
      auto row = scan->step();
      if (!row.ok()) return fail(row.error());
      if (!*row) break;
      ++totals.scanned;
      if (matcher.matches_quarantine(scan->column_blob(1))) ids.push_back(scan->column_int64(0));
    }
  }
  if (ids.empty()) {
    db_.rollback_quietly();
    return std::uint64_t{0};
  }
  auto del = db_.prepare("DELETE FROM quarantine_local WHERE id = ?1");
  if (!del.ok()) return fail(del.error());
  for (const std::int64_t id : ids) {
    del->bind_int64(1, id);
    if (auto s = del->run(); !s.ok()) return fail(s.error());
  }
  totals.quarantine += ids.size();
  auto write = db_.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
  if (!write.ok()) return fail(write.error());
  const std::string key = std::string(kProgressPrefix) + erasure_id;
  const std::string value =
      nlohmann::json{{"events", totals.events}, {"quarantine", totals.quarantine}}.dump();
  write->bind_text(1, key);
  write->bind_text(2, value);
  if (auto s = write->run(); !s.ok()) return fail(s.error());
  if (auto s = db_.exec("COMMIT"); !s.ok()) return fail(s.error());
  metrics_->erased[1]->inc(static_cast<double>(ids.size()));
  return static_cast<std::uint64_t>(ids.size());
}

Result<std::optional<std::string>> SqliteOutbox::erasure_receipt(const std::string& erasure_id) {
  if (!is_erasure_id(erasure_id)) return std::optional<std::string>();
  std::lock_guard db_lock(db_mutex_);
  auto read = db_.prepare("SELECT value FROM meta WHERE key = ?1");
  if (!read.ok()) return read.error();
  const std::string key = std::string(kReceiptPrefix) + erasure_id;
  read->bind_text(1, key);
  auto row = read->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(read->column_text(0)));
}

Status SqliteOutbox::record_erasure_receipt(const std::string& erasure_id,
                                            const std::string& receipt) {
  if (!is_erasure_id(erasure_id)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "erasure_id must be 1-64 characters of [A-Za-z0-9-]");
  }
  std::lock_guard db_lock(db_mutex_);
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto fail = [this](Error error) {
    db_.rollback_quietly();
    return error;
  };
  const std::string receipt_key = std::string(kReceiptPrefix) + erasure_id;
  const std::string progress_key = std::string(kProgressPrefix) + erasure_id;
  auto write = db_.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
  if (!write.ok()) return fail(write.error());
  write->bind_text(1, receipt_key);
  write->bind_text(2, receipt);
  if (auto s = write->run(); !s.ok()) return fail(s.error());
  auto drop = db_.prepare("DELETE FROM meta WHERE key = ?1");
  if (!drop.ok()) return fail(drop.error());
  drop->bind_text(1, progress_key);
  if (auto s = drop->run(); !s.ok()) return fail(s.error());
  if (auto s = db_.exec("COMMIT"); !s.ok()) return fail(s.error());
  return ok_status();
}

}  // namespace aisle::agent
