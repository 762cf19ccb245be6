#include "collector/privacy/erasure_service.hpp"

#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/uuid.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.erasure");

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS erasures (
  erasure_id        TEXT PRIMARY KEY,
  profile_id        TEXT    NOT NULL,
  requested_by      TEXT    NOT NULL,
  requested_at      INTEGER NOT NULL,
  state             TEXT    NOT NULL,
  identities        TEXT    NOT NULL,  -- JSON array, needed for re-broadcasts; emptied on completion
  event_ids         TEXT    NOT NULL,  -- JSON array until the events are deleted, then []
  events_deleted    INTEGER NOT NULL DEFAULT 0,
  completed_at      INTEGER NOT NULL DEFAULT 0,
  broadcasts        INTEGER NOT NULL DEFAULT 0,
  last_broadcast_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS erasures_by_state ON erasures (state, last_broadcast_at);
CREATE INDEX IF NOT EXISTS erasures_by_time ON erasures (requested_at);
CREATE TABLE IF NOT EXISTS erasure_agents (
  erasure_id           TEXT    NOT NULL,
  store_id             TEXT    NOT NULL,
  agent_id             TEXT    NOT NULL,
  confirmed_at         INTEGER NOT NULL DEFAULT 0,
  events_purged        INTEGER NOT NULL DEFAULT 0,
  cache_entries_purged INTEGER NOT NULL DEFAULT 0,
  receipt              TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (erasure_id, store_id, agent_id)
);
)sql";
constexpr int kSchemaVersion = 1;

std::vector<std::string> json_strings(std::string_view text) {
  std::vector<std::string> out;
  auto parsed = json::parse(text, nullptr, false);
  if (!parsed.is_array()) return out;
  for (const auto& item : parsed) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// Runs `body` inside BEGIN IMMEDIATE .. COMMIT; rolls back when it fails.
template <class Body>
Status in_transaction(SqliteDb& db, Body&& body) {
  if (auto status = db.exec("BEGIN IMMEDIATE"); !status) return status;
  Status status = body();
  if (!status) {
    db.rollback_quietly();
    return status;
  }
  return db.exec("COMMIT");
}

}  // namespace

ErasureService::ErasureService(ErasureOptions options, ErasureDependencies deps, ClockPtr clock,
                               metrics::Registry& metrics, SqliteDb db)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      clock_(std::move(clock)),
      db_(std::move(db)),
      requested_(metrics.counter("aisle_collector_erasures_total", "Erasures by event",
                                 {{"event", "requested"}})),
      completed_(metrics.counter("aisle_collector_erasures_total", "Erasures by event",
                                 {{"event", "completed"}})),
      receipts_accepted_(metrics.counter("aisle_collector_erasure_receipts_total",
                                         "Agent erasure receipts by outcome",
                                         {{"outcome", "accepted"}})),
      receipts_refused_(metrics.counter("aisle_collector_erasure_receipts_total",
                                        "Agent erasure receipts by outcome",
                                        {{"outcome", "refused"}})) {
  metrics.gauge_callback("aisle_collector_erasures_pending",
                         "Erasures not yet confirmed by every agent", {}, [this] {
                           std::lock_guard lock(mutex_);
                           auto n = db_.query_int64(
                               "SELECT count(*) FROM erasures WHERE state != 'complete'");
                           return n ? static_cast<double>(*n) : 0.0;
                         });
}

ErasureService::~ErasureService() { stop(); }

Result<std::unique_ptr<ErasureService>> ErasureService::open(ErasureOptions options,
                                                             ErasureDependencies deps,
                                                             ClockPtr clock,
                                                             metrics::Registry& metrics) {
  // Rare, small writes that must survive: synchronous FULL, a small cache.
  WalWriterSettings settings;
  settings.cache_kib = 2 * 1024;
  auto db = open_wal_writer(options.path, settings);
  if (!db) return db.error();
  auto version = db->query_int64("PRAGMA user_version");
  if (!version) return version.error();
  if (*version > kSchemaVersion) {
    return make_error(ErrorCode::kFailedPrecondition,
                      options.path + " has schema version " + std::to_string(*version) +
                          ", newer than this collector knows (" +
                          std::to_string(kSchemaVersion) + ")");
  }
  std::unique_ptr<ErasureService> service(new ErasureService(
      std::move(options), std::move(deps), std::move(clock), metrics, std::move(*db)));
  if (auto status = service->create_schema(); !status) return status.error();
  return service;
}

Status ErasureService::create_schema() {
  if (auto status = db_.exec(kSchema); !status) return status;
  return db_.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
}

