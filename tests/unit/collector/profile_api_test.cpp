#include "collector/api/profile_api.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "collector/store/sqlite_event_store.hpp"
#include "common/crypto.hpp"
#include "common/event_json.hpp"
#include "common/metrics.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;
using Ids = std::map<std::string, std::string>;

constexpr UnixMillis kT0 = 1'760'000'000'000;
const std::string kReadKey = "read-key-0123456789";
const std::string kAdminKey = "admin-key-0123456789";

std::string uuid_for(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "018bcfe5-6800-7000-8000-%012d", n);
  return buf;
}

Event make_event(int n, const std::string& type, UnixMillis at, Ids ids,
                 json properties = json::object()) {
  Event e;
  e.event_id = uuid_for(n);
  e.type = type;
  e.schema = "aisle/" + type + "/jsonschema/1-0-0";
  e.occurred_at = at;
  e.received_at = at + 5;
  e.source.store_id = "store-0042";
  e.source.channel = Channel::kKiosk;
  e.identities = std::move(ids);
  e.properties = std::move(properties);
  return e;
}

struct AuditRecord {
  std::string actor;
  std::string action;
  std::string target;
  json details;
};

class ApiFixture {
 public:
  ApiFixture()
      : keys_({}, {ApiKey{"reader", crypto::sha256_hex(kReadKey), "read", ""},
                   ApiKey{"ops", crypto::sha256_hex(kAdminKey), "admin", ""}}) {
    SqliteEventStoreOptions store_options;
    store_options.path = dir_.file("events.db");
    auto store = SqliteEventStore::open(store_options, clock_, metrics_);
    REQUIRE(store.ok());
    store_ = std::move(*store);
    profiles::ProfileServiceOptions options;
    options.path = dir_.file("profiles.db");
    auto service = profiles::ProfileService::open(options, clock_, metrics_);
    REQUIRE(service.ok());
    profiles_ = std::move(*service);
    server_ = std::make_unique<http::HttpServer>(http::ServerOptions{}, metrics_, "collector");
    ProfileApiContext context{*profiles_, *store_, keys_, metrics_};
    context.on_consent_change = [this](const profiles::ConsentChange& c) {
      consent_changes.push_back(c);
    };
    context.audit = [this](const std::string& actor, const std::string& action,
                           const std::string& target, const json& details) {
      audits.push_back({actor, action, target, details});
    };
    context.clock = clock_;
    register_profile_api(*server_, std::move(context));
    REQUIRE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~ApiFixture() { server_->stop(); }

  // Stores the events (as the commit path does) and applies them to the profiles.
  void ingest(const std::vector<Event>& events) {
    CommitRequest request;
    std::vector<const Event*> pointers;
    for (const auto& e : events) {
      StoredEvent s;
      s.event_id = e.event_id;
      s.type = e.type;
      s.schema = e.schema;
      s.store_id = e.source.store_id;
      s.channel = channel_name(e.source.channel);
      s.occurred_at = e.occurred_at;
      s.received_at = e.received_at.value_or(e.occurred_at);
      s.payload = to_json_text(e);
      request.events.push_back(std::move(s));
      pointers.push_back(&e);
    }
    REQUIRE(store_->commit(request).ok());
    REQUIRE(profiles_->apply(pointers).ok());
  }

  test::HttpClient reader() const { return test::HttpClient(base_, kReadKey); }
  test::HttpClient admin() const { return test::HttpClient(base_, kAdminKey); }
  test::HttpClient anonymous() const { return test::HttpClient(base_); }
  profiles::ProfileService& profiles() { return *profiles_; }

  std::vector<profiles::ConsentChange> consent_changes;
  std::vector<AuditRecord> audits;

 private:
  test::TempDir dir_{"aisle-profile-api"};
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kT0 + 1000);
  metrics::Registry metrics_;
  ApiKeys keys_;
  std::unique_ptr<SqliteEventStore> store_;
  std::unique_ptr<profiles::ProfileService> profiles_;
  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
};

