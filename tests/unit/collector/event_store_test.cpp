#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "collector/store/sqlite_db.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using std::chrono::hours;

constexpr UnixMillis kStart = 1'700'000'000'000;

std::string event_id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "018bcfe5-6800-7000-8000-%012d", n);
  return buf;
}

StoredEvent make_event(int n, const std::string& store_id = "store-1",
                       const std::string& type = "product_view") {
  StoredEvent e;
  e.event_id = event_id(n);
  e.type = type;
  e.schema = "aisle/" + type + "/1";
  e.store_id = store_id;
  e.agent_id = "agent-1";
  e.channel = "kiosk";
  e.occurred_at = kStart - 1000 + n;
  e.received_at = kStart - 500 + n;
  e.payload = R"({"event_id":")" + e.event_id + R"(","type":")" + type + R"("})";
  return e;
}

QuarantineEntry make_quarantine(const std::string& reason, const std::string& store_id) {
  QuarantineEntry q;
  q.reason = reason;
  q.errors = R"([{"path":"/type","keyword":"enum","message":"unknown type"}])";
  q.raw = std::string("{\"type\":\"bogus\"}\n\0\xff", 19);  // raw bytes, NUL included
  q.store_id = store_id;
  q.agent_id = "agent-1";
  q.origin = "mqtt";
  q.received_at = kStart - 10;
  return q;
}

BatchReceipt make_receipt(const std::string& stream, std::uint64_t batch_seq) {
  BatchReceipt r;
  r.stream_id = stream;
  r.batch_seq = batch_seq;
  r.tenant = "acme";
  r.store_id = "store-1";
  r.agent_id = "agent-1";
  r.first_seq = batch_seq * 10 - 9;
  r.last_seq = batch_seq * 10;
  return r;
}

CommitRequest batch(const std::string& stream, std::uint64_t batch_seq,
                    std::vector<StoredEvent> events = {}) {
  CommitRequest request;
  request.receipt = make_receipt(stream, batch_seq);
  request.events = std::move(events);
  return request;
}

// A store on a temp dir, reopenable, with an injected clock.
struct Fixture {
  test::TempDir dir{"aisle-event-store"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  metrics::Registry registry;
  SqliteEventStoreOptions options;
  std::unique_ptr<SqliteEventStore> store;

  Fixture() {
    options.path = dir.file("events.db");
    reopen();
  }
  void reopen() {
    store.reset();
    auto opened = SqliteEventStore::open(options, clock, registry);
    REQUIRE(opened.ok());
    store = std::move(*opened);
  }
  CommitResult commit(CommitRequest request) {
    auto result = store->commit(std::move(request));
    REQUIRE(result.ok());
    return *result;
  }
  StreamProgress progress(const std::string& stream) {
    auto all = store->load_stream_progress();
    REQUIRE(all.ok());
    for (const auto& p : *all) {
      if (p.stream_id == stream) return p;
    }
    FAIL("no progress for stream " << stream);
    return {};
  }
};

void exec_sql_file(const std::string& db_path, const std::string& sql_file) {
  auto db = SqliteDb::open(db_path);
  REQUIRE(db.ok());
  const std::string sql = test::read_file(std::string(AISLE_TEST_DATA_DIR) + "/" + sql_file);
  REQUIRE_FALSE(sql.empty());
  REQUIRE(db->exec(sql).ok());
}

}  // namespace

