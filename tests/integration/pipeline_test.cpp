// The whole pipeline as deployed: real Mosquitto (TLS, client certificates, ACL), a collector
// process and agent processes (PipelineEnv). What the producers were told (202 answers) is
// checked against what the collector's database really holds.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "common/uuid.hpp"
#include "tests/support/collector_db.hpp"
#include "tests/support/event_factory.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::size_t count_in_file(const std::string& path, const std::string& needle) {
  const std::string text = read_file(path);
  std::size_t count = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

std::string aislectl() {
  return std::string(AISLE_BINARY_DIR) + "/aislectl";
}

std::uint64_t agent_counter(const PipelineEnv& env, int agent, const std::string& series) {
  const HttpResponse metrics = env.agent(agent).get("/metrics");
  return static_cast<std::uint64_t>(metric_value(metrics.body, series).value_or(0));
}

std::uint64_t collector_counter(const PipelineEnv& env, const std::string& series) {
  const HttpResponse metrics = env.collector().get("/metrics");
  return static_cast<std::uint64_t>(metric_value(metrics.body, series).value_or(0));
}

// Gives the collector an (empty) extra schema directory, where a test adds a schema before a
// SIGHUP, starts everything and returns the directory.
std::string up_with_extra_schema_dir(PipelineEnv& env) {
  const std::string extra = env.dir() + "/schemas-extra";
  std::filesystem::create_directories(extra);
  REQUIRE(edit_json_file(env.config_path("collector"),
                         [&](json& c) { c["schemas"]["extra_dirs"] = json::array({extra}); }));
  REQUIRE(env.up());
  return extra;
}

}  // namespace

