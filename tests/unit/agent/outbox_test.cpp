#include "agent/outbox/outbox.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/outbox/sqlite_db.hpp"
#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/outbox/sqlite_outbox_schema.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

using metrics::Labels;

// Records of a fixed size make the quota arithmetic in the tests exact.
OutboxRecord make_record(const std::string& id, Priority priority = Priority::kNormal,
                         std::size_t payload_bytes = 100, UnixMillis received_at = 0,
                         char kind = 'e') {
  OutboxRecord r;
  r.event_id = id;
  r.kind = kind;
  r.priority = priority;
  r.received_at = received_at;
  r.payload = "{\"id\":\"" + id + "\"}";
  r.payload.resize(std::max(payload_bytes, r.payload.size()), ' ');
  return r;
}

std::vector<OutboxRecord> records_of(std::initializer_list<OutboxRecord> list) {
  return list;
}

struct Env {
  test::TempDir dir{"aisle-outbox"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  metrics::Registry registry;

  SqliteOutboxOptions options() const {
    SqliteOutboxOptions o;
    o.path = dir.file("outbox.db");
    o.durability = OutboxDurability::kNormal;  // tests need no fsync
    return o;
  }
  // Quota in whole 100-byte records (no per-row overhead).
  SqliteOutboxOptions small_quota(std::uint64_t records, std::uint64_t hard_records = 0) const {
    SqliteOutboxOptions o = options();
    o.row_overhead_bytes = 0;
    o.max_bytes = records * 100;
    o.hard_max_bytes = hard_records * 100;
    return o;
  }
  std::unique_ptr<SqliteOutbox> open(const SqliteOutboxOptions& o) {
    auto outbox = SqliteOutbox::open(o, clock, registry);
    INFO((outbox.ok() ? std::string() : outbox.error().message));
    REQUIRE(outbox.ok());
    return std::move(*outbox);
  }
  std::unique_ptr<SqliteOutbox> open() { return open(options()); }
  double metric(const std::string& name, const Labels& labels = {}) const {
    return registry.value(name, labels);
  }
};

AppendResult append_ok(Outbox& outbox, std::vector<OutboxRecord> records) {
  auto result = outbox.append(std::move(records));
  INFO((result.ok() ? std::string() : result.error().message));
  REQUIRE(result.ok());
  return std::move(*result);
}

// Event ids of every record still in the outbox, in seq order (forms and reads all batches).
std::vector<std::string> ids_in(Outbox& outbox) {
  while (true) {
    auto batch = outbox.form_batch(BatchLimits{100000, 1ull << 40});
    REQUIRE(batch.ok());
    if (!*batch) break;
  }
  auto batches = outbox.unacked_batches();
  REQUIRE(batches.ok());
  std::vector<std::string> ids;
  for (const StoredBatch& b : *batches) {
    for (const wire::BatchRecord& r : b.records) {
      const auto start = r.json.find(":\"") + 2;
      ids.push_back(r.json.substr(start, r.json.find('"', start) - start));
    }
  }
  return ids;
}

std::int64_t count_rows(const std::string& path, const std::string& table) {
  auto db = SqliteDb::open(path);
  REQUIRE(db.ok());
  auto n = db->query_int64("SELECT count(*) FROM " + table);
  REQUIRE(n.ok());
  return *n;
}

TEST_CASE("priority names round-trip through parse_priority", "[agent][outbox]") {
  for (Priority p : {Priority::kCritical, Priority::kNormal, Priority::kBulk}) {
    REQUIRE(parse_priority(priority_name(p)) == p);
  }
  REQUIRE_FALSE(parse_priority("urgent").has_value());
  REQUIRE(parse_durability("full") == OutboxDurability::kFull);
  REQUIRE(parse_durability(durability_name(OutboxDurability::kNormal)) ==
          OutboxDurability::kNormal);
}

TEST_CASE("outbox append reports an outcome per record and detects duplicates", "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  auto first = append_ok(*outbox, records_of({make_record("a"), make_record("b"),
                                              make_record("a")}));  // duplicate in the request
  REQUIRE(first.outcomes == std::vector<AppendOutcome>{AppendOutcome::kInserted,
                                                       AppendOutcome::kInserted,
                                                       AppendOutcome::kDuplicate});
  REQUIRE(first.inserted == 2);
  REQUIRE(first.duplicates == 1);
  auto second = append_ok(*outbox, records_of({make_record("b"), make_record("c")}));
  REQUIRE(second.outcomes ==
          std::vector<AppendOutcome>{AppendOutcome::kDuplicate, AppendOutcome::kInserted});
  REQUIRE(outbox->pending().rows == 3);
  REQUIRE(outbox->pending().bytes == 300);
  REQUIRE(env.metric("aisle_agent_outbox_duplicates_total") == 2);
  REQUIRE(env.metric("aisle_agent_outbox_appended_total", {{"priority", "normal"}}) == 3);
  REQUIRE(outbox->stats().total_bytes == 3 * (100 + 96));
}

