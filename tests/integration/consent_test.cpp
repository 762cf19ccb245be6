// Consent from edge to core with the real daemons (docs/privacy.md): a shopper withdraws analytics
// consent at a kiosk; the collector records it on the profile, broadcasts it, and from then on the
// agent drops that shopper's events under any of their identifiers, and the collector withholds
// web events of the same person.
#include <catch2/catch.hpp>

#include "common/uuid.hpp"
#include "tests/support/pipeline_env.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

json event(UuidV7Generator& ids, const std::string& type, const std::string& store,
           const std::string& channel, const json& identities, const json& properties) {
  return {{"event_id", ids.next().to_string()},
          {"type", type},
          {"occurred_at", "2026-11-28T10:00:00.000Z"},
          {"source", {{"store_id", store}, {"channel", channel}}},
          {"identities", identities},
          {"properties", properties}};
}

json page_view(UuidV7Generator& ids, const json& identities) {
  return event(ids, "page_view", "web-nl", "web", identities,
               {{"url", "https://shop.example/espresso"}, {"title", "Espresso"}});
}

json product_view(UuidV7Generator& ids, const json& identities) {
  return event(ids, "product_view", "store-1", "kiosk", identities,
               {{"sku", "SKU-1"}, {"name", "Espresso machine"}, {"category", "espresso"},
                {"price", 399.0}, {"currency", "EUR"}});
}

}  // namespace

TEST_CASE("a withdrawal at a kiosk stops the shopper's events at the edge and at the core",
          "[integration][privacy][consent]") {
  PipelineEnv env({.edit_agent = fast_agent_timers()});
  UuidV7Generator ids;
  const HttpClient agent = env.agent(1);

  // The shopper logs in at the kiosk (linking the kiosk's anonymous id to the account).
  HttpResponse r = agent.post(
      "/v1/events",
      json::array({event(ids, "identify", "store-1", "kiosk",
                         {{"user_id", "cust-c1"}, {"anonymous_id", "anon-c1"}},
                         {{"method", "login"}}),
                   product_view(ids, {{"anonymous_id", "anon-c1"}})})
          .dump());
  REQUIRE(r.status == 202);
  REQUIRE(wait_for_drain(env, 2, 0, seconds(30)));
  const HttpClient admin = env.collector_admin();
  REQUIRE(wait_until(
      [&] { return admin.get("/v1/profiles?identity=user_id:cust-c1").status == 200; },
      seconds(10)));

  // The withdrawal, under the anonymous id only.
  r = agent.post("/v1/events",
                 event(ids, "consent", "store-1", "kiosk", {{"anonymous_id", "anon-c1"}},
                       {{"purposes", {{"analytics", "denied"}}},
                        {"source", "kiosk"},
                        {"policy_version", "2026-09"}})
                     .dump());
  REQUIRE(r.status == 202);
  REQUIRE(r.json()["accepted"] == 1);

  // The profile holds it, with a consent version, and the agent's cache reaches that version.
  json profile;
  REQUIRE(wait_until(
      [&] {
        profile = admin.get("/v1/profiles?identity=user_id:cust-c1").json();
        return profile.dump().find("denied") != std::string::npos;
      },
      seconds(20)));
  INFO(profile.dump());
  REQUIRE(wait_until(
      [&] {
        const json status = agent.get("/v1/status").json();
        return status.value("consent", json::object()).value("version", 0) >= 1 &&
               status["consent"].value("entries", 0) >= 2;
      },
      seconds(20)));

  // At the edge: the shopper's next events are dropped under either identifier; others pass.
  r = agent.post("/v1/events", json::array({product_view(ids, {{"user_id", "cust-c1"}}),
                                            product_view(ids, {{"anonymous_id", "anon-c1"}}),
                                            product_view(ids, {{"user_id", "cust-other"}})})
                                   .dump());
  INFO(r.describe());
  REQUIRE(r.status == 202);
  CHECK(r.json()["accepted"] == 1);
  CHECK(r.json().value("dropped_no_consent", 0) == 2);

  // At the core: a web event of the same person (another channel, no agent involved) is
  // withheld too, and a web event of someone else is stored.
  const HttpClient web = env.collector_writer();
  r = web.post("/v1/events", json::array({page_view(ids, {{"user_id", "cust-c1"}}),
                                          page_view(ids, {{"user_id", "cust-web-2"}})})
                                 .dump());
  INFO(r.describe());
  REQUIRE(r.status == 202);
  CHECK(r.json()["accepted"] == 1);
  CHECK(r.json().value("dropped_no_consent", 0) == 1);

  // Stored: identify, product_view, consent, the other shopper's view, the other web event.
  REQUIRE(wait_for_drain(env, 5, 0, seconds(30)));
  const json status = env.collector().get("/v1/status").json();
  CHECK(status.value("events_stored", 0) == 5);
}

}  // namespace aisle::test
