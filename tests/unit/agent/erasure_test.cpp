#include "agent/privacy/erasure.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/outbox/sqlite_db.hpp"
#include "agent/outbox/sqlite_outbox.hpp"
#include "common/event_json.hpp"
#include "common/metrics.hpp"
#include "common/pki/pki.hpp"
#include "common/pki/receipt_signing.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

constexpr const char* kErasureId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

std::string event_id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "018bcfe5-6800-7000-8000-%012d", n);
  return buf;
}

// A canonical event as the agent's ingest writes it into the outbox.
OutboxRecord event_record(int n, std::map<std::string, std::string> identities,
                          Priority priority = Priority::kNormal) {
  Event e;
  e.event_id = event_id(n);
  e.type = "product_view";
  e.schema = "aisle/product_view/jsonschema/1-0-0";
  e.occurred_at = 1'700'000'000'000 + n;
  e.received_at = 1'700'000'000'100 + n;
  e.source.store_id = "store-1";
  e.source.channel = Channel::kKiosk;
  e.source.agent_id = "agent-1";
  e.identities = std::move(identities);
  e.properties = {{"sku", "SKU-" + std::to_string(n)}, {"note", "u-1 in a property is not an id"}};
  OutboxRecord r;
  r.event_id = e.event_id;
  r.priority = priority;
  r.received_at = *e.received_at;
  r.payload = to_json_text(e);
  return r;
}

// A quarantine record as IngestService::quarantine_record writes it.
OutboxRecord quarantine_record(int n, const std::string& raw) {
  OutboxRecord r;
  r.event_id = "q-" + std::to_string(n);
  r.kind = 'q';
  r.received_at = 1'700'000'000'000 + n;
  r.payload = nlohmann::json{{"quarantine_id", r.event_id},
                             {"reason", "schema"},
                             {"errors", nlohmann::json::array()},
                             {"raw", raw},
                             {"raw_truncated", false},
                             {"origin", "agent:http"},
                             {"store_id", "store-1"},
                             {"agent_id", "agent-1"},
                             {"received_at", "2023-11-14T22:13:20.000Z"}}
                  .dump();
  return r;
}