void ErasureService::start() {
  std::vector<std::string> unfinished;
  {
    std::lock_guard lock(mutex_);
    auto stmt = db_.prepare("SELECT erasure_id FROM erasures WHERE state = 'deleting_events'");
    if (stmt) {
      while (true) {
        auto row = stmt->step();
        if (!row || !*row) break;
        unfinished.emplace_back(stmt->column_text(0));
      }
    }
    for (const auto& id : unfinished) {
      kLog.warn("resuming an erasure interrupted by a restart", {{"erasure_id", id}});
      if (auto status = delete_events_step(id); !status) {
        kLog.error("cannot resume erasure; will retry at the next start",
                   {{"erasure_id", id}, {"error", status.error().message}});
        continue;
      }
      (void)broadcast(id);
    }
  }
  timer_ = std::thread([this] { timer_loop(); });
}

void ErasureService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void ErasureService::timer_loop() {
  // Checked more often than the interval, so a due erasure waits at most a minute extra.
  const auto tick = std::min<std::chrono::milliseconds>(options_.rebroadcast_interval,
                                                        std::chrono::milliseconds(60000));
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, tick, [this] { return stopping_; });
      if (stopping_) return;
    }
    rebroadcast_due();
  }
}

Result<ErasureStatus> ErasureService::erase(const std::string& profile_id,
                                            const std::string& actor) {
  std::lock_guard lock(mutex_);
  auto subject = deps_.erase_profile(profile_id, actor);
  if (!subject) return subject.error();
  const UnixMillis now = clock_->now_unix_ms();
  const std::string erasure_id = UuidV7Generator(clock_).next().to_string();
  const auto agents = deps_.known_agents ? deps_.known_agents() : std::vector<wire::AgentAddress>{};
  // Bound text is not copied by SQLite (SqliteStatement): these must outlive the statement.
  const std::string identities_json = json(subject->identities).dump();
  const std::string event_ids_json = json(subject->event_ids).dump();
  Status journaled = in_transaction(db_, [&]() -> Status {
    auto insert = db_.prepare(
        "INSERT INTO erasures (erasure_id, profile_id, requested_by, requested_at, state, "
        "identities, event_ids) VALUES (?1, ?2, ?3, ?4, 'deleting_events', ?5, ?6)");
    if (!insert) return insert.error();
    insert->bind_text(1, erasure_id);
    insert->bind_text(2, subject->profile_id);
    insert->bind_text(3, actor);
    insert->bind_int64(4, now);
    insert->bind_text(5, identities_json);
    insert->bind_text(6, event_ids_json);
    if (auto status = insert->run(); !status) return status;
    auto agent = db_.prepare(
        "INSERT OR IGNORE INTO erasure_agents (erasure_id, store_id, agent_id) "
        "VALUES (?1, ?2, ?3)");
    if (!agent) return agent.error();
    for (const auto& a : agents) {
      if (a.tenant != options_.tenant) continue;
      agent->bind_text(1, erasure_id);
      agent->bind_text(2, a.store_id);
      agent->bind_text(3, a.agent_id);
      if (auto status = agent->run(); !status) return status;
      agent->reset();
    }
    return ok_status();
  });
  if (!journaled) {
    // The profile is gone already (its tombstones keep late events out); its stored events
    // could not be scheduled for deletion. Loud, because it needs an operator.
    kLog.error("profile erased but the erasure could not be journaled; its events remain",
               {{"profile_id", profile_id}, {"error", journaled.error().message}});
    return journaled.error();
  }
  requested_.inc();
  if (deps_.audit) {
    deps_.audit(actor, "erasure_requested", "profile:" + subject->profile_id,
                {{"erasure_id", erasure_id},
                 {"identifiers", subject->identities.size()},
                 {"events", subject->event_ids.size()},
                 {"agents", agents.size()}});
  }
  kLog.info("erasure requested", {{"erasure_id", erasure_id}, {"profile_id", profile_id},
                                  {"events", subject->event_ids.size()},
                                  {"agents", agents.size()}});
  if (auto status = delete_events_step(erasure_id); !status) {
    kLog.error("erasure: deleting events failed; resumed at the next start",
               {{"erasure_id", erasure_id}, {"error", status.error().message}});
  } else {
    (void)broadcast(erasure_id);
  }
  auto status = load(erasure_id);
  if (!status) return status.error();
  return **status;
}