TEST_CASE("outbox append rejects an invalid record and stores none of the request",
          "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  auto bad_kind = make_record("x");
  bad_kind.kind = 'z';
  auto result = outbox->append(records_of({make_record("ok"), bad_kind}));
  REQUIRE_FALSE(result.ok());
  REQUIRE(result.error().code == ErrorCode::kInvalidArgument);
  REQUIRE_FALSE(outbox->append(records_of({make_record("")})).ok());
  REQUIRE(outbox->pending().rows == 0);
  REQUIRE(append_ok(*outbox, {}).outcomes.empty());
}

TEST_CASE("outbox group-commits concurrent appends into fewer transactions", "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  std::atomic<int> listener_calls{0};
  outbox->set_append_listener([&] { ++listener_calls; });
  constexpr int kThreads = 8, kCalls = 60, kPerCall = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        std::vector<OutboxRecord> batch;
        for (int i = 0; i < kPerCall; ++i) {
          batch.push_back(
              make_record(std::to_string(t) + "-" + std::to_string(c) + "-" + std::to_string(i)));
        }
        auto result = outbox->append(std::move(batch));
        if (!result.ok() || result->inserted != kPerCall) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == 0);
  constexpr int kTotal = kThreads * kCalls * kPerCall;
  REQUIRE(outbox->pending().rows == kTotal);
  const double commits = env.metric("aisle_agent_outbox_commits_total");
  REQUIRE(commits >= 1);
  REQUIRE(commits < kThreads * kCalls);
  REQUIRE(listener_calls == static_cast<int>(commits));

  auto ids = ids_in(*outbox);
  REQUIRE(ids.size() == kTotal);
  REQUIRE(std::set<std::string>(ids.begin(), ids.end()).size() == kTotal);
}

TEST_CASE("outbox keeps every acknowledged record when the process is killed", "[agent][outbox]") {
  Env env;
  const SqliteOutboxOptions options = env.options();
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child appends until SIGKILL, reporting each call that returned ("answered 202").
    ::close(fds[0]);
    metrics::Registry registry;
    auto outbox = SqliteOutbox::open(options, std::make_shared<ManualClock>(), registry);
    if (!outbox.ok()) ::_exit(2);
    for (int call = 0;; ++call) {
      std::vector<OutboxRecord> records;
      for (int i = 0; i < 50; ++i) {
        records.push_back(make_record("k" + std::to_string(call) + "-" + std::to_string(i)));
      }
      if (!(*outbox)->append(std::move(records)).ok()) ::_exit(3);
      if (call % 3 == 0 && !(*outbox)->form_batch(BatchLimits{70, 1 << 20}).ok()) ::_exit(4);
      if (::write(fds[1], &call, sizeof call) != sizeof call) ::_exit(5);
    }
  }
  ::close(fds[1]);
  int answered = -1;
  int call = 0;
  for (int n = 0; n < 40 && ::read(fds[0], &call, sizeof call) == sizeof call; ++n) answered = call;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fds[0]);
  REQUIRE(answered >= 0);
  REQUIRE(WIFSIGNALED(status));

  auto outbox = env.open();
  const auto ids = ids_in(*outbox);
  const std::set<std::string> present(ids.begin(), ids.end());
  for (int c = 0; c <= answered; ++c) {
    for (int i = 0; i < 50; ++i) {
      REQUIRE(present.count("k" + std::to_string(c) + "-" + std::to_string(i)) == 1);
    }
  }
  auto batches = outbox->unacked_batches();
  REQUIRE(batches.ok());
  std::uint64_t next = 1;
  for (const StoredBatch& b : *batches) {
    REQUIRE(b.first_seq == next);
    REQUIRE(b.dropped == 0);
    next = b.last_seq + 1;
  }
  REQUIRE(next == ids.size() + 1);
}