TEST_CASE("event store stores events and flags duplicates", "[collector][store]") {
  Fixture f;
  CommitRequest first;
  first.events = {make_event(1), make_event(2), make_event(3)};
  const CommitResult r1 = f.commit(first);
  CHECK(r1.stored == 3);
  CHECK(r1.duplicates == 0);
  CHECK_FALSE(r1.batch_already_committed);
  CHECK(r1.duplicate_flags == std::vector<bool>{false, false, false});
  CHECK(r1.committed_at == kStart);

  // Two already stored (one written in upper case), one new, and the new one twice.
  CommitRequest second;
  second.events = {make_event(2), make_event(4), make_event(3), make_event(4)};
  std::transform(second.events[0].event_id.begin(), second.events[0].event_id.end(),
                 second.events[0].event_id.begin(), ::toupper);
  const CommitResult r2 = f.commit(second);
  CHECK(r2.stored == 1);
  CHECK(r2.duplicates == 3);
  CHECK(r2.duplicate_flags == std::vector<bool>{true, false, true, true});

  CHECK(f.store->count_events().value() == 4);
  CHECK(f.registry.value("aisle_collector_store_events_rows") == 4);
  CHECK(f.registry.value("aisle_collector_store_commits_total", {{"result", "ok"}}) == 2);

  auto got = f.store->get_event(event_id(2));
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  const StoredEvent& e = **got;
  const StoredEvent want = make_event(2);
  CHECK(e.event_id == want.event_id);
  CHECK(e.type == want.type);
  CHECK(e.schema == want.schema);
  CHECK(e.store_id == want.store_id);
  CHECK(e.agent_id == want.agent_id);
  CHECK(e.channel == want.channel);
  CHECK(e.occurred_at == want.occurred_at);
  CHECK(e.received_at == want.received_at);
  CHECK(e.ingested_at == kStart);  // stamped by the store: the request left it 0
  CHECK(e.payload == want.payload);

  CHECK_FALSE(f.store->get_event(event_id(99)).value().has_value());
  CHECK_FALSE(f.store->get_event("not-a-uuid").value().has_value());
}

TEST_CASE("event store rejects an invalid event_id without writing anything",
          "[collector][store]") {
  Fixture f;
  CommitRequest request = batch("stream-a", 1, {make_event(1), make_event(2)});
  request.events[1].event_id = "0000-not-a-uuid";
  request.quarantine = {make_quarantine("schema", "store-1")};
  auto result = f.store->commit(request);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == ErrorCode::kInvalidArgument);
  CHECK_THAT(result.error().message, Catch::Contains("event 1"));
  CHECK(f.store->count_events().value() == 0);
  CHECK(f.store->count_quarantine("").value() == 0);
  CHECK(f.store->load_stream_progress().value().empty());

  CHECK(f.store->commit(batch("stream-a", 0)).error().code == ErrorCode::kInvalidArgument);
}

TEST_CASE("a retransmitted batch writes nothing and returns the first counts",
          "[collector][store]") {
  Fixture f;
  f.commit(batch("stream-a", 1, {make_event(1)}));
  CommitRequest request = batch("stream-a", 2, {make_event(1), make_event(2), make_event(3)});
  request.quarantine = {make_quarantine("schema", "store-1")};
  const CommitResult first = f.commit(request);
  CHECK(first.stored == 2);
  CHECK(first.duplicates == 1);
  CHECK(first.quarantined == 1);

  f.clock->advance(std::chrono::seconds(30));
  request.events.push_back(make_event(4));  // whatever the resend holds, nothing is written
  const CommitResult again = f.commit(request);
  CHECK(again.batch_already_committed);
  CHECK_FALSE(again.receipt_expired);
  CHECK(again.stored == 2);
  CHECK(again.duplicates == 1);
  CHECK(again.quarantined == 1);
  CHECK(again.committed_at == kStart);
  CHECK(again.duplicate_flags.empty());
  CHECK(f.store->count_events().value() == 3);
  CHECK(f.store->count_quarantine("").value() == 1);
  CHECK_FALSE(f.store->get_event(event_id(4)).value().has_value());
}