TEST_CASE("profile API: read routes answer with the profile, by id and by identifier",
          "[collector][profiles][api]") {
  ApiFixture f;
  f.ingest({make_event(1, "identify", kT0 + 1, {{"user_id", "cust-1"}, {"loyalty_id", "L-1"}},
                       {{"method", "loyalty_scan"}, {"traits", {{"loyalty_tier", "gold"}}}}),
            make_event(2, "purchase", kT0 + 2, {{"loyalty_id", "L-1"}},
                       {{"transaction_type", "sale"}, {"total", 42.5}, {"currency", "EUR"}})});
  const std::string id = *f.profiles().lookup("user_id", "cust-1");

  auto by_id = f.reader().get("/v1/profiles/" + id);
  REQUIRE(by_id.status == 200);
  const json body = by_id.json();
  CHECK(body["profile_id"] == id);
  CHECK(body["identifiers"].size() == 2);
  CHECK(body["traits"]["loyalty_tier"]["value"] == "gold");
  CHECK(body["counters"]["events"] == 2);
  CHECK(body["counters"]["spend"]["EUR"] == 42.5);
  CHECK(body["consent"]["marketing"]["state"] == "unknown");
  CHECK(body["last_events"][0]["event_id"] == uuid_for(2));

  auto by_identity = f.reader().get("/v1/profiles?identity=loyalty_id:L-1");
  REQUIRE(by_identity.status == 200);
  CHECK(by_identity.json()["profile_id"] == id);

  CHECK(f.reader().get("/v1/profiles?identity=loyalty_id:nobody").status == 404);
  auto malformed = f.reader().get("/v1/profiles?identity=nocolon");
  CHECK(malformed.status == 400);
  CHECK(malformed.json()["error"].get<std::string>().find("identity") != std::string::npos);
  CHECK(f.reader().get("/v1/profiles/018bcfe5-6800-8000-8000-000000000000").status == 404);
  CHECK(f.anonymous().get("/v1/profiles/" + id).status == 401);
}

TEST_CASE("profile API: events page through stored payloads", "[collector][profiles][api]") {
  ApiFixture f;
  std::vector<Event> events;
  for (int i = 0; i < 5; ++i) {
    events.push_back(make_event(i, "kiosk_interaction", kT0 + i, {{"anonymous_id", "a"}}));
  }
  f.ingest(events);
  const std::string id = *f.profiles().lookup("anonymous_id", "a");
  auto first = f.reader().get("/v1/profiles/" + id + "/events?limit=3");
  REQUIRE(first.status == 200);
  json page = first.json();
  REQUIRE(page["events"].size() == 3);
  CHECK(page["events"][0]["event_id"] == uuid_for(4));
  CHECK(page["events"][0]["event"]["identities"]["anonymous_id"] == "a");
  const std::string cursor = page["next_cursor"];
  auto second = f.reader().get("/v1/profiles/" + id + "/events?limit=3&cursor=" + cursor);
  REQUIRE(second.status == 200);
  CHECK(second.json()["events"].size() == 2);
  CHECK_FALSE(second.json().contains("next_cursor"));
  CHECK(f.reader().get("/v1/profiles/" + id + "/events?limit=0").status == 400);
  CHECK(f.reader().get("/v1/profiles/" + id + "/events?limit=abc").status == 400);
  CHECK(f.reader().get("/v1/profiles/" + id + "/events?cursor=nope").status == 400);
}