struct Env {
  test::TempDir dir{"aisle-erasure"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  metrics::Registry registry;
  std::string pki_dir = dir.file("pki");
  AgentIdentity identity;
  std::unique_ptr<SqliteOutbox> outbox;

  Env() {
    REQUIRE(pki::init_ca(pki_dir, {"acme", 365}).ok());
    pki::IssueOptions o;
    o.kind = pki::CertKind::kAgent;
    o.store_id = "store-1";
    o.agent_id = "agent-1";
    auto issued = pki::issue(pki_dir, o);
    REQUIRE(issued.ok());
    identity = AgentIdentity{"acme", "store-1", "agent-1", issued->key_path, issued->cert_path};
    open();
  }

  void open() {
    outbox.reset();
    SqliteOutboxOptions o;
    o.path = dir.file("outbox.db");
    o.durability = OutboxDurability::kNormal;
    auto opened = SqliteOutbox::open(o, clock, registry);
    REQUIRE(opened.ok());
    outbox = std::move(*opened);
  }

  void append(std::vector<OutboxRecord> records) {
    auto result = outbox->append(std::move(records));
    REQUIRE(result.ok());
    REQUIRE(result->refused == 0);
  }

  // Every payload still in the outbox (events and quarantine), and the local quarantine ring.
  std::vector<std::string> payloads(const char* table = "records") {
    auto db = SqliteDb::open(dir.file("outbox.db"));
    REQUIRE(db.ok());
    auto stmt = db->prepare(std::string("SELECT payload FROM ") + table + " ORDER BY seq");
    REQUIRE(stmt.ok());
    std::vector<std::string> out;
    while (*stmt->step()) out.emplace_back(stmt->column_blob(0));
    return out;
  }
};

wire::ErasureRequest person_a() {
  wire::ErasureRequest r;
  r.erasure_id = kErasureId;
  r.identities = {"user_id:u-1", "anonymous_id:anon-1", "email_sha256:" + std::string(64, 'a')};
  r.requested_at = 1'700'000'000'000;
  return r;
}

bool mentions(const std::string& payload, const std::string& text) {
  return payload.find(text) != std::string::npos;
}

TEST_CASE("erasure purges the person's events and quarantine records and keeps everyone else's",
          "[agent][erasure]") {
  Env env;
  // Person A under three of their identifiers; B, C and D are other people whose ids look alike.
  env.append({event_record(1, {{"user_id", "u-1"}}), event_record(2, {{"user_id", "u-2"}}),
              event_record(3, {{"anonymous_id", "anon-1"}}),
              event_record(4, {{"user_id", "u-10"}}),    // prefix of no concern
              event_record(5, {{"loyalty_id", "u-1"}}),  // same value, other type
              event_record(6, {{"anonymous_id", "anon-7"}, {"user_id", "u-1"}}, Priority::kBulk),
              event_record(7, {}),  // no identities (footfall)
              event_record(8, {{"email_sha256", std::string(64, 'a')}}, Priority::kCritical),
              quarantine_record(9, R"({"type":"purchase","identities":{"user_id":"u-1"}})"),
              quarantine_record(10, R"({"type":"purchase","identities":{"user_id":"u-2"}})"),
              quarantine_record(11, "not json at all, mentions \"anon-1\" though"),
              quarantine_record(12, "not json, mentions nobody")});
  // Some of A's records are already in a formed (unacknowledged) batch.
  auto batch = env.outbox->form_batch(BatchLimits{3, 1 << 20});
  REQUIRE(batch.ok());
  REQUIRE(*batch);
  REQUIRE((*batch)->records.size() == 3);
  const auto before = env.outbox->stats();
  REQUIRE(before.total_rows == 12);

  ErasureHandler handler(*env.outbox, env.identity, env.clock, env.registry);
  std::vector<std::vector<std::string>> purger_calls;
  handler.add_cache_purger([&purger_calls](const std::vector<std::string>& identities) {
    purger_calls.push_back(identities);
    return std::size_t{2};
  });
  env.clock->advance(std::chrono::seconds(5));
  auto receipt = handler.handle(person_a());
  INFO((receipt.ok() ? std::string() : receipt.error().message));
  REQUIRE(receipt.ok());

  // A's events 1, 3, 6, 8 and quarantine records 9 and 11.
  CHECK(receipt->events_purged == 6);
  CHECK(receipt->cache_entries_purged == 2);
  CHECK(receipt->erasure_id == kErasureId);
  CHECK(receipt->tenant == "acme");
  CHECK(receipt->store_id == "store-1");
  CHECK(receipt->agent_id == "agent-1");
  CHECK(receipt->purged_at == env.clock->now_unix_ms());
  REQUIRE(purger_calls.size() == 1);
  CHECK(purger_calls[0] == person_a().identities);
  CHECK(pki::verify_receipt(*receipt, pki::ca_cert_path(env.pki_dir)).ok());

  const auto left = env.payloads();
  REQUIRE(left.size() == 6);
  for (const auto& payload : left) {
    CHECK_FALSE(mentions(payload, R"("user_id":"u-1")"));
    CHECK_FALSE(mentions(payload, "anon-1"));
    CHECK_FALSE(mentions(payload, std::string(64, 'a')));
  }
  for (int kept : {2, 4, 5, 7}) {
    CHECK(std::count_if(left.begin(), left.end(),
                        [kept](const std::string& p) { return mentions(p, event_id(kept)); }) == 1);
  }
  CHECK(env.payloads("quarantine_local").size() == 2);

  // The counters follow: rows by class, pending rows, and the formed batch reports its drop.
  const auto after = env.outbox->stats();
  CHECK(after.total_rows == 6);
  CHECK(after.rows[static_cast<int>(Priority::kCritical)] == 0);
  CHECK(after.rows[static_cast<int>(Priority::kBulk)] == 0);
  auto reloaded = env.outbox->load_batch((*batch)->batch_seq);
  REQUIRE(reloaded.ok());
  CHECK(reloaded->records.size() == 1);  // event 2 of {1, 2, 3}
  CHECK(reloaded->dropped == 2);
  CHECK(env.outbox->pending().rows == 5);
  CHECK(env.registry.value("aisle_agent_outbox_erased_total", {{"kind", "event"}}) == 4);
  CHECK(env.registry.value("aisle_agent_outbox_erased_total", {{"kind", "quarantine"}}) == 2);
  CHECK(env.registry.value("aisle_agent_erasures_total", {{"result", "purged"}}) == 1);

  // The outbox still works: new records, batches and acks after the purge.
  env.append({event_record(20, {{"user_id", "u-3"}})});
  auto next = env.outbox->form_batch(BatchLimits{});
  REQUIRE(next.ok());
  REQUIRE(*next);
  CHECK((*next)->records.size() == 6);  // 4, 5, 7, 10, 12, 20
  REQUIRE(env.outbox->ack_batch((*batch)->batch_seq).ok());
  REQUIRE(env.outbox->ack_batch((*next)->batch_seq).ok());
  CHECK(env.outbox->stats().total_rows == 0);
  CHECK(env.outbox->stats().total_bytes == 0);
}

TEST_CASE("a repeated erasure is answered with the same receipt and purges nothing more",
          "[agent][erasure]") {
  Env env;
  env.append({event_record(1, {{"user_id", "u-1"}}), event_record(2, {{"user_id", "u-2"}})});
  std::size_t purger_runs = 0;
  wire::ErasureReceipt first;
  {
    ErasureHandler handler(*env.outbox, env.identity, env.clock, env.registry);
    handler.add_cache_purger([&purger_runs](const std::vector<std::string>&) {
      ++purger_runs;
      return std::size_t{1};
    });
    auto receipt = handler.handle(person_a());
    REQUIRE(receipt.ok());
    CHECK(receipt->events_purged == 1);
    first = *receipt;

    // A late event of the same person arrives after the erasure was handled: a repeated
    // broadcast does not purge again (the collector discards late events of erased people).
    env.append({event_record(3, {{"user_id", "u-1"}})});
    env.clock->advance(std::chrono::minutes(1));
    auto again = handler.handle(person_a());
    REQUIRE(again.ok());
    CHECK(*again == first);
    CHECK(purger_runs == 1);
    CHECK(env.outbox->stats().total_rows == 2);
    CHECK(env.registry.value("aisle_agent_erasures_total", {{"result", "repeated"}}) == 1);
  }
  // The ledger survives a restart of the agent.
  env.open();
  ErasureHandler restarted(*env.outbox, env.identity, env.clock, env.registry);
  auto after_restart = restarted.handle(person_a());
  REQUIRE(after_restart.ok());
  CHECK(*after_restart == first);
  CHECK(env.outbox->stats().total_rows == 2);

  // Another erasure id is another erasure.
  auto other = person_a();
  other.erasure_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";
  auto second = restarted.handle(other);
  REQUIRE(second.ok());
  CHECK(second->events_purged == 1);  // event 3
  CHECK(env.outbox->stats().total_rows == 1);
}

TEST_CASE("erasure counts survive an interrupted attempt", "[agent][erasure]") {
  Env env;
  env.append({event_record(1, {{"user_id", "u-1"}}), event_record(2, {{"user_id", "u-1"}}),
              event_record(3, {{"user_id", "u-2"}})});
  // An attempt that purged and then failed before its receipt was recorded (here: the key is
  // unreadable): nothing is recorded as handled.
  AgentIdentity broken = env.identity;
  broken.key_file = env.dir.file("missing.key");
  {
    ErasureHandler handler(*env.outbox, broken, env.clock, env.registry);
    auto failed = handler.handle(person_a());
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::kNotFound);
    CHECK(env.registry.value("aisle_agent_erasures_total", {{"result", "failed"}}) == 1);
  }
  CHECK(env.outbox->stats().total_rows == 1);
  auto none = env.outbox->erasure_receipt(kErasureId);
  REQUIRE(none.ok());
  CHECK_FALSE(*none);
  // The retry finds nothing more to purge, but its receipt still counts what the first run did.
  env.open();
  ErasureHandler handler(*env.outbox, env.identity, env.clock, env.registry);
  auto receipt = handler.handle(person_a());
  REQUIRE(receipt.ok());
  CHECK(receipt->events_purged == 2);
  CHECK(pki::verify_receipt(*receipt, pki::ca_cert_path(env.pki_dir)).ok());
}