TEST_CASE("quarantine entries are listed, filtered, paged, fetched and marked replayed",
          "[collector][store]") {
  Fixture f;
  CommitRequest request;
  for (int i = 0; i < 5; ++i) request.quarantine.push_back(make_quarantine("schema", "store-1"));
  request.quarantine.push_back(make_quarantine("parse", "store-2"));
  f.commit(request);
  f.clock->advance(hours(1));
  CommitRequest later;
  later.quarantine = {make_quarantine("schema", "store-2")};
  f.commit(later);

  auto all = f.store->list_quarantine({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 7);
  CHECK(std::is_sorted(all->begin(), all->end(),
                       [](const auto& a, const auto& b) { return a.id < b.id; }));
  const QuarantineEntry& e = all->front();
  const QuarantineEntry want = make_quarantine("schema", "store-1");
  CHECK(e.raw == want.raw);
  CHECK(e.errors == want.errors);
  CHECK(e.origin == "mqtt");
  CHECK(e.received_at == want.received_at);
  CHECK(e.quarantined_at == kStart);
  CHECK(e.replayed_at == 0);

  QuarantineQuery by_store;
  by_store.store_id = "store-2";
  CHECK(f.store->list_quarantine(by_store).value().size() == 2);
  QuarantineQuery by_reason;
  by_reason.reason = "schema";
  CHECK(f.store->list_quarantine(by_reason).value().size() == 6);
  by_reason.store_id = "store-2";
  CHECK(f.store->list_quarantine(by_reason).value().size() == 1);
  QuarantineQuery since;
  since.since = kStart + 1;
  CHECK(f.store->list_quarantine(since).value().size() == 1);
  CHECK(f.store->count_quarantine("schema").value() == 6);
  CHECK(f.store->count_quarantine("parse").value() == 1);
  CHECK(f.store->count_quarantine("").value() == 7);

  // Pages of 3 by the after_id cursor cover everything once.
  QuarantineQuery page;
  page.limit = 3;
  std::vector<std::int64_t> seen;
  for (;;) {
    auto entries = f.store->list_quarantine(page);
    REQUIRE(entries.ok());
    for (const auto& entry : *entries) seen.push_back(entry.id);
    if (entries->size() < page.limit) break;
    page.after_id = entries->back().id;
  }
  REQUIRE(seen.size() == 7);
  CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 7);

  const std::int64_t id = (*all)[1].id;
  auto got = f.store->get_quarantine(id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->id == id);
  CHECK_FALSE(f.store->get_quarantine(12345).value().has_value());

  REQUIRE(f.store->mark_replayed({id, (*all)[2].id}, kStart + 5).ok());
  REQUIRE(f.store->mark_replayed({id}, kStart + 9).ok());  // the first replay time stays
  CHECK(f.store->get_quarantine(id).value()->replayed_at == kStart + 5);
  CHECK(f.store->list_quarantine({}).value().size() == 5);
  QuarantineQuery with_replayed;
  with_replayed.include_replayed = true;
  CHECK(f.store->list_quarantine(with_replayed).value().size() == 7);

  // All or nothing: an unknown id marks none.
  auto missing = f.store->mark_replayed({(*all)[3].id, 999}, kStart + 7);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(f.store->get_quarantine((*all)[3].id).value()->replayed_at == 0);
}

TEST_CASE("a scan pages through events in commit order from a cursor", "[collector][store]") {
  Fixture f;
  for (int b = 0; b < 3; ++b) {
    CommitRequest request;
    for (int i = 0; i < 4; ++i) {
      request.events.push_back(make_event(b * 10 + i, "store-1", "product_view"));
    }
    f.commit(request);
    f.clock->advance(std::chrono::seconds(1));
  }
  std::vector<std::string> seen;
  std::int64_t cursor = 0;
  for (int page = 0; page < 10; ++page) {
    auto events = f.store->scan_events(cursor, 0, 5, cursor);
    REQUIRE(events.ok());
    if (events->empty()) break;
    CHECK(events->size() <= 5);
    for (const auto& e : *events) seen.push_back(e.event_id);
  }
  REQUIRE(seen.size() == 12);
  CHECK(seen.front() == event_id(0));  // oldest commit first
  CHECK(seen[4] == event_id(10));
  CHECK(seen.back() == event_id(23));
  // Only what was ingested since a time; the cursor of an empty page stays where it was.
  std::int64_t from_start = 0;
  auto recent = f.store->scan_events(0, kStart + 2000, 100, from_start);
  REQUIRE(recent.ok());
  REQUIRE(recent->size() == 4);
  CHECK(recent->front().event_id == event_id(20));
  std::int64_t end = from_start;
  CHECK(f.store->scan_events(from_start, 0, 100, end).value().empty());
  CHECK(end == from_start);
}