TEST_CASE("outbox sequence and batch numbers are gap-free across duplicates and restarts",
          "[agent][outbox]") {
  Env env;
  std::string stream_id;
  std::uint64_t expected_seq = 1, expected_batch = 1;
  for (int life = 0; life < 2; ++life) {
    auto outbox = env.open();
    if (life == 0) stream_id = outbox->stream_id();
    REQUIRE(outbox->stream_id() == stream_id);
    for (int i = 0; i < 20; ++i) {
      const std::string id = std::to_string(life) + "-" + std::to_string(i);
      const std::string first = std::to_string(life) + "-0";
      append_ok(*outbox, records_of({make_record(id), make_record(id), make_record(first)}));
    }
    while (true) {
      auto batch = outbox->form_batch(BatchLimits{7, 1 << 20});
      REQUIRE(batch.ok());
      if (!*batch) break;
      const StoredBatch& b = **batch;
      REQUIRE(b.batch_seq == expected_batch++);
      REQUIRE(b.first_seq == expected_seq);
      REQUIRE(b.dropped == 0);
      for (const auto& r : b.records) REQUIRE(r.seq == expected_seq++);
      REQUIRE(b.last_seq == expected_seq - 1);
      REQUIRE(outbox->ack_batch(b.batch_seq).ok());
    }
  }
  REQUIRE(expected_seq == 41);  // 20 records per life; no seq burnt by a duplicate
}

TEST_CASE("outbox batches respect their limits and take at least one record", "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  append_ok(*outbox, records_of({make_record("big", Priority::kNormal, 5000), make_record("a"),
                                 make_record("b"), make_record("c")}));
  auto first = outbox->form_batch(BatchLimits{10, 1000});
  REQUIRE(first.ok());
  REQUIRE((*first)->records.size() == 1);  // alone over max_bytes, still taken
  REQUIRE((*first)->bytes == 5000);
  auto second = outbox->form_batch(BatchLimits{10, 250});
  REQUIRE((*second)->records.size() == 2);
  REQUIRE(outbox->pending().rows == 1);
  REQUIRE(outbox->stats().batches == 2);
}

TEST_CASE("outbox batches survive a restart and are resent until acknowledged", "[agent][outbox]") {
  Env env;
  std::string stream_id;
  {
    auto outbox = env.open();
    stream_id = outbox->stream_id();
    env.clock->advance(std::chrono::seconds(1));
    std::vector<OutboxRecord> records;
    for (int i = 0; i < 10; ++i) {
      records.push_back(make_record("r" + std::to_string(i), Priority::kNormal, 100,
                                    env.clock->now_unix_ms() + i));
    }
    append_ok(*outbox, std::move(records));
    REQUIRE((*outbox->form_batch(BatchLimits{4, 1 << 20}))->batch_seq == 1);
    REQUIRE((*outbox->form_batch(BatchLimits{4, 1 << 20}))->batch_seq == 2);
    REQUIRE(outbox->ack_batch(1).ok());
  }  // "kill": everything after the last commit is gone, the counters with it
  auto outbox = env.open();
  REQUIRE(outbox->stream_id() == stream_id);
  auto unacked = outbox->unacked_batches();
  REQUIRE(unacked.ok());
  REQUIRE(unacked->size() == 1);
  const StoredBatch& b = unacked->front();
  REQUIRE(b.batch_seq == 2);
  REQUIRE(b.first_seq == 5);
  REQUIRE(b.last_seq == 8);
  REQUIRE(b.records.size() == 4);
  REQUIRE(b.records[0].json.find("\"r4\"") != std::string::npos);
  REQUIRE(b.bytes == 400);
  PendingInfo pending = outbox->pending();
  REQUIRE(pending.rows == 2);
  REQUIRE(pending.bytes == 200);
  REQUIRE(pending.oldest_received_at == env.clock->now_unix_ms() + 8);
  REQUIRE(outbox->stats().total_rows == 6);
  REQUIRE(outbox->stats().batches == 1);

  REQUIRE(outbox->load_batch(2)->records.size() == 4);
  REQUIRE(outbox->load_batch(1).error().code == ErrorCode::kNotFound);
  REQUIRE((*outbox->form_batch(BatchLimits{}))->batch_seq == 3);
  REQUIRE(outbox->ack_batch(2).ok());
  REQUIRE(outbox->ack_batch(2).ok());   // repeated ack
  REQUIRE(outbox->ack_batch(99).ok());  // unknown batch
  REQUIRE(outbox->stats().total_rows == 2);
  REQUIRE(outbox->stats().batches == 1);
}