TEST_CASE("one hundred thousand events posted to one agent reach the collector exactly once",
          "[integration][pipeline]") {
  constexpr std::size_t kEvents = 100000;
  PipelineEnv env;
  const EventFactory factory;
  UuidV7Generator ids;

  Producer producer(factory, ids,
                    {.url = env.env().agents[0].http,
                     .store_id = "store-1",
                     .threads = 4,
                     .events_per_request = 1000,
                     .total_events = kEvents});
  producer.start();
  const ProducerResult sent = producer.wait();
  INFO(sent.summary());
  REQUIRE(sent.errors.empty());
  REQUIRE(sent.unknown_ids.empty());
  REQUIRE(sent.accepted_ids.size() == kEvents);
  REQUIRE(sent.accepted_count == kEvents);

  std::string state;
  const bool drained = wait_for_drain(env, kEvents, 0, seconds(180), &state);
  INFO("drain: " << state);
  REQUIRE(drained);

  auto db = read_collector_db(env.collector_db());
  REQUIRE(db);
  const ExactlyOnceReport report = check_exactly_once(sent.accepted_ids, {}, event_ids(db->events));
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(db->events.size() == kEvents);
  CHECK(db->events_counter == static_cast<std::int64_t>(kEvents));
  CHECK(db->quarantine.empty());
  const auto foreign = std::count_if(db->events.begin(), db->events.end(), [](const auto& row) {
    return row.store_id != "store-1" || row.agent_id != "agent-1";
  });
  CHECK(foreign == 0);

  // The agent deleted exactly what the collector acknowledged, and nothing went astray.
  const json status = env.agent(1).get("/v1/status").json();
  INFO("agent status: " << status.dump());
  CHECK(status["forwarder"].value("events_acked", std::uint64_t{0}) == kEvents);
  CHECK(agent_counter(env, 1, "aisle_agent_events_forwarded_total") == kEvents);
  CHECK(collector_counter(env, "aisle_collector_events_stored_total") == kEvents);
  CHECK(collector_counter(env, "aisle_collector_duplicates_total") == 0);
  CHECK(collector_counter(env, "aisle_collector_sequence_gaps_total") == 0);

  // A producer that did not see its answers retries whole requests: the same ids again, now
  // that they have left the agent (the collector dedups), and mixed with new ones.
  std::vector<std::string> resent(sent.accepted_ids.begin(), sent.accepted_ids.begin() + 1000);
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < resent.size(); ++i)
    lines.push_back(factory.make("store-1", resent[i], i));
  const HttpResponse again = env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(again.describe());
  REQUIRE(again.status == 202);
  const json again_body = again.json();
  const auto again_accepted = again_body.value("accepted", std::uint64_t{0});
  CHECK(again_accepted + again_body.value("duplicates", std::uint64_t{0}) == resent.size());
  CHECK(again_body["rejected"].empty());

  std::vector<std::string> fresh;
  lines.clear();
  for (std::size_t i = 0; i < 500; ++i) {
    fresh.push_back(ids.next().to_string());
    lines.push_back(factory.make("store-1", resent[i], i));
    lines.push_back(factory.make("store-1", fresh.back(), i));
  }
  const HttpResponse mixed = env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(mixed.describe());
  REQUIRE(mixed.status == 202);
  const json mixed_body = mixed.json();
  CHECK(mixed_body.value("accepted", std::uint64_t{0}) >= fresh.size());
  CHECK(mixed_body.value("accepted", std::uint64_t{0}) +
            mixed_body.value("duplicates", std::uint64_t{0}) ==
        lines.size());
  const auto mixed_accepted_again = mixed_body.value("accepted", std::uint64_t{0}) - fresh.size();

  // The same event twice in one request is stored once.
  const std::string twice = ids.next().to_string();
  fresh.push_back(twice);
  fresh.push_back(ids.next().to_string());
  const HttpResponse doubled = env.agent(1).post(
      "/v1/events",
      ndjson({factory.make("store-1", twice, 0), factory.make("store-1", fresh.back(), 1),
              factory.make("store-1", twice, 0)}),
      "application/x-ndjson");
  INFO(doubled.describe());
  REQUIRE(doubled.status == 202);
  CHECK(doubled.json()["accepted"] == 2);
  CHECK(doubled.json()["duplicates"] == 1);

  const bool drained_again = wait_for_drain(env, kEvents + fresh.size(), 0, seconds(60), &state);
  INFO("drain: " << state);
  REQUIRE(drained_again);
  // Every id the agent took a second time reached the collector and was recognised there.
  const std::uint64_t expected_duplicates = again_accepted + mixed_accepted_again;
  CHECK(wait_until(
      [&] {
        return collector_counter(env, "aisle_collector_duplicates_total") == expected_duplicates;
      },
      seconds(10)));
  db = read_collector_db(env.collector_db());
  REQUIRE(db);
  std::vector<std::string> all_accepted = sent.accepted_ids;
  all_accepted.insert(all_accepted.end(), fresh.begin(), fresh.end());
  const ExactlyOnceReport after_retry = check_exactly_once(all_accepted, {}, event_ids(db->events));
  INFO(after_retry.describe());
  CHECK(after_retry.ok());
  CHECK(db->events.size() == kEvents + fresh.size());
  CHECK(db->events_counter == static_cast<std::int64_t>(kEvents + fresh.size()));
}