TEST_CASE("a malformed erasure request purges nothing", "[agent][erasure]") {
  Env env;
  env.append({event_record(1, {{"user_id", "u-1"}})});
  ErasureOptions options;
  options.max_identities = 2;
  ErasureHandler handler(*env.outbox, env.identity, env.clock, env.registry, options);
  auto request = person_a();
  SECTION("an identity without a type") {
    request.identities = {"user_id:u-1", "u-1"};
    auto receipt = handler.handle(request);
    REQUIRE_FALSE(receipt.ok());
    CHECK(receipt.error().message.find("identities[1]") != std::string::npos);
  }
  SECTION("too many identities") {
    auto receipt = handler.handle(request);  // three, limit two
    REQUIRE_FALSE(receipt.ok());
    CHECK(receipt.error().message.find("limit 2") != std::string::npos);
  }
  SECTION("an erasure id that cannot name a ledger entry") {
    request.identities = {"user_id:u-1"};
    request.erasure_id = "../../etc";
    auto receipt = handler.handle(request);
    REQUIRE_FALSE(receipt.ok());
    CHECK(receipt.error().code == ErrorCode::kInvalidArgument);
  }
  CHECK(env.outbox->stats().total_rows == 1);
}

TEST_CASE("erasure finds quarantine records kept only in the local ring after their ack",
          "[agent][erasure]") {
  Env env;
  env.append({quarantine_record(1, R"({"identities":{"user_id":"u-1"},"type":"bogus"})"),
              quarantine_record(2, R"({"identities":{"user_id":"u-2"},"type":"bogus"})")});
  auto batch = env.outbox->form_batch(BatchLimits{});
  REQUIRE(batch.ok());
  REQUIRE(env.outbox->ack_batch((*batch)->batch_seq).ok());
  REQUIRE(env.outbox->stats().total_rows == 0);
  REQUIRE(env.payloads("quarantine_local").size() == 2);
  ErasureHandler handler(*env.outbox, env.identity, env.clock, env.registry);
  auto receipt = handler.handle(person_a());
  REQUIRE(receipt.ok());
  CHECK(receipt->events_purged == 1);
  const auto ring = env.payloads("quarantine_local");
  REQUIRE(ring.size() == 1);
  CHECK(mentions(ring[0], "u-2"));
}