TEST_CASE("outbox evicts bulk before normal, oldest first, and never critical", "[agent][outbox]") {
  Env env;
  auto outbox = env.open(env.small_quota(10));
  // seq 1..10: c1 b1 n1 b2 n2 c2 n3 b3 n4 n5 — exactly the quota.
  append_ok(*outbox,
            records_of({make_record("c1", Priority::kCritical), make_record("b1", Priority::kBulk),
                        make_record("n1"), make_record("b2", Priority::kBulk), make_record("n2"),
                        make_record("c2", Priority::kCritical), make_record("n3"),
                        make_record("b3", Priority::kBulk), make_record("n4"), make_record("n5")}));
  auto result = append_ok(*outbox, records_of({make_record("n6"), make_record("n7"),
                                               make_record("n8"), make_record("n9")}));
  REQUIRE(result.inserted == 4);
  REQUIRE(ids_in(*outbox) ==
          std::vector<std::string>{"c1", "n2", "c2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"});
  REQUIRE(env.metric("aisle_agent_outbox_evicted_total",
                     {{"priority", "bulk"}, {"reason", "quota"}}) == 3);
  REQUIRE(env.metric("aisle_agent_outbox_evicted_total",
                     {{"priority", "normal"}, {"reason", "quota"}}) == 1);

  // No bulk left: a bulk record may evict only bulk, so it is refused; a duplicate evicts nothing.
  auto bulk = append_ok(*outbox, records_of({make_record("b4", Priority::kBulk), make_record("n9"),
                                             make_record("n10")}));
  REQUIRE(bulk.outcomes == std::vector<AppendOutcome>{AppendOutcome::kRefusedFull,
                                                      AppendOutcome::kDuplicate,
                                                      AppendOutcome::kInserted});
  REQUIRE(env.metric("aisle_agent_outbox_refused_total", {{"priority", "bulk"}}) == 1);
  const OutboxStats stats = outbox->stats();
  REQUIRE(stats.total_rows == 10);
  REQUIRE(stats.rows[static_cast<int>(Priority::kCritical)] == 2);
  REQUIRE(stats.total_bytes == 1000);
}

TEST_CASE("outbox accepts critical records up to the hard limit and then refuses them",
          "[agent][outbox]") {
  Env env;
  auto outbox = env.open(env.small_quota(4, 6));
  append_ok(*outbox, records_of({make_record("n1"), make_record("b1", Priority::kBulk)}));
  std::vector<OutboxRecord> critical;
  for (int i = 0; i < 7; ++i) {
    critical.push_back(make_record("c" + std::to_string(i), Priority::kCritical));
  }
  critical.push_back(make_record("n2"));
  auto result = append_ok(*outbox, std::move(critical));
  // c0..c3 fill the quota (evicting b1 then n1), c4..c5 use the margin, c6 and n2 are refused.
  REQUIRE(result.inserted == 6);
  REQUIRE(result.refused == 2);
  REQUIRE(result.outcomes[6] == AppendOutcome::kRefusedFull);
  REQUIRE(result.outcomes[7] == AppendOutcome::kRefusedFull);
  REQUIRE(outbox->stats().total_bytes == 600);
  REQUIRE(env.metric("aisle_agent_outbox_refused_total", {{"priority", "critical"}}) == 1);
  REQUIRE(env.metric("aisle_agent_outbox_refused_total", {{"priority", "normal"}}) == 1);
  REQUIRE(ids_in(*outbox) == std::vector<std::string>{"c0", "c1", "c2", "c3", "c4", "c5"});
}