TEST_CASE("profile API: consent by API needs the admin scope, is versioned and audited",
          "[collector][profiles][api]") {
  ApiFixture f;
  f.ingest({make_event(1, "kiosk_interaction", kT0, {{"anonymous_id", "a"}})});
  const std::string id = *f.profiles().lookup("anonymous_id", "a");
  const std::string body = R"({"purposes":{"marketing":"denied"},"source":"api"})";
  CHECK(f.reader().post("/v1/profiles/" + id + "/consent", body).status == 401);
  auto answer = f.admin().post("/v1/profiles/" + id + "/consent", body);
  REQUIRE(answer.status == 200);
  CHECK(answer.json()["marketing"] == "denied");
  CHECK(answer.json()["version"] == 1);
  REQUIRE(f.consent_changes.size() == 1);
  CHECK(f.consent_changes[0].identities == std::vector<std::string>{"anonymous_id:a"});
  REQUIRE(f.audits.size() == 1);
  CHECK(f.audits[0].actor == "ops");
  CHECK(f.audits[0].action == "profile.consent");
  CHECK(f.profiles().consent_of("anonymous_id", "a")->marketing == ConsentState::kDenied);

  auto unknown_purpose =
      f.admin().post("/v1/profiles/" + id + "/consent", R"({"purposes":{"email":"denied"}})");
  CHECK(unknown_purpose.status == 400);
  CHECK(unknown_purpose.json()["error"].get<std::string>().find("purposes.email") !=
        std::string::npos);
  CHECK(f.admin()
            .post("/v1/profiles/" + id + "/consent", R"({"purposes":{"marketing":"maybe"}})")
            .status == 400);
  CHECK(f.admin().post("/v1/profiles/" + id + "/consent", "{").status == 400);
}

TEST_CASE("profile API: unmerge splits identifiers and reports both consent changes",
          "[collector][profiles][api]") {
  ApiFixture f;
  f.ingest({make_event(1, "kiosk_interaction", kT0, {{"anonymous_id", "tablet"}}),
            make_event(2, "identify", kT0 + 1, {{"anonymous_id", "tablet"}, {"user_id", "u"}},
                       {{"method", "login"}})});
  const std::string id = *f.profiles().lookup("user_id", "u");
  const std::string path = "/v1/profiles/" + id + "/unmerge";
  CHECK(f.reader().post(path, R"({"identifiers":["anonymous_id:tablet"]})").status == 401);
  auto bad = f.admin().post(path, R"({"identifiers":["anonymous_id:other"]})");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"].get<std::string>().find("identifiers[0]") != std::string::npos);
  CHECK(f.admin().post(path, R"({"identifiers":"anonymous_id:tablet"})").status == 400);
  auto answer = f.admin().post(path, R"({"identifiers":["anonymous_id:tablet"]})");
  REQUIRE(answer.status == 200);
  const json body = answer.json();
  CHECK(body["profile_id"] == id);
  CHECK(body["events_recomputed"] == 2);
  CHECK(body["events_moved"] == 1);
  CHECK(*f.profiles().lookup("anonymous_id", "tablet") == body["new_profile_id"]);
  CHECK(f.consent_changes.size() == 2);
  REQUIRE_FALSE(f.audits.empty());
  CHECK(f.audits.back().action == "profile.unmerge");
}

TEST_CASE("profile API: export holds the profile and its stored events (admin only)",
          "[collector][profiles][api]") {
  ApiFixture f;
  f.ingest({make_event(1, "identify", kT0, {{"user_id", "u"}}, {{"method", "login"}}),
            make_event(2, "kiosk_interaction", kT0 + 1, {{"user_id", "u"}})});
  const std::string id = *f.profiles().lookup("user_id", "u");
  CHECK(f.reader().get("/v1/profiles/" + id + "/export").status == 401);
  auto answer = f.admin().get("/v1/profiles/" + id + "/export");
  REQUIRE(answer.status == 200);
  const json body = answer.json();
  CHECK(body["profile_id"] == id);
  CHECK(body["identifiers"][0]["value"] == "u");
  REQUIRE(body["events"].size() == 2);
  CHECK(body["events"][1]["event"]["type"] == "identify");
  CHECK_FALSE(body["history"].empty());
  REQUIRE(f.audits.size() == 1);
  CHECK(f.audits[0].action == "profile.export");
}

}  // namespace
}  // namespace aisle::collector