TEST_CASE("events of two stores go through their own agents and invalid ones are quarantined",
          "[integration][pipeline]") {
  PipelineEnv env({.stores = 2});
  const EventFactory factory;
  UuidV7Generator ids;

  // Agent 1: NDJSON with three kinds of invalid events between valid ones.
  std::vector<std::string> store1_ids;
  std::vector<std::string> lines;
  auto valid1 = [&](std::size_t variant) {
    store1_ids.push_back(ids.next().to_string());
    lines.push_back(factory.make("store-1", store1_ids.back(), variant));
  };
  valid1(0);
  json bad_schema = factory.example("shelf_pickup", "store-1", ids.next().to_string());
  bad_schema["properties"] = {{"unexpected", true}};
  lines.push_back(bad_schema.dump());  // index 1, line 2
  valid1(1);
  json unknown_field = factory.example("dwell", "store-1", ids.next().to_string());
  unknown_field["bogus"] = 1;
  lines.push_back(unknown_field.dump());  // index 3, line 4
  json wrong_store = factory.example("footfall", "store-2", ids.next().to_string());
  lines.push_back(wrong_store.dump());  // index 4, line 5
  valid1(2);
  const std::vector<std::string> invalid1 = {lines[1], lines[3], lines[4]};

  const HttpResponse answer1 =
      env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(answer1.describe(4000));
  REQUIRE(answer1.status == 202);
  const json body1 = answer1.json();
  CHECK(body1["accepted"] == 3);
  CHECK(body1["duplicates"] == 0);
  REQUIRE(body1["rejected"].size() == 3);
  std::map<int, json> rejected;
  for (const auto& r : body1["rejected"]) rejected[r["index"].get<int>()] = r;
  REQUIRE(rejected.count(1));
  REQUIRE(rejected.count(3));
  REQUIRE(rejected.count(4));
  CHECK(rejected[1]["line"] == 2);
  CHECK(rejected[3]["line"] == 4);
  CHECK(rejected[4]["line"] == 5);
  auto has_error = [](const json& r, const std::string& path, const std::string& keyword) {
    for (const auto& e : r["errors"]) {
      if (e.value("path", "") == path && e.value("keyword", "") == keyword &&
          !e.value("message", "").empty()) {
        return true;
      }
    }
    return false;
  };
  CHECK(has_error(rejected[1], "/properties/unexpected", "additionalProperties"));
  CHECK(has_error(rejected[3], "/bogus", "additionalProperties"));
  CHECK(has_error(rejected[4], "/source/store_id", "const"));

  // Agent 2: NDJSON with one invalid event, a JSON array, and a single event.
  std::vector<std::string> store2_ids;
  lines.clear();
  for (std::size_t i = 0; i < 3; ++i) {
    store2_ids.push_back(ids.next().to_string());
    lines.push_back(factory.make("store-2", store2_ids.back(), i));
  }
  json bad2 = factory.example("purchase", "store-2", ids.next().to_string());
  bad2["properties"].erase("order_id");
  lines.push_back(bad2.dump());
  const HttpResponse answer2 =
      env.agent(2).post("/v1/events", ndjson(lines), "application/x-ndjson");
  INFO(answer2.describe(4000));
  REQUIRE(answer2.status == 202);
  CHECK(answer2.json()["accepted"] == 3);
  CHECK(answer2.json()["rejected"].size() == 1);
  json array = json::array();
  for (std::size_t i = 0; i < 2; ++i) {
    store2_ids.push_back(ids.next().to_string());
    array.push_back(json::parse(factory.make("store-2", store2_ids.back(), i + 3)));
  }
  const HttpResponse answer3 = env.agent(2).post("/v1/events", array.dump());
  INFO(answer3.describe());
  REQUIRE(answer3.status == 202);
  CHECK(answer3.json()["accepted"] == 2);
  store2_ids.push_back(ids.next().to_string());
  const HttpResponse answer4 =
      env.agent(2).post("/v1/events", factory.make("store-2", store2_ids.back(), 5));
  INFO(answer4.describe());
  REQUIRE(answer4.status == 202);
  CHECK(answer4.json()["accepted"] == 1);

  std::string state;
  const bool drained = wait_for_drain(env, 9, 4, seconds(30), &state);
  INFO("drain: " << state);
  REQUIRE(drained);

  auto db = read_collector_db(env.collector_db());
  REQUIRE(db);
  std::vector<std::string> all_ids = store1_ids;
  all_ids.insert(all_ids.end(), store2_ids.begin(), store2_ids.end());
  const ExactlyOnceReport report = check_exactly_once(all_ids, {}, event_ids(db->events));
  INFO(report.describe());
  CHECK(report.ok());
  std::map<std::string, StoredEventRow> by_id;
  for (const auto& row : db->events) by_id[row.event_id] = row;
  for (const auto& id : store1_ids) {
    CHECK(by_id[id].store_id == "store-1");
    CHECK(by_id[id].agent_id == "agent-1");
  }
  for (const auto& id : store2_ids) {
    CHECK(by_id[id].store_id == "store-2");
    CHECK(by_id[id].agent_id == "agent-2");
  }

  // The quarantine, through the admin API: reason, errors and the raw line as posted.
  CHECK(env.collector().get("/v1/quarantine").status == 401);
  const HttpResponse listed = env.collector_admin().get("/v1/quarantine?store=store-1");
  INFO(listed.describe(4000));
  REQUIRE(listed.status == 200);
  const json entries = listed.json()["entries"];
  REQUIRE(entries.size() == 3);
  std::multiset<std::string> raws;
  std::multiset<std::string> reasons;
  for (const auto& entry : entries) {
    CHECK(entry["store_id"] == "store-1");
    CHECK(entry["agent_id"] == "agent-1");
    CHECK(entry["origin"] == "agent:http");
    CHECK_FALSE(entry["errors"].empty());
    reasons.insert(entry["reason"].get<std::string>());
    const HttpResponse one =
        env.collector_admin().get("/v1/quarantine/" + std::to_string(entry["id"].get<int>()));
    REQUIRE(one.status == 200);
    raws.insert(one.json()["raw"].get<std::string>());
  }
  CHECK(raws == std::multiset<std::string>(invalid1.begin(), invalid1.end()));
  CHECK(reasons.count("schema") == 1);
  CHECK(reasons.count("") == 0);
  const HttpResponse listed2 = env.collector_admin().get("/v1/quarantine?store=store-2");
  REQUIRE(listed2.status == 200);
  REQUIRE(listed2.json()["entries"].size() == 1);
  CHECK(listed2.json()["entries"][0]["reason"] == "schema");
  CHECK(listed2.json()["entries"][0]["agent_id"] == "agent-2");

  // The event and agent views of the admin API agree with the database.
  const HttpResponse events2 = env.collector_admin().get("/v1/events?store=store-2&limit=1000");
  REQUIRE(events2.status == 200);
  const json events2_body = events2.json();
  CHECK(events2_body["events"].size() == store2_ids.size());
  for (const auto& e : events2_body["events"]) CHECK(e["agent_id"] == "agent-2");
  const HttpResponse agents = env.collector_admin().get("/v1/agents");
  INFO(agents.describe(2000));
  REQUIRE(agents.status == 200);
  std::set<std::string> seen;
  const json agents_body = agents.json();
  for (const auto& a : agents_body["agents"]) {
    seen.insert(a["store_id"].get<std::string>() + "/" + a["agent_id"].get<std::string>());
    CHECK(a["gaps"] == 0);
  }
  CHECK(seen == std::set<std::string>{"store-1/agent-1", "store-2/agent-2"});
  // Records forwarded = valid events + quarantine records.
  CHECK(env.agent(1).get("/v1/status").json()["forwarder"]["events_acked"] == 6);
}

