// The collector's HTTP ingest (web and mobile events): client IPs truncated before storing,
// the consent version stamped, and the commit hooks' policy applied.
#include <catch2/catch.hpp>

#include "collector/ingest/http_ingest.hpp"
#include "collector/privacy/privacy_hooks.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/schema/registry.hpp"
#include "tests/support/temp_dir.hpp"

using namespace aisle;
using namespace aisle::collector;

namespace {

std::string web_event(const std::string& ip, const std::string& user) {
  return R"({"type":"page_view","occurred_at":"2026-11-28T08:00:00.000Z",)"
         R"("source":{"store_id":"web-nl","channel":"web"},"identities":{"user_id":")" +
         user + R"("},"context":{"ip":")" + ip +
         R"(","user_agent":"test"},"properties":{"url":"https://shop.example/p/1","title":"P1"}})";
}

struct Fixture {
  test::TempDir dir{"aisle-http-ingest"};
  metrics::Registry metrics;
  std::unique_ptr<EventValidator> validator;
  std::unique_ptr<SqliteEventStore> store;
  Fixture() {
    auto loaded = schema::Registry::load({AISLE_SCHEMAS_SOURCE_DIR});
    REQUIRE(loaded);
    validator = std::make_unique<EventValidator>(std::make_shared<schema::RegistryHolder>(*loaded),
                                                 EventValidatorOptions{});
    SqliteEventStoreOptions options;
    options.path = dir.file("collector.db");
    auto opened = SqliteEventStore::open(options, SystemClock::instance(), metrics);
    REQUIRE(opened);
    store = std::move(*opened);
  }
  IngestReport post(HttpIngest& ingest, const std::vector<std::string>& bodies) {
    std::vector<RawRecord> records;
    for (std::size_t i = 0; i < bodies.size(); ++i) records.push_back({bodies[i], 1, i});
    return ingest.ingest(records, ApiKey{"web-shop", "", "", ""}, "127.0.0.1");
  }
  nlohmann::json stored_payload(std::size_t index) {
    EventQuery q;
    q.limit = 100;
    auto events = store->list_events(q);
    REQUIRE(events);
    REQUIRE(events->size() > index);
    // Newest first.
    return nlohmann::json::parse((*events)[events->size() - 1 - index].payload);
  }
};

}  // namespace

TEST_CASE("web client IPs are truncated and the consent version stamped before storing",
          "[collector][http][privacy]") {
  Fixture f;
  HttpIngest ingest(*f.validator, *f.store, SystemClock::instance(), f.metrics);
  ingest.set_consent_version_source([] { return std::uint64_t{41}; });
  const IngestReport report = f.post(ingest, {web_event("203.0.113.77", "u1"),
                                              web_event("2001:db8:abcd:12:1:2:3:4", "u2"),
                                              web_event("not-an-ip", "u3")});
  REQUIRE(report.rejected.empty());
  REQUIRE(report.accepted == 3);
  CHECK(f.stored_payload(0)["context"]["ip"] == "203.0.113.0");
  CHECK(f.stored_payload(1)["context"]["ip"] == "2001:db8:abcd::");
  CHECK_FALSE(f.stored_payload(2)["context"].contains("ip"));
  CHECK(f.stored_payload(0)["consent_version"] == 41);

  ingest.set_ip_truncation(32, 128);  // configured to keep them whole
  REQUIRE(f.post(ingest, {web_event("198.51.100.23", "u4")}).accepted == 1);
  CHECK(f.stored_payload(3)["context"]["ip"] == "198.51.100.23");
}

TEST_CASE("the commit hooks' consent policy applies to web events", "[collector][http][privacy]") {
  Fixture f;
  HttpIngest ingest(*f.validator, *f.store, SystemClock::instance(), f.metrics);
  std::vector<std::string> fed;
  PrivacyHooks hooks(
      {},
      IdentityLookups{[](std::string_view, std::string_view) { return false; },
                      [](std::string_view, std::string_view value) -> std::optional<ConsentFlags> {
                        if (value != "denier") return std::nullopt;
                        ConsentFlags flags;
                        flags.analytics = ConsentState::kDenied;
                        return flags;
                      }},
      [&](std::vector<Event>&& events) {
        for (const auto& e : events) fed.push_back(e.identities.at("user_id"));
      },
      f.metrics);
  ingest.set_commit_hooks(&hooks);
  hooks.start();
  const IngestReport report =
      f.post(ingest, {web_event("203.0.113.1", "fan"), web_event("203.0.113.2", "denier")});
  CHECK(report.accepted == 1);
  CHECK(report.dropped_no_consent == 1);
  CHECK(report.rejected.empty());
  auto count = f.store->count_events();
  REQUIRE(count);
  CHECK(*count == 1);
  hooks.wait_idle();
  CHECK(fed == std::vector<std::string>{"fan"});
}