TEST_CASE("outbox max_rows is a hard limit for every class", "[agent][outbox]") {
  Env env;
  SqliteOutboxOptions o = env.options();
  o.max_rows = 3;
  auto outbox = env.open(o);
  auto result = append_ok(
      *outbox,
      records_of({make_record("c1", Priority::kCritical), make_record("n1"),
                  make_record("c2", Priority::kCritical), make_record("c3", Priority::kCritical),
                  make_record("c4", Priority::kCritical)}));
  REQUIRE(result.outcomes ==
          std::vector<AppendOutcome>{AppendOutcome::kInserted, AppendOutcome::kInserted,
                                     AppendOutcome::kInserted, AppendOutcome::kInserted,
                                     AppendOutcome::kRefusedFull});
  REQUIRE(ids_in(*outbox) == std::vector<std::string>{"c1", "c2", "c3"});
}

TEST_CASE("outbox counts evicted records of formed batches as dropped", "[agent][outbox]") {
  Env env;
  auto outbox = env.open(env.small_quota(6));
  append_ok(*outbox,
            records_of({make_record("b1", Priority::kBulk), make_record("b2", Priority::kBulk),
                        make_record("n0"), make_record("b4", Priority::kBulk),
                        make_record("b5", Priority::kBulk), make_record("b6", Priority::kBulk)}));
  auto first = outbox->form_batch(BatchLimits{3, 1 << 20});  // seq 1..3: b1 b2 n0
  REQUIRE((*first)->records.size() == 3);
  // Three new normal records evict b1, b2 (in batch 1) and b4 (pending).
  append_ok(*outbox, records_of({make_record("n1"), make_record("n2"), make_record("n3")}));
  auto reloaded = outbox->load_batch(1);
  REQUIRE(reloaded->records.size() == 1);
  REQUIRE(reloaded->dropped == 2);
  REQUIRE(reloaded->bytes == 100);
  REQUIRE(outbox->pending().rows == 5);  // b5 b6 n1 n2 n3
  REQUIRE(outbox->pending().bytes == 500);
  auto second = outbox->form_batch(BatchLimits{2, 1 << 20});
  REQUIRE((*second)->first_seq == 4);  // the evicted b4 is covered by this batch
  REQUIRE((*second)->last_seq == 6);
  REQUIRE((*second)->dropped == 1);

  // Evicting the rest of batch 1 leaves it empty: still listed, so batch_seq stays gap-free.
  append_ok(*outbox, records_of({make_record("n5"), make_record("n6"), make_record("n7")}));
  auto unacked = outbox->unacked_batches();
  REQUIRE(unacked->size() == 2);
  REQUIRE((*unacked)[0].records.empty());
  REQUIRE((*unacked)[0].dropped == 3);
  REQUIRE((*unacked)[1].dropped == 3);
  REQUIRE(outbox->ack_batch(1).ok());
}

TEST_CASE("outbox maintain expires old non-critical records", "[agent][outbox]") {
  Env env;
  SqliteOutboxOptions o = env.options();
  o.max_age_ms = 3600'000;
  auto outbox = env.open(o);
  const UnixMillis t0 = env.clock->now_unix_ms();
  append_ok(*outbox, records_of({make_record("b-old", Priority::kBulk, 100, t0),
                                 make_record("c-old", Priority::kCritical, 100, t0),
                                 make_record("n-old", Priority::kNormal, 100, t0)}));
  REQUIRE(outbox->form_batch(BatchLimits{1, 1 << 20}).ok());  // b-old is in batch 1
  env.clock->advance(std::chrono::minutes(90));
  append_ok(*outbox,
            records_of({make_record("n-new", Priority::kNormal, 100, env.clock->now_unix_ms())}));
  REQUIRE(outbox->maintain().ok());
  REQUIRE(ids_in(*outbox) == std::vector<std::string>{"c-old", "n-new"});
  REQUIRE(env.metric("aisle_agent_outbox_evicted_total",
                     {{"priority", "bulk"}, {"reason", "age"}}) == 1);
  REQUIRE(env.metric("aisle_agent_outbox_evicted_total",
                     {{"priority", "normal"}, {"reason", "age"}}) == 1);
  REQUIRE(outbox->stats().oldest_received_at == t0);
}