TEST_CASE(
    "the collector's HTTP ingest checks the write key and the body and stores each event once",
    "[integration][pipeline][http]") {
  PipelineEnv env({.edit_collector = [](json& c) { c["http"]["max_events_per_request"] = 5; }});
  const EventFactory factory;
  UuidV7Generator ids;
  const HttpClient anonymous = env.collector();
  const HttpClient writer = env.collector_writer();

  auto web_event = [&](const std::string& id) {
    return factory.example("page_view", "web-nl", id).dump();
  };
  const std::string id1 = ids.next().to_string();
  const std::string id2 = ids.next().to_string();
  const std::string body = ndjson({web_event(id1), web_event(id2)});

  const HttpResponse no_key = anonymous.post("/v1/events", body, "application/x-ndjson");
  CHECK(no_key.status == 401);
  CHECK(no_key.header("www-authenticate") == "Bearer");
  const HttpResponse wrong_key =
      anonymous.request("POST", "/v1/events", body, "application/x-ndjson",
                        {{"Authorization", "Bearer " + std::string(64, '0')}});
  CHECK(wrong_key.status == 401);
  const HttpResponse admin_key =
      env.collector_admin().post("/v1/events", body, "application/x-ndjson");
  CHECK(admin_key.status == 401);

  const HttpResponse accepted = writer.post("/v1/events", body, "application/x-ndjson");
  INFO(accepted.describe());
  REQUIRE(accepted.status == 202);
  CHECK(accepted.json()["accepted"] == 2);
  const HttpResponse repeated = writer.post("/v1/events", body, "application/x-ndjson");
  INFO(repeated.describe());
  REQUIRE(repeated.status == 202);
  CHECK(repeated.json()["accepted"] == 0);
  CHECK(repeated.json()["duplicates"] == 2);

  // The same event twice in one request is stored once.
  const std::string twice = ids.next().to_string();
  const HttpResponse doubled = writer.post(
      "/v1/events", ndjson({web_event(twice), web_event(twice)}), "application/x-ndjson");
  INFO(doubled.describe());
  REQUIRE(doubled.status == 202);
  CHECK(doubled.json()["accepted"] == 1);
  CHECK(doubled.json()["duplicates"] == 1);

  // Only agents stamp agent_id: such an event is rejected and quarantined.
  json stamped = factory.example("page_view", "web-nl", ids.next().to_string());
  stamped["source"]["agent_id"] = "agent-1";
  const HttpResponse refused = writer.post("/v1/events", stamped.dump());
  INFO(refused.describe());
  REQUIRE(refused.status == 202);
  CHECK(refused.json()["accepted"] == 0);
  REQUIRE(refused.json()["rejected"].size() == 1);
  CHECK(refused.json()["rejected"][0]["errors"][0]["path"] == "/source/agent_id");

  const HttpResponse malformed = writer.post("/v1/events", "{\"type\": ", "application/json");
  CHECK(malformed.status == 400);
  CHECK(malformed.json().value("error", "").find("malformed body") != std::string::npos);
  CHECK(writer.post("/v1/events", "", "application/x-ndjson").status == 400);

  std::vector<std::string> too_many_ids;
  std::vector<std::string> too_many;
  for (int i = 0; i < 6; ++i) {
    too_many_ids.push_back(ids.next().to_string());
    too_many.push_back(web_event(too_many_ids.back()));
  }
  const HttpResponse over = writer.post("/v1/events", ndjson(too_many), "application/x-ndjson");
  INFO(over.describe());
  CHECK(over.status == 413);
  CHECK(over.json().value("error", "").find("max_events_per_request") != std::string::npos);
  too_many.pop_back();
  too_many_ids.pop_back();
  const HttpResponse at_limit = writer.post("/v1/events", ndjson(too_many), "application/x-ndjson");
  CHECK(at_limit.status == 202);
  CHECK(at_limit.json()["accepted"] == 5);

  auto db = read_collector_db(env.collector_db());
  REQUIRE(db);
  std::vector<std::string> expected = {id1, id2, twice};
  expected.insert(expected.end(), too_many_ids.begin(), too_many_ids.end());
  const ExactlyOnceReport report = check_exactly_once(expected, {}, event_ids(db->events));
  INFO(report.describe());
  CHECK(report.ok());
  for (const auto& row : db->events) {
    CHECK(row.store_id == "web-nl");
    CHECK(row.agent_id.empty());
    CHECK(row.channel == "web");
  }
  REQUIRE(db->quarantine.size() == 1);
  CHECK(db->quarantine[0].origin == "http");
  CHECK(db->quarantine[0].raw == stamped.dump());
  CHECK(collector_counter(env, "aisle_collector_events_stored_total") == 8);
  CHECK(collector_counter(env, "aisle_collector_duplicates_total") == 3);
}