TEST_CASE("events are listed newest first with filters and a capped limit", "[collector][store]") {
  Fixture f;
  for (int b = 0; b < 3; ++b) {
    CommitRequest request;
    for (int i = 0; i < 4; ++i) {
      const int n = b * 10 + i;
      request.events.push_back(
          make_event(n, i % 2 ? "store-2" : "store-1", i == 3 ? "purchase" : "product_view"));
    }
    f.commit(request);
    f.clock->advance(std::chrono::seconds(1));
  }
  auto all = f.store->list_events({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 12);
  CHECK(all->front().event_id == event_id(23));  // last committed comes first
  CHECK(all->back().event_id == event_id(0));

  EventQuery q;
  q.store_id = "store-2";
  q.since = kStart + 1000;
  auto filtered = f.store->list_events(q);
  REQUIRE(filtered.ok());
  REQUIRE(filtered->size() == 4);
  for (const auto& e : *filtered) {
    CHECK(e.store_id == "store-2");
    CHECK(e.ingested_at >= kStart + 1000);
  }
  EventQuery by_type;
  by_type.type = "purchase";
  by_type.limit = 2;
  auto purchases = f.store->list_events(by_type);
  REQUIRE(purchases.ok());
  REQUIRE(purchases->size() == 2);
  CHECK(purchases->at(0).event_id == event_id(23));
  CHECK(purchases->at(1).event_id == event_id(13));

  EventQuery huge;
  huge.limit = 1'000'000;
  CHECK(f.store->list_events(huge).value().size() == 12);
}

TEST_CASE("stream progress tracks max and contiguous batch_seq across gaps", "[collector][store]") {
  Fixture f;
  for (std::uint64_t seq : {1, 2, 4, 5, 7}) f.commit(batch("stream-a", seq));
  f.commit(batch("stream-b", 3));
  StreamProgress a = f.progress("stream-a");
  CHECK(a.max_batch_seq == 7);
  CHECK(a.contiguous_batch_seq == 2);
  CHECK(a.store_id == "store-1");
  CHECK(a.agent_id == "agent-1");
  CHECK(a.last_committed_at == kStart);
  CHECK(f.progress("stream-b").contiguous_batch_seq == 0);

  f.clock->advance(std::chrono::seconds(5));
  f.commit(batch("stream-a", 3));  // closes the first gap, absorbing 4..5
  a = f.progress("stream-a");
  CHECK(a.contiguous_batch_seq == 5);
  CHECK(a.last_committed_at == kStart + 5000);
  f.commit(batch("stream-a", 6));
  CHECK(f.progress("stream-a").contiguous_batch_seq == 7);

  f.reopen();
  a = f.progress("stream-a");
  CHECK(a.max_batch_seq == 7);
  CHECK(a.contiguous_batch_seq == 7);
  CHECK(f.store->load_stream_progress().value().size() == 2);
}

TEST_CASE("stream progress matches a recomputation for batches in any order",
          "[collector][store]") {
  Fixture f;
  std::mt19937 random(7);
  for (int round = 0; round < 5; ++round) {
    const std::string stream = "stream-" + std::to_string(round);
    std::vector<std::uint64_t> seqs;
    for (std::uint64_t s = 1; s <= 40; ++s) {
      if (random() % 5 != 0) seqs.push_back(s);  // some batches never arrive
    }
    std::shuffle(seqs.begin(), seqs.end(), random);
    std::set<std::uint64_t> committed;
    for (std::uint64_t seq : seqs) {
      // Retransmissions interleave: every fourth commit repeats an earlier batch.
      if (!committed.empty() && random() % 4 == 0) {
        CHECK(f.commit(batch(stream, *committed.begin())).batch_already_committed);
      }
      CHECK_FALSE(f.commit(batch(stream, seq)).batch_already_committed);
      committed.insert(seq);
      std::uint64_t contiguous = 0;
      while (committed.count(contiguous + 1)) ++contiguous;
      const StreamProgress p = f.progress(stream);
      REQUIRE(p.contiguous_batch_seq == contiguous);
      REQUIRE(p.max_batch_seq == *committed.rbegin());
    }
  }
}

TEST_CASE("pruned receipts keep progress exact and retransmissions recognised",
          "[collector][store]") {
  Fixture f;
  for (std::uint64_t seq : {1, 2, 3, 5, 6}) f.commit(batch("stream-a", seq, {make_event(seq)}));
  f.commit(batch("stream-b", 1));
  f.clock->advance(hours(24 * 29));
  f.commit(batch("stream-a", 7));  // recent: stays
  f.clock->advance(hours(24 * 2));

  auto pruned = f.store->prune_receipts();
  REQUIRE(pruned.ok());
  CHECK(*pruned == 5);  // stream-a 1, 2, 3, 5, 6; 7 is recent and stream-b's only one stays
  CHECK(f.registry.value("aisle_collector_store_receipts_pruned_total") == 5);
  CHECK(f.store->prune_receipts().value() == 0);

  StreamProgress a = f.progress("stream-a");
  CHECK(a.max_batch_seq == 7);
  CHECK(a.contiguous_batch_seq == 3);

  // A pruned batch is still known as committed; its counts are gone.
  const CommitResult resent = f.commit(batch("stream-a", 5, {make_event(5), make_event(50)}));
  CHECK(resent.batch_already_committed);
  CHECK(resent.receipt_expired);
  CHECK(resent.stored == 0);
  CHECK_FALSE(f.store->get_event(event_id(50)).value().has_value());
  // A kept receipt still answers with its counts.
  const CommitResult kept = f.commit(batch("stream-b", 1));
  CHECK(kept.batch_already_committed);
  CHECK_FALSE(kept.receipt_expired);

  // Filling the gap after pruning still advances over the pruned island.
  f.commit(batch("stream-a", 4));
  CHECK(f.progress("stream-a").contiguous_batch_seq == 7);
  f.reopen();
  a = f.progress("stream-a");
  CHECK(a.contiguous_batch_seq == 7);
  CHECK(a.max_batch_seq == 7);
  CHECK(f.progress("stream-b").max_batch_seq == 1);
}

TEST_CASE("commits prune old receipts on their own", "[collector][store]") {
  Fixture f;
  f.options.receipts_retention_ms = 24LL * 3600 * 1000;
  f.reopen();
  for (std::uint64_t seq = 1; seq <= 5; ++seq) f.commit(batch("stream-a", seq));
  f.clock->advance(hours(2));  // past the prune interval, not the retention
  f.commit(batch("stream-a", 6));
  CHECK(f.registry.value("aisle_collector_store_receipts_pruned_total") == 0);
  f.clock->advance(hours(25));
  f.commit(batch("stream-a", 7));
  CHECK(f.registry.value("aisle_collector_store_receipts_pruned_total") == 6);
  CHECK(f.commit(batch("stream-a", 2)).receipt_expired);
}

TEST_CASE("events, quarantine and receipts survive reopening the store", "[collector][store]") {
  Fixture f;
  CommitRequest request = batch("stream-a", 1, {make_event(1), make_event(2)});
  request.quarantine = {make_quarantine("envelope", "store-1")};
  f.commit(request);
  f.reopen();
  CHECK(f.store->count_events().value() == 2);
  CHECK(f.registry.value("aisle_collector_store_events_rows") == 2);
  CHECK(f.store->get_event(event_id(1)).value().has_value());
  CHECK(f.store->count_quarantine("envelope").value() == 1);
  const CommitResult again = f.commit(request);
  CHECK(again.batch_already_committed);
  CHECK(again.stored == 2);
  CHECK(again.quarantined == 1);
}

TEST_CASE("a database of a newer schema version is refused and left untouched",
          "[collector][store]") {
  test::TempDir dir("aisle-event-store");
  const std::string path = dir.file("events.db");
  exec_sql_file(path, "collector_store/newer_version.sql");
  metrics::Registry registry;
  SqliteEventStoreOptions options;
  options.path = path;
  auto opened = SqliteEventStore::open(options, std::make_shared<ManualClock>(), registry);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == ErrorCode::kFailedPrecondition);
  CHECK_THAT(opened.error().message, Catch::Contains("version 2") && Catch::Contains("version 1"));
  auto db = SqliteDb::open(path);
  REQUIRE(db.ok());
  CHECK(db->query_int64("PRAGMA user_version").value() == 2);
}