// 4,000 records of 1,000 bytes (~4 MB), in 40 appends of 100.
void append_4000_normal_records(Outbox& outbox, const Clock& clock) {
  for (int call = 0; call < 40; ++call) {
    std::vector<OutboxRecord> records;
    for (int i = 0; i < 100; ++i) {
      records.push_back(make_record(std::to_string(call) + "-" + std::to_string(i),
                                    Priority::kNormal, 1000, clock.now_unix_ms()));
    }
    append_ok(outbox, std::move(records));
  }
}

TEST_CASE("outbox file shrinks after acknowledged records are vacuumed", "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  append_4000_normal_records(*outbox, *env.clock);
  REQUIRE(outbox->maintain().ok());  // checkpoint: the data now lives in the database file
  const std::uint64_t full = outbox->stats().file_bytes;
  REQUIRE(full > 4'000'000);
  while (true) {
    auto batch = outbox->form_batch(BatchLimits{});
    REQUIRE(batch.ok());
    if (!*batch) break;
    REQUIRE(outbox->ack_batch((*batch)->batch_seq).ok());
  }
  REQUIRE(outbox->maintain().ok());
  const std::uint64_t empty = outbox->stats().file_bytes;
  INFO("full=" << full << " empty=" << empty);
  REQUIRE(empty < full / 10);
  REQUIRE(env.metric("aisle_agent_outbox_file_bytes") == static_cast<double>(empty));
}

TEST_CASE("outbox keeps free pages while a large backlog remains, then returns them",
          "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  append_4000_normal_records(*outbox, *env.clock);
  REQUIRE(outbox->maintain().ok());
  const std::uint64_t full = outbox->stats().file_bytes;
  auto drain = [&](std::uint64_t keep_rows) {
    while (outbox->stats().total_rows > keep_rows) {
      auto batch = outbox->form_batch(BatchLimits{100, 1 << 20});
      REQUIRE(batch.ok());
      REQUIRE(*batch);
      REQUIRE(outbox->ack_batch((*batch)->batch_seq).ok());
    }
  };
  // Half drained: vacuuming would move the 2,000 live records for space that new records reuse.
  drain(2000);
  REQUIRE(outbox->maintain().ok());
  const std::uint64_t half = outbox->stats().file_bytes;
  INFO("full=" << full << " half=" << half);
  CHECK(half > full * 9 / 10);
  // Nearly drained: the free pages go back to the file system.
  drain(200);
  REQUIRE(outbox->maintain().ok());
  const std::uint64_t small = outbox->stats().file_bytes;
  INFO("small=" << small);
  CHECK(small < full / 5);
  CHECK(outbox->stats().total_rows == 200);
}

TEST_CASE("outbox refuses a database with a newer schema version", "[agent][outbox]") {
  Env env;
  { env.open(); }
  {
    auto db = SqliteDb::open(env.options().path);
    REQUIRE(db.ok());
    REQUIRE(db->exec("PRAGMA user_version=7").ok());
  }
  auto outbox = SqliteOutbox::open(env.options(), env.clock, env.registry);
  REQUIRE_FALSE(outbox.ok());
  REQUIRE(outbox.error().code == ErrorCode::kFailedPrecondition);
  REQUIRE_THAT(outbox.error().message,
               Catch::Contains("version 7") && Catch::Contains("version 1"));
}

TEST_CASE("outbox refuses a database that is not an outbox", "[agent][outbox]") {
  Env env;
  {
    auto db = SqliteDb::open(env.options().path);
    REQUIRE(db->exec("CREATE TABLE other(x)").ok());
  }
  auto outbox = SqliteOutbox::open(env.options(), env.clock, env.registry);
  REQUIRE(outbox.error().code == ErrorCode::kFailedPrecondition);
}

TEST_CASE("outbox opens a version 1 database built from the checked-in fixture",
          "[agent][outbox]") {
  Env env;
  const std::string sql = test::read_file(AISLE_TEST_DATA_DIR "/outbox/v1.sql");
  REQUIRE_FALSE(sql.empty());
  {
    auto db = SqliteDb::open(env.options().path);
    REQUIRE(db->exec(sql).ok());
  }
  auto outbox = env.open();
  REQUIRE(outbox->stream_id() == "018bcf5c-1b80-7abc-9def-0123456789ab");
  auto unacked = outbox->unacked_batches();
  REQUIRE(unacked->size() == 1);
  REQUIRE((*unacked)[0].batch_seq == 2);
  REQUIRE((*unacked)[0].records.size() == 2);
  REQUIRE((*unacked)[0].records[1].kind == 'q');
  REQUIRE(outbox->pending().rows == 2);
  REQUIRE(outbox->pending().oldest_received_at == 1699990006000);
  REQUIRE(outbox->stats().rows[static_cast<int>(Priority::kBulk)] == 1);
  append_ok(*outbox, records_of({make_record("new")}));
  auto batch = outbox->form_batch(BatchLimits{});
  REQUIRE((*batch)->batch_seq == 3);
  REQUIRE((*batch)->first_seq == 6);
  REQUIRE((*batch)->last_seq == 8);
}