TEST_CASE("aislectl quarantine lists and shows entries and replays them after a schema reload",
          "[integration][pipeline][quarantine]") {
  PipelineEnv env({.start = false});
  const std::string extra = up_with_extra_schema_dir(env);
  UuidV7Generator ids;
  const std::string collector_log = env.log_path("collector");

  // An event of a custom type whose schema the collector does not know yet.
  auto gift_card = [&](const std::string& id, const std::string& version) {
    json e = {{"type", "gift_card"},
              {"schema", "acme/gift_card/jsonschema/" + version},
              {"occurred_at", "2026-11-28T10:00:00.000Z"},
              {"source", {{"store_id", "web-nl"}, {"channel", "web"}}},
              {"properties", {{"card_id", "gc-" + id.substr(0, 8)}, {"amount", 25}}}};
    if (!id.empty()) e["event_id"] = id;
    return e.dump();
  };
  const std::string id1 = ids.next().to_string();
  const std::string raw1 = gift_card(id1, "1-0-0");
  const HttpResponse first = env.collector_writer().post("/v1/events", raw1);
  INFO(first.describe());
  REQUIRE(first.status == 202);
  REQUIRE(first.json()["rejected"].size() == 1);

  const HttpResponse listed = env.collector_admin().get("/v1/quarantine");
  REQUIRE(listed.status == 200);
  REQUIRE(listed.json()["entries"].size() == 1);
  const json entry = listed.json()["entries"][0];
  const std::string qid = std::to_string(entry["id"].get<int>());
  const std::string reason = entry["reason"];

  // ls: a table with the entry; --json: the API's answer.
  CommandResult ls = run_command({aislectl(), "quarantine", "ls", "--env", env.dir()});
  INFO(ls.output);
  CHECK(ls.exit_code == 0);
  CHECK(ls.output.find("REASON") != std::string::npos);
  CHECK(ls.output.find(reason) != std::string::npos);
  CHECK(ls.output.find("web-nl") != std::string::npos);
  CommandResult ls_json =
      run_command({aislectl(), "quarantine", "ls", "--json", "--env", env.dir()});
  CHECK(ls_json.exit_code == 0);
  const auto ls_parsed =
      json::parse(ls_json.output.substr(ls_json.output.find('{')), nullptr, false);
  REQUIRE_FALSE(ls_parsed.is_discarded());
  CHECK(std::to_string(ls_parsed["entries"][0]["id"].get<int>()) == qid);

  // show: the raw payload as posted; an unknown id is the collector's 404 (exit 1).
  CommandResult show = run_command({aislectl(), "quarantine", "show", qid, "--env", env.dir()});
  INFO(show.output);
  CHECK(show.exit_code == 0);
  const auto shown = json::parse(show.output.substr(show.output.find('{')), nullptr, false);
  REQUIRE_FALSE(shown.is_discarded());
  CHECK(shown["raw"] == raw1);
  CHECK(run_command({aislectl(), "quarantine", "show", "999999", "--env", env.dir()}).exit_code ==
        1);
  CHECK(run_command({aislectl(), "quarantine", "bogus", "--env", env.dir()}).exit_code == 2);

  // replay while the schema is still unknown: still invalid, exit 1, nothing stored.
  CommandResult replay = run_command({aislectl(), "quarantine", "replay", qid, "--env", env.dir()});
  INFO(replay.output);
  CHECK(replay.exit_code == 1);
  CHECK(replay.output.find("still_invalid") != std::string::npos);
  auto db = read_collector_db(env.collector_db());
  REQUIRE(db);
  CHECK(db->events.empty());

  // Ship the schema and reload (SIGHUP): the replay stores the event, exit 0.
  write_file(extra + "/acme/gift_card/jsonschema/1-0-0.json", R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": false,
    "required": ["card_id", "amount"],
    "properties": {"card_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}}
  })");
  REQUIRE(env.signal("collector", SIGHUP));
  REQUIRE(wait_until([&] { return count_in_file(collector_log, "schemas reloaded") == 1; },
                     seconds(10)));
  replay = run_command({aislectl(), "quarantine", "replay", qid, "--env", env.dir()});
  INFO(replay.output);
  CHECK(replay.exit_code == 0);
  const auto replayed = json::parse(replay.output.substr(replay.output.find('{')), nullptr, false);
  REQUIRE_FALSE(replayed.is_discarded());
  CHECK(replayed["accepted"] == 1);
  CHECK(replayed["still_invalid"].empty());
  db = read_collector_db(env.collector_db());
  REQUIRE(db);
  CHECK(check_exactly_once({id1}, {}, event_ids(db->events)).ok());
  REQUIRE(db->quarantine.size() == 1);
  CHECK(db->quarantine[0].replayed_at > 0);
  // A replayed entry leaves the default listing, --all still shows it.
  ls = run_command({aislectl(), "quarantine", "ls", "--json", "--env", env.dir()});
  CHECK(json::parse(ls.output.substr(ls.output.find('{')))["entries"].empty());
  ls = run_command({aislectl(), "quarantine", "ls", "--all", "--json", "--env", env.dir()});
  CHECK(json::parse(ls.output.substr(ls.output.find('{')))["entries"].size() == 1);
  // Replaying it again changes nothing.
  replay = run_command({aislectl(), "quarantine", "replay", qid, "--env", env.dir()});
  CHECK(replay.exit_code == 0);
  db = read_collector_db(env.collector_db());
  REQUIRE(db);
  CHECK(check_exactly_once({id1}, {}, event_ids(db->events)).ok());

  // A broken schema file: the reload fails, names the file, and the previous set stays active.
  const std::string broken = extra + "/acme/gift_card/jsonschema/1-0-1.json";
  write_file(broken, R"({"type": "object", "properties": {"card_id": {"maxLenght": 3}}})");
  REQUIRE(env.signal("collector", SIGHUP));
  REQUIRE(wait_until([&] { return count_in_file(collector_log, "schema reload failed") == 1; },
                     seconds(10)));
  CHECK(count_in_file(collector_log, "1-0-1.json") >= 1);
  const std::string id2 = ids.next().to_string();
  const HttpResponse still_known =
      env.collector_writer().post("/v1/events", gift_card(id2, "1-0-0"));
  INFO(still_known.describe());
  CHECK(still_known.status == 202);
  CHECK(still_known.json()["accepted"] == 1);
  const HttpResponse not_loaded =
      env.collector_writer().post("/v1/events", gift_card(ids.next().to_string(), "1-0-1"));
  CHECK(not_loaded.json()["rejected"].size() == 1);
  CHECK(env.running("collector"));
}