TEST_CASE("a foreign SQLite database is refused", "[collector][store]") {
  test::TempDir dir("aisle-event-store");
  const std::string path = dir.file("events.db");
  exec_sql_file(path, "collector_store/foreign.sql");
  metrics::Registry registry;
  SqliteEventStoreOptions options;
  options.path = path;
  auto opened = SqliteEventStore::open(options, std::make_shared<ManualClock>(), registry);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == ErrorCode::kFailedPrecondition);
}

TEST_CASE("the v1 golden database opens and reads back", "[collector][store]") {
  test::TempDir dir("aisle-event-store");
  metrics::Registry registry;
  SqliteEventStoreOptions options;
  options.path = dir.file("events.db");
  exec_sql_file(options.path, "collector_store/v1_golden.sql");
  auto opened = SqliteEventStore::open(options, std::make_shared<ManualClock>(kStart), registry);
  REQUIRE(opened.ok());
  auto& store = **opened;
  CHECK(store.count_events().value() == 2);
  auto e = store.get_event("018bcfe5-6800-7000-8000-000000000001");
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  CHECK((*e)->payload == R"({"event_id":"018bcfe5-6800-7000-8000-000000000001"})");
  CHECK(store.count_quarantine("schema").value() == 1);
  auto progress = store.load_stream_progress();
  REQUIRE(progress.ok());
  REQUIRE(progress->size() == 1);
  CHECK(progress->front().contiguous_batch_seq == 1);
  CHECK(progress->front().max_batch_seq == 3);
  CHECK(store.commit(batch("stream-golden", 3)).value().batch_already_committed);
  CHECK(store.commit(batch("stream-golden", 2)).value().stored == 0);
  CHECK(store.load_stream_progress().value().front().contiguous_batch_seq == 3);
}