Status ErasureService::delete_events_step(const std::string& erasure_id) {
  auto ids = db_.prepare("SELECT event_ids FROM erasures WHERE erasure_id = ?1");
  if (!ids) return ids.error();
  ids->bind_text(1, erasure_id);
  auto row = ids->step();
  if (!row) return row.error();
  if (!*row) return make_error(ErrorCode::kNotFound, "no erasure " + erasure_id);
  const auto event_ids = json_strings(ids->column_text(0));
  ids->reset();
  std::uint64_t deleted = 0;
  if (!event_ids.empty() && deps_.delete_events) {
    auto result = deps_.delete_events(event_ids);
    if (!result) return result.error();
    deleted = *result;
  }
  return in_transaction(db_, [&]() -> Status {
    auto update = db_.prepare(
        "UPDATE erasures SET event_ids = '[]', events_deleted = events_deleted + ?2, "
        "state = 'awaiting_agents' WHERE erasure_id = ?1");
    if (!update) return update.error();
    update->bind_text(1, erasure_id);
    update->bind_int64(2, static_cast<std::int64_t>(deleted));
    if (auto status = update->run(); !status) return status;
    return complete_if_confirmed(erasure_id);
  });
}

Status ErasureService::broadcast(const std::string& erasure_id) {
  auto stmt = db_.prepare(
      "SELECT identities, requested_at, state FROM erasures WHERE erasure_id = ?1");
  if (!stmt) return stmt.error();
  stmt->bind_text(1, erasure_id);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row || stmt->column_text(2) != "awaiting_agents") return ok_status();
  wire::ErasureRequest request;
  request.erasure_id = erasure_id;
  request.identities = json_strings(stmt->column_text(0));
  request.requested_at = stmt->column_int64(1);
  stmt->reset();
  if (request.identities.empty()) return ok_status();  // nothing an agent could match
  if (deps_.publish) {
    if (auto status = deps_.publish(wire::broadcast_topic(options_.tenant, "erasure"),
                                    wire::encode_erasure_request(request));
        !status) {
      kLog.warn("cannot broadcast erasure now; retried by the timer",
                {{"erasure_id", erasure_id}, {"error", status.error().message}});
      return status;
    }
  }
  auto update = db_.prepare(
      "UPDATE erasures SET broadcasts = broadcasts + 1, last_broadcast_at = ?2 "
      "WHERE erasure_id = ?1");
  if (!update) return update.error();
  update->bind_text(1, erasure_id);
  update->bind_int64(2, clock_->now_unix_ms());
  return update->run();
}

Status ErasureService::complete_if_confirmed(const std::string& erasure_id) {
  auto pending = db_.prepare(
      "SELECT count(*) FROM erasure_agents WHERE erasure_id = ?1 AND confirmed_at = 0");
  if (!pending) return pending.error();
  pending->bind_text(1, erasure_id);
  auto row = pending->step();
  if (!row) return row.error();
  if (pending->column_int64(0) > 0) return ok_status();
  pending->reset();
  auto update = db_.prepare(
      "UPDATE erasures SET state = 'complete', completed_at = ?2, identities = '[]' "
      "WHERE erasure_id = ?1 AND state = 'awaiting_agents'");
  if (!update) return update.error();
  update->bind_text(1, erasure_id);
  update->bind_int64(2, clock_->now_unix_ms());
  if (auto status = update->run(); !status) return status;
  if (auto changed = db_.query_int64("SELECT changes()"); changed && *changed > 0) {
    completed_.inc();
    kLog.info("erasure complete", {{"erasure_id", erasure_id}});
    if (deps_.audit) deps_.audit("collector", "erasure_completed", "erasure:" + erasure_id, {});
  }
  return ok_status();
}

void ErasureService::on_receipt(const wire::AgentAddress& from, std::string_view payload) {
  auto receipt = wire::decode_erasure_receipt(payload);
  auto refuse = [&](const std::string& why) {
    receipts_refused_.inc();
    kLog.warn("erasure receipt refused",
              {{"store_id", from.store_id}, {"agent_id", from.agent_id}, {"reason", why}});
  };
  if (!receipt) return refuse(receipt.error().message);
  if (receipt->tenant != from.tenant || receipt->store_id != from.store_id ||
      receipt->agent_id != from.agent_id) {
    return refuse("the receipt names " + receipt->store_id + "/" + receipt->agent_id +
                  " but came on the topic of " + from.store_id + "/" + from.agent_id);
  }
  if (deps_.verify_receipt) {
    if (auto status = deps_.verify_receipt(*receipt); !status) {
      return refuse("signature: " + status.error().message);
    }
  }
  const std::string receipt_text(payload);
  std::lock_guard lock(mutex_);
  Status stored = in_transaction(db_, [&]() -> Status {
    auto known = db_.prepare("SELECT 1 FROM erasures WHERE erasure_id = ?1");
    if (!known) return known.error();
    known->bind_text(1, receipt->erasure_id);
    auto row = known->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorCode::kNotFound, "unknown erasure " + receipt->erasure_id);
    // An agent that joined after the erasure was requested still confirms: recorded too.
    auto upsert = db_.prepare(
        "INSERT INTO erasure_agents (erasure_id, store_id, agent_id, confirmed_at, "
        "events_purged, cache_entries_purged, receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (erasure_id, store_id, agent_id) DO UPDATE SET "
        "confirmed_at = excluded.confirmed_at, events_purged = excluded.events_purged, "
        "cache_entries_purged = excluded.cache_entries_purged, receipt = excluded.receipt "
        "WHERE erasure_agents.confirmed_at = 0");
    if (!upsert) return upsert.error();
    upsert->bind_text(1, receipt->erasure_id);
    upsert->bind_text(2, receipt->store_id);
    upsert->bind_text(3, receipt->agent_id);
    upsert->bind_int64(4, receipt->purged_at > 0 ? receipt->purged_at : clock_->now_unix_ms());
    upsert->bind_int64(5, static_cast<std::int64_t>(receipt->events_purged));
    upsert->bind_int64(6, static_cast<std::int64_t>(receipt->cache_entries_purged));
    upsert->bind_text(7, receipt_text);
    if (auto status = upsert->run(); !status) return status;
    return complete_if_confirmed(receipt->erasure_id);
  });
  if (!stored) return refuse(stored.error().message);
  receipts_accepted_.inc();
  if (deps_.audit) {
    deps_.audit("agent:" + receipt->store_id + "/" + receipt->agent_id, "erasure_confirmed",
                "erasure:" + receipt->erasure_id,
                {{"events_purged", receipt->events_purged},
                 {"cache_entries_purged", receipt->cache_entries_purged}});
  }
}