TEST_CASE("replaying a quarantined event without an event_id twice stores it once",
          "[integration][pipeline][quarantine]") {
  PipelineEnv env({.start = false});
  const std::string extra = up_with_extra_schema_dir(env);

  // The producer left event_id out (the edge fills it in) and used a type not yet registered.
  const std::string raw = json{
      {"type", "gift_card"},
      {"schema", "acme/gift_card/jsonschema/1-0-0"},
      {"occurred_at", "2026-11-28T10:00:00.000Z"},
      {"source", {{"store_id", "web-nl"}, {"channel", "web"}}},
      {"properties",
       {{"card_id", "gc-1"}}}}.dump();
  const HttpResponse posted = env.collector_writer().post("/v1/events", raw);
  REQUIRE(posted.status == 202);
  REQUIRE(posted.json()["rejected"].size() == 1);
  write_file(extra + "/acme/gift_card/jsonschema/1-0-0.json",
             R"({"type": "object", "properties": {"card_id": {"type": "string"}}})");
  REQUIRE(env.signal("collector", SIGHUP));
  REQUIRE(
      wait_until([&] { return count_in_file(env.log_path("collector"), "schemas reloaded") == 1; },
                 seconds(10)));

  const HttpResponse listed = env.collector_admin().get("/v1/quarantine");
  REQUIRE(listed.json()["entries"].size() == 1);
  const json ids = json{{"ids", {listed.json()["entries"][0]["id"]}}};
  // Two operators (or one retrying after a timeout) replay the same entry.
  const HttpResponse first = env.collector_admin().post("/v1/quarantine/replay", ids.dump());
  INFO(first.describe());
  REQUIRE(first.status == 200);
  CHECK(first.json()["accepted"] == 1);
  const HttpResponse second = env.collector_admin().post("/v1/quarantine/replay", ids.dump());
  INFO(second.describe());
  REQUIRE(second.status == 200);

  auto db = read_collector_db(env.collector_db());
  REQUIRE(db);
  CHECK(db->events.size() == 1);
}