TEST_CASE("a corrupt database file is an error, not a crash", "[collector][store]") {
  test::TempDir dir("aisle-event-store");
  metrics::Registry registry;
  auto clock = std::make_shared<ManualClock>(kStart);
  SqliteEventStoreOptions options;
  options.path = dir.file("events.db");
  // The default moves a damaged file aside (store_corrupt_test.cpp); here it is refused.
  options.corruption.on_corrupt = OnCorrupt::kRefuse;

  SECTION("garbage instead of a database") {
    test::write_file(options.path, std::string(8192, 'x'));
    auto opened = SqliteEventStore::open(options, clock, registry);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ErrorCode::kDataLoss);
  }
  SECTION("damaged pages behind a valid header") {
    {
      auto opened = SqliteEventStore::open(options, clock, registry);
      REQUIRE(opened.ok());
      CommitRequest request;
      for (int i = 0; i < 200; ++i) request.events.push_back(make_event(i));
      REQUIRE((*opened)->commit(request).ok());
    }  // closed: checkpointed into the main file
    std::string bytes = test::read_file(options.path);
    REQUIRE(bytes.size() > 16 * 1024);
    for (std::size_t i = 4096; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(i * 31);
    test::write_file(options.path, bytes);
    auto opened = SqliteEventStore::open(options, clock, registry);
    if (!opened.ok()) {
      CHECK(opened.error().code != ErrorCode::kInternal);
    } else {
      // Whatever SQLite detects comes back as an error value.
      auto events = (*opened)->list_events({});
      auto count = (*opened)->count_events();
      auto committed = (*opened)->commit(batch("stream-a", 1, {make_event(1000)}));
      CHECK((!events.ok() || !count.ok() || !committed.ok()));
    }
  }
}

TEST_CASE("the WAL is checkpointed in the background and stays bounded", "[collector][store]") {
  Fixture f;
  f.options.checkpoint_frames = 64;  // 256 KiB
  f.reopen();
  std::uintmax_t written = 0;
  for (int b = 0; b < 100; ++b) {
    CommitRequest request;
    for (int i = 0; i < 50; ++i) {
      StoredEvent e = make_event(b * 100 + i);
      e.payload += std::string(1000, ' ');
      written += e.payload.size();
      request.events.push_back(std::move(e));
    }
    f.commit(request);
  }
  // Without checkpoints (or without WAL restarts) the WAL would hold everything written.
  CHECK(std::filesystem::file_size(f.options.path + "-wal") < written / 2);
  f.reopen();
  CHECK(f.store->count_events().value() == 5000);
}

TEST_CASE("reads proceed while commits and checkpoints are running", "[collector][store]") {
  Fixture f;
  f.options.checkpoint_frames = 16;
  f.reopen();
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      std::uint64_t last_count = 0;
      while (!done) {
        auto count = f.store->count_events();
        auto events = f.store->list_events({});
        auto progress = f.store->load_stream_progress();
        if (!count.ok() || !events.ok() || !progress.ok()) {
          ++read_errors;
          continue;
        }
        // Each read sees a committed snapshot: counts never go backwards.
        if (*count < last_count) ++read_errors;
        last_count = *count;
        ++reads;
      }
    });
  }
  for (std::uint64_t b = 1; b <= 40; ++b) {
    std::vector<StoredEvent> events;
    for (int i = 0; i < 50; ++i) events.push_back(make_event(static_cast<int>(b * 100) + i));
    f.commit(batch("stream-a", b, std::move(events)));
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(read_errors == 0);
  CHECK(reads > 0);
  CHECK(f.store->count_events().value() == 2000);
  CHECK(f.progress("stream-a").contiguous_batch_seq == 40);
}

}  // namespace aisle::collector