TEST_CASE("erasure scans an outbox larger than one purge chunk", "[agent][erasure]") {
  Env env;
  const int total = static_cast<int>(SqliteOutbox::kPurgeChunkRows) + 2'500;
  std::vector<OutboxRecord> records;
  int expected = 0;
  for (int i = 1; i <= total; ++i) {
    // Person A on every 1000th event, including both sides of the chunk boundary.
    const bool person = i % 1000 == 0 || i == total;
    expected += person ? 1 : 0;
    records.push_back(
        event_record(i, {{"user_id", person ? "u-1" : "u-" + std::to_string(i + 1)}}));
    if (records.size() == 2000) {
      env.append(std::move(records));
      records.clear();
    }
  }
  if (!records.empty()) env.append(std::move(records));
  auto purged = env.outbox->purge_identities(kErasureId, {"user_id:u-1"});
  REQUIRE(purged.ok());
  CHECK(purged->events == static_cast<std::uint64_t>(expected));
  CHECK(purged->scanned == static_cast<std::uint64_t>(total));
  CHECK(env.outbox->stats().total_rows == static_cast<std::uint64_t>(total - expected));
  CHECK(env.outbox->pending().rows == static_cast<std::uint64_t>(total - expected));
}

}  // namespace
}  // namespace aisle::agent