TEST_CASE("daemons refuse a bad configuration with exit 78 naming the file and the JSON pointer",
          "[integration][config]") {
  PipelineEnv env({.start = false});
  struct Case {
    std::string daemon;  // "agent" or "collector"
    std::string what;
    std::function<void(json&)> edit;
    std::string expected;  // in the message, besides the file name
  };
  const std::vector<Case> cases = {
      {"agent", "missing mqtt.ca_file", [](json& c) { c["mqtt"].erase("ca_file"); },
       "/mqtt/ca_file: required property is missing"},
      {"agent", "typo in a key", [](json& c) { c["forwarder"]["ack_timout"] = "3s"; },
       "/forwarder/ack_timout: unknown property 'ack_timout'"},
      {"agent", "typo at the top level", [](json& c) { c["stor_id"] = "store-1"; },
       "/stor_id: unknown property"},
      {"agent", "wrong type", [](json& c) { c["forwarder"]["window"] = "eight"; },
       "/forwarder/window"},
      {"agent", "bad duration", [](json& c) { c["forwarder"]["ack_timeout"] = "3 weeks"; },
       "/forwarder/ack_timeout"},
      {"agent", "quota below its hard limit",
       [](json& c) {
         c["outbox"]["max_bytes"] = "2MiB";
         c["outbox"]["hard_max_bytes"] = "1MiB";
       },
       "/outbox/hard_max_bytes"},
      {"collector", "missing store.path", [](json& c) { c["store"].erase("path"); },
       "/store/path: required property is missing"},
      {"collector", "typo in a key", [](json& c) { c["mqtt"]["share_grup"] = "x"; },
       "/mqtt/share_grup: unknown property"},
      {"collector", "bad key hash", [](json& c) { c["write_keys"][0]["sha256"] = "abc"; },
       "/write_keys/0/sha256"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::string original =
        c.daemon == "agent" ? env.config_path("agent-1") : env.config_path("collector");
    const std::string path = env.dir() + "/bad-" + std::to_string(i) + ".json";
    write_file(path, read_file(original));
    REQUIRE(edit_json_file(path, c.edit));
    const std::string binary = std::string(AISLE_BINARY_DIR) + "/aisle-" + c.daemon;
    for (const bool check_only : {false, true}) {
      std::vector<std::string> argv = {binary, "--config", path};
      if (check_only) argv.push_back("--check-config");
      const CommandResult result = run_command(argv, seconds(10));
      INFO(c.daemon << ": " << c.what << (check_only ? " (--check-config)" : "") << "\n"
                    << result.output);
      CHECK(result.exit_code == 78);
      CHECK(result.output.find(path) != std::string::npos);
      CHECK(result.output.find(c.expected) != std::string::npos);
    }
  }

  // Not JSON at all: the position is named; a missing file is a configuration error too.
  const std::string garbled = env.dir() + "/garbled.json";
  write_file(garbled, "{\"tenant\": \"acme\", /* a comment is fine */ \"store_id\": \n");
  CommandResult result =
      run_command({std::string(AISLE_BINARY_DIR) + "/aisle-agent", "--config", garbled});
  INFO(result.output);
  CHECK(result.exit_code == 78);
  CHECK(result.output.find(garbled + ": line 2") != std::string::npos);
  result = run_command(
      {std::string(AISLE_BINARY_DIR) + "/aisle-collector", "--config", env.dir() + "/none.json"});
  CHECK(result.exit_code == 78);
  CHECK(result.output.find(env.dir() + "/none.json") != std::string::npos);

  // A schema directory that does not exist stops the start-up with 78 as well.
  const std::string no_schemas = env.dir() + "/no-schemas.json";
  write_file(no_schemas, read_file(env.config_path("collector")));
  REQUIRE(edit_json_file(no_schemas, [&](json& c) {
    c["schemas"]["extra_dirs"] = json::array({env.dir() + "/missing-dir"});
  }));
  result =
      run_command({std::string(AISLE_BINARY_DIR) + "/aisle-collector", "--config", no_schemas});
  INFO(result.output);
  CHECK(result.exit_code == 78);
  CHECK(result.output.find(env.dir() + "/missing-dir") != std::string::npos);

  // The generated configurations themselves are valid.
  for (const std::string part : {"agent-1", "collector"}) {
    const std::string binary =
        std::string(AISLE_BINARY_DIR) + (part == "collector" ? "/aisle-collector" : "/aisle-agent");
    result = run_command({binary, "--config", env.config_path(part), "--check-config"});
    INFO(result.output);
    CHECK(result.exit_code == 0);
  }
}

}  // namespace aisle::test