TEST_CASE("outbox schema created today matches the version 1 fixture", "[agent][outbox]") {
  // Released migrations must never change: a new schema needs a new migration and fixture.
  Env env;
  { env.open(); }
  const std::string fixture_path = env.dir.file("fixture.db");
  {
    auto db = SqliteDb::open(fixture_path);
    REQUIRE(db->exec(test::read_file(AISLE_TEST_DATA_DIR "/outbox/v1.sql")).ok());
  }
  auto schema_of = [](const std::string& path) {
    auto db = SqliteDb::open(path);
    REQUIRE(db.ok());
    auto stmt = db->prepare(
        "SELECT type || ' ' || name || ': ' || sql FROM sqlite_schema "
        "WHERE sql IS NOT NULL ORDER BY name");
    REQUIRE(stmt.ok());
    std::vector<std::string> out;
    while (*stmt->step()) out.emplace_back(stmt->column_text(0));
    return out;
  };
  REQUIRE(kOutboxSchemaVersion == 1);
  REQUIRE(schema_of(env.options().path) == schema_of(fixture_path));
}

TEST_CASE("outbox reports a file of garbage bytes as data loss", "[agent][outbox]") {
  Env env;
  std::string garbage(16384, '\0');
  std::mt19937 random(42);
  for (char& c : garbage) c = static_cast<char>(random());
  test::write_file(env.options().path, garbage);
  SqliteOutboxOptions o = env.options();
  o.corruption.on_corrupt = OnCorrupt::kRefuse;  // the default moves it aside (corrupt_test)
  auto outbox = SqliteOutbox::open(o, env.clock, env.registry);
  REQUIRE_FALSE(outbox.ok());
  REQUIRE(outbox.error().code == ErrorCode::kDataLoss);
}

TEST_CASE("outbox fails a whole group when the disk is full and stores none of it",
          "[agent][outbox]") {
  Env env;
  SqliteOutboxOptions o = env.options();
  o.max_file_bytes = 256 * 1024;
  std::uint64_t stored = 0;
  {
    auto outbox = env.open(o);
    Result<AppendResult> result = AppendResult{};
    for (int call = 0; call < 100 && result.ok(); ++call) {
      std::vector<OutboxRecord> records;
      for (int i = 0; i < 20; ++i) {
        records.push_back(
            make_record(std::to_string(call) + "-" + std::to_string(i), Priority::kNormal, 1000));
      }
      result = outbox->append(std::move(records));
      if (result.ok()) stored += result->inserted;
    }
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().code == ErrorCode::kResourceExhausted);
    REQUIRE(outbox->pending().rows == stored);
    REQUIRE(env.metric("aisle_agent_outbox_commit_failures_total") == 1);
  }
  auto outbox = env.open();  // no limit: the failed group must not be there
  REQUIRE(outbox->pending().rows == stored);
  REQUIRE(stored % 20 == 0);
  REQUIRE(append_ok(*outbox, records_of({make_record("after")})).inserted == 1);
}

TEST_CASE("outbox keeps quarantine records in a capped local ring too", "[agent][outbox]") {
  Env env;
  SqliteOutboxOptions o = env.options();
  o.local_quarantine_rows = 3;
  auto outbox = env.open(o);
  for (int i = 0; i < 5; ++i) {
    append_ok(*outbox,
              records_of({make_record("q" + std::to_string(i), Priority::kNormal, 100, 0, 'q'),
                          make_record("e" + std::to_string(i))}));
  }
  REQUIRE(outbox->pending().rows == 10);
  REQUIRE(count_rows(o.path, "quarantine_local") == 3);
  auto db = SqliteDb::open(o.path);
  REQUIRE(*db->query_int64("SELECT min(seq) FROM quarantine_local") == 5);  // q2 (seq 5) onwards
}

