// Right to erasure end to end (docs/privacy.md): a real broker, collector and agent. The person's
// events disappear from the collector and from the agent's outbox, events that arrive late are
// discarded, the agent's signed receipt completes the erasure, and the audit chain verifies (and
// fails once tampered with).
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/uuid.hpp"
#include "tests/support/pipeline_env.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Every payload of `table` (collector `events`, agent outbox `records`) that mentions `needle`.
std::size_t rows_mentioning(const std::string& db_path, const std::string& table,
                            const std::string& needle) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    FAIL("cannot open " << db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  const std::string sql = "SELECT count(*) FROM " + table + " WHERE instr(CAST(payload AS TEXT), ?1) > 0";
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, needle.c_str(), -1, SQLITE_TRANSIENT);
  std::size_t count = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) count = static_cast<std::size_t>(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

json event(UuidV7Generator& ids, const std::string& type, const json& identities,
           const json& properties) {
  return {{"event_id", ids.next().to_string()},
          {"type", type},
          {"occurred_at", "2026-11-28T10:00:00.000Z"},
          {"source", {{"store_id", "store-1"}, {"channel", "kiosk"}, {"device_id", "kiosk-1"}}},
          {"identities", identities},
          {"properties", properties}};
}

json product_view(UuidV7Generator& ids, const json& identities) {
  return event(ids, "product_view", identities,
               {{"sku", "SKU-1"}, {"name", "Espresso machine"}, {"category", "espresso"},
                {"price", 399.0}, {"currency", "EUR"}});
}

void post_all(const PipelineEnv& env, const json& events) {
  const HttpResponse r = env.agent(1).post("/v1/events", events.dump());
  INFO(r.describe());
  REQUIRE(r.status == 202);
  REQUIRE(r.json()["accepted"] == events.size());
}

std::uint64_t collector_metric(const PipelineEnv& env, const std::string& series) {
  return static_cast<std::uint64_t>(
      metric_value(env.collector().get("/metrics").body, series).value_or(0));
}

}  // namespace

TEST_CASE("an erased person disappears from the collector and the agent, late events included",
          "[integration][privacy][erasure]") {
  PipelineEnv env({.edit_collector = [](json& c) { c["privacy"]["erasure_rebroadcast"] = "1s"; },
                   .edit_agent = fast_agent_timers()});
  UuidV7Generator ids;
  const json person = {{"user_id", "cust-erase-1"}, {"anonymous_id", "anon-erase-1"}};
  const json other = {{"user_id", "cust-keep-1"}};

  // The person logs in and browses; someone else browses too. All reach the collector.
  json first = json::array();
  first.push_back(event(ids, "identify", person, {{"method", "login"}}));
  for (int i = 0; i < 4; ++i) first.push_back(product_view(ids, {{"anonymous_id", "anon-erase-1"}}));
  for (int i = 0; i < 3; ++i) first.push_back(product_view(ids, other));
  post_all(env, first);
  REQUIRE(wait_for_drain(env, 8, 0, seconds(30)));

  const HttpClient admin = env.collector_admin();
  HttpResponse profile;
  REQUIRE(wait_until(
      [&] {
        profile = admin.get("/v1/profiles?identity=user_id:cust-erase-1");
        return profile.status == 200;
      },
      seconds(10)));
  const std::string profile_id = profile.json().value("profile_id", "");
  REQUIRE_FALSE(profile_id.empty());
  CHECK(rows_mentioning(env.collector_db(), "events", "anon-erase-1") == 5);

  // The broker goes down; the person keeps browsing at the store: those events wait in the
  // agent's outbox while the erasure is requested at the collector.
  REQUIRE(env.stop("mosquitto"));
  json pending = json::array();
  for (int i = 0; i < 3; ++i) pending.push_back(product_view(ids, {{"anonymous_id", "anon-erase-1"}}));
  pending.push_back(product_view(ids, other));
  post_all(env, pending);
  CHECK(rows_mentioning(env.agent_db(1), "records", "anon-erase-1") >= 3);

  const HttpResponse erased = admin.request("DELETE", "/v1/profiles/" + profile_id, "",
                                            "application/json", {});
  INFO(erased.describe());
  REQUIRE(erased.status == 202);
  const std::string erasure_id = erased.json().value("erasure_id", "");
  CHECK(erased.json()["events_deleted"] == 5);
  CHECK(erased.json()["state"] == "awaiting_agents");
  CHECK(rows_mentioning(env.collector_db(), "events", "anon-erase-1") == 0);
  CHECK(admin.get("/v1/profiles/" + profile_id).status == 404);

  // The broker returns: the agent forwards its backlog and gets the re-broadcast erasure. Either
  // it purges the person's pending events first, or the collector discards them as late
  // arrivals: never are they stored again.
  REQUIRE(env.up());
  json state;
  REQUIRE(wait_until(
      [&] {
        state = admin.get("/v1/erasures/" + erasure_id).json();
        return state.value("state", "") == "complete";
      },
      seconds(40)));
  INFO(state.dump());
  REQUIRE(state["agents"].size() == 1);
  CHECK(state["agents"][0]["agent_id"] == "agent-1");
  const std::uint64_t purged = state["agents"][0].value("events_purged", 0);
  REQUIRE(wait_for_drain(env, 4, 0, seconds(30)));  // the other shopper's 4 events
  const std::uint64_t discarded =
      collector_metric(env, "aisle_collector_privacy_events_total{action=\"discarded_erased\"}");
  // Both can happen to the same event: a batch already published but not yet acknowledged is
  // purged from the outbox and also discarded at the collector when it arrives.
  CHECK(purged <= 3);
  CHECK(discarded <= 3);
  CHECK(purged + discarded >= 3);
  CHECK(rows_mentioning(env.collector_db(), "events", "anon-erase-1") == 0);
  CHECK(rows_mentioning(env.collector_db(), "events", "cust-erase-1") == 0);
  CHECK(rows_mentioning(env.collector_db(), "events", "cust-keep-1") == 4);
  CHECK(rows_mentioning(env.agent_db(1), "records", "anon-erase-1") == 0);

  // Events for the erased identifiers that arrive later still are not resurrected.
  post_all(env, json::array({product_view(ids, {{"anonymous_id", "anon-erase-1"}})}));
  REQUIRE(wait_until(
      [&] {
        return collector_metric(
                   env, "aisle_collector_privacy_events_total{action=\"discarded_erased\"}") ==
               discarded + 1;
      },
      seconds(20)));
  CHECK(rows_mentioning(env.collector_db(), "events", "anon-erase-1") == 0);
  CHECK(admin.get("/v1/profiles?identity=anonymous_id:anon-erase-1").status == 404);

  // The audit trail holds the erasure, verifies, and a changed byte breaks it.
  const std::string audit = env.dir() + "/data/audit.log";
  const std::string ctl = std::string(AISLE_BINARY_DIR) + "/aislectl";
  const CommandResult ok = run_command({ctl, "audit", "verify", audit});
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  std::string text = read_file(audit);
  CHECK(text.find("erasure_requested") != std::string::npos);
  CHECK(text.find("erasure_completed") != std::string::npos);
  const auto pos = text.find("erasure_requested");
  text.replace(pos, 7, "ERASURE");
  const std::string copy = env.dir() + "/audit-tampered.log";
  write_file(copy, text);
  const CommandResult tampered = run_command({ctl, "audit", "verify", copy});
  INFO(tampered.output);
  CHECK(tampered.exit_code == 1);
}

}  // namespace aisle::test