void ErasureService::rebroadcast_due() {
  std::lock_guard lock(mutex_);
  const UnixMillis due_before = clock_->now_unix_ms() - options_.rebroadcast_interval.count();
  auto stmt = db_.prepare(
      "SELECT erasure_id FROM erasures WHERE state = 'awaiting_agents' AND "
      "last_broadcast_at <= ?1");
  if (!stmt) return;
  stmt->bind_int64(1, due_before);
  std::vector<std::string> due;
  while (true) {
    auto row = stmt->step();
    if (!row || !*row) break;
    due.emplace_back(stmt->column_text(0));
  }
  stmt->reset();
  for (const auto& id : due) (void)broadcast(id);
}

Result<std::optional<ErasureStatus>> ErasureService::load(const std::string& erasure_id) const {
  auto stmt = db_.prepare(
      "SELECT erasure_id, profile_id, requested_by, requested_at, state, events_deleted, "
      "completed_at, broadcasts FROM erasures WHERE erasure_id = ?1");
  if (!stmt) return stmt.error();
  stmt->bind_text(1, erasure_id);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<ErasureStatus>();
  ErasureStatus s;
  s.erasure_id = std::string(stmt->column_text(0));
  s.profile_id = std::string(stmt->column_text(1));
  s.requested_by = std::string(stmt->column_text(2));
  s.requested_at = stmt->column_int64(3);
  s.state = std::string(stmt->column_text(4));
  s.events_deleted = static_cast<std::uint64_t>(stmt->column_int64(5));
  s.completed_at = stmt->column_int64(6);
  s.broadcasts = static_cast<std::uint32_t>(stmt->column_int64(7));
  stmt->reset();
  auto agents = db_.prepare(
      "SELECT store_id, agent_id, confirmed_at, events_purged, cache_entries_purged "
      "FROM erasure_agents WHERE erasure_id = ?1 ORDER BY store_id, agent_id");
  if (!agents) return agents.error();
  agents->bind_text(1, erasure_id);
  while (true) {
    auto next = agents->step();
    if (!next) return next.error();
    if (!*next) break;
    ErasureAgentState a;
    a.store_id = std::string(agents->column_text(0));
    a.agent_id = std::string(agents->column_text(1));
    a.confirmed_at = agents->column_int64(2);
    a.events_purged = static_cast<std::uint64_t>(agents->column_int64(3));
    a.cache_entries_purged = static_cast<std::uint64_t>(agents->column_int64(4));
    s.agents.push_back(std::move(a));
  }
  return std::optional<ErasureStatus>(std::move(s));
}

Result<std::optional<ErasureStatus>> ErasureService::get(const std::string& erasure_id) const {
  std::lock_guard lock(mutex_);
  return load(erasure_id);
}

Result<std::vector<ErasureStatus>> ErasureService::recent(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT erasure_id FROM erasures ORDER BY requested_at DESC LIMIT ?1");
  if (!stmt) return stmt.error();
  stmt->bind_int64(1, static_cast<std::int64_t>(limit));
  std::vector<std::string> ids;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    ids.emplace_back(stmt->column_text(0));
  }
  stmt->reset();
  std::vector<ErasureStatus> out;
  for (const auto& id : ids) {
    auto s = load(id);
    if (!s) return s.error();
    if (*s) out.push_back(std::move(**s));
  }
  return out;
}

}  // namespace aisle::collector