TEST_CASE("outbox calls the append listener once per group that inserted records",
          "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  int calls = 0;
  outbox->set_append_listener([&] { ++calls; });
  append_ok(*outbox, records_of({make_record("a"), make_record("b")}));
  REQUIRE(calls == 1);
  append_ok(*outbox, records_of({make_record("a")}));  // duplicate only
  REQUIRE(calls == 1);
  outbox->set_append_listener(nullptr);
  append_ok(*outbox, records_of({make_record("c")}));
  REQUIRE(calls == 1);
}

TEST_CASE("outbox gauges report the backlog", "[agent][outbox]") {
  Env env;
  auto outbox = env.open();
  append_ok(*outbox, records_of({make_record("a", Priority::kBulk, 100, env.clock->now_unix_ms()),
                                 make_record("b")}));
  REQUIRE(outbox->form_batch(BatchLimits{1, 1 << 20}).ok());
  env.clock->advance(std::chrono::seconds(30));
  REQUIRE(env.metric("aisle_agent_outbox_backlog_events", {{"priority", "bulk"}}) == 1);
  REQUIRE(env.metric("aisle_agent_outbox_backlog_bytes", {{"priority", "normal"}}) == 196);
  REQUIRE(env.metric("aisle_agent_outbox_batches_unacked") == 1);
  REQUIRE(env.metric("aisle_agent_outbox_oldest_event_age_seconds") == 30);
  REQUIRE(env.metric("aisle_agent_outbox_file_bytes") > 0);
  outbox.reset();  // gauges registered by a closed outbox stay readable
  REQUIRE(env.metric("aisle_agent_outbox_backlog_events", {{"priority", "bulk"}}) == 1);
}

TEST_CASE("outbox counters kept incrementally match a recount after reopening", "[agent][outbox]") {
  Env env;
  SqliteOutboxOptions o = env.small_quota(40, 48);
  o.max_age_ms = 60'000;
  std::mt19937 random(7);
  auto outbox = env.open(o);
  int next_id = 0;
  for (int step = 0; step < 300; ++step) {
    const int op = static_cast<int>(random() % 10);
    if (op < 6) {
      std::vector<OutboxRecord> records;
      const int n = 1 + static_cast<int>(random() % 8);
      for (int i = 0; i < n; ++i) {
        const auto priority = static_cast<Priority>(random() % 3);
        // Now and then a duplicate of a recent id.
        const int id = (random() % 8 == 0 && next_id > 0) ? next_id - 1 : next_id++;
        records.push_back(make_record("id" + std::to_string(id), priority, 50 + random() % 200,
                                      env.clock->now_unix_ms()));
      }
      append_ok(*outbox, std::move(records));
    } else if (op < 8) {
      REQUIRE(
          outbox->form_batch(BatchLimits{1 + static_cast<std::uint32_t>(random() % 6), 1000}).ok());
    } else if (op == 8) {
      auto batches = outbox->unacked_batches();
      REQUIRE(batches.ok());
      if (!batches->empty()) REQUIRE(outbox->ack_batch(batches->front().batch_seq).ok());
    } else {
      env.clock->advance(std::chrono::seconds(20));
      REQUIRE(outbox->maintain().ok());
    }
    if (step % 50 == 49) {
      const OutboxStats before = outbox->stats();
      const PendingInfo pending_before = outbox->pending();
      outbox.reset();
      outbox = env.open(o);
      const OutboxStats after = outbox->stats();
      const PendingInfo pending_after = outbox->pending();
      for (int p = 0; p < 3; ++p) {
        REQUIRE(before.rows[p] == after.rows[p]);
        REQUIRE(before.bytes[p] == after.bytes[p]);
      }
      REQUIRE(before.batches == after.batches);
      REQUIRE(before.oldest_received_at == after.oldest_received_at);
      REQUIRE(pending_before.rows == pending_after.rows);
      REQUIRE(pending_before.bytes == pending_after.bytes);
      REQUIRE(pending_before.oldest_received_at == pending_after.oldest_received_at);
      REQUIRE(after.total_bytes <= o.hard_max_bytes);
    }
  }
}

}  // namespace
}  // namespace aisle::agent
