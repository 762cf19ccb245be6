#include "collector/segments/segment_definition.hpp"

#include <catch2/catch.hpp>

#include "collector/segments/segment_options.hpp"
#include "common/schema/validator.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

std::string error_of(const json& doc, const DefinitionLimits& limits = {}) {
  auto r = parse_segment_definition(doc, limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  return r.error().message;
}

TEST_CASE("segment definition schema compiles and accepts the documented examples",
          "[collector][segments]") {
  REQUIRE(schema::CompiledSchema::compile(segment_definition_schema()).ok());
  const json doc = json::parse(R"({
    "name": "Espresso intenders",
    "condition": {"all": [
      {"count": {"event": "product_view", "window": "7d", "op": ">=", "value": 2,
                 "where": [{"property": "category", "op": "==", "value": "coffee/espresso-machines"},
                           {"property": "price", "op": ">", "value": 100}]}},
      {"not": {"count": {"event": "purchase", "window": "7d", "op": ">", "value": 0}}},
      {"any": [{"sum": {"event": "cart_add", "property": "price", "window": "24h", "op": ">", "value": 200}},
               {"distinct": {"event": "product_view", "property": "category", "window": "7d", "op": ">=", "value": 3}},
               {"recency": {"event": "purchase", "op": ">", "value": "30d", "if_never": false}},
               {"session": {"metric": "cart_items", "op": ">=", "value": 2}},
               {"session": {"metric": "zone", "op": "in", "value": ["coffee-aisle", "tea-aisle"]}},
               {"trait": {"name": "tier", "op": "==", "value": "gold"}},
               {"trait": {"name": "email_verified", "op": "exists"}},
               {"consent": {"purpose": "marketing", "state": "granted"}},
               {"segment": "vip"},
               {"score": {"model": "purchase_propensity", "op": ">", "value": 0.7}},
               {"max": {"event": "purchase", "property": "total", "window": "90d", "op": ">=", "value": 500}},
               {"count": {"event": "visit", "window": "30d", "op": ">", "value": 1,
                          "where": [{"property": "$store_id", "op": "in", "value": ["s1", "s2"]}]}}]}
    ]}})");
  auto def = parse_segment_definition(doc);
  REQUIRE(def.ok());
  CHECK(def->name == "Espresso intenders");
  CHECK(def->segment_refs == std::vector<std::string>{"vip"});
  CHECK(def->score_models == std::vector<std::string>{"purchase_propensity"});
  CHECK(def->uses_session);
  CHECK(def->uses_traits);
  CHECK(def->uses_consent);
  const Condition& first = def->condition.children[0];
  CHECK(first.kind == NodeKind::kFeature);
  CHECK(first.feature.window_ms == 7LL * 24 * 3600 * 1000);
  CHECK(first.feature.where.size() == 2);
  CHECK(first.json_path == "/condition/all/0/count");
}

TEST_CASE("equal features share one key and different ones do not", "[collector][segments]") {
  auto a = parse_segment_definition(json::parse(
      R"({"condition":{"count":{"event":"page_view","window":"30m","op":">","value":3}}})"));
  auto b = parse_segment_definition(json::parse(
      R"({"condition":{"count":{"event":"page_view","window":"30m","op":">=","value":10}}})"));
  auto c = parse_segment_definition(json::parse(
      R"({"condition":{"count":{"event":"page_view","window":"31m","op":">","value":3}}})"));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->condition.feature.key == b->condition.feature.key);
  CHECK(a->condition.feature.key != c->condition.feature.key);
}

TEST_CASE("definition errors name the JSON path and the limit", "[collector][segments]") {
  CHECK_THAT(error_of(json::parse(
                 R"({"condition":{"all":[{"count":{"event":"a","window":"91d","op":">","value":1}}]}})")),
             Catch::Contains("/condition/all/0/count/window") && Catch::Contains("limit"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"count":{"event":"a","window":"5x","op":">","value":1}}})")),
             Catch::Contains("/condition/count/window"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"all":[{"bogus":{}}]}})")),
             Catch::Contains("/condition/all/0"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"count":{"event":"a","window":"5m","op":">","value":1,
               "where":[{"property":"x","op":"in","value":1}]}}})")),
             Catch::Contains("/condition/count/where/0/value") && Catch::Contains("array"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"count":{"event":"a","window":"5m","op":">","value":1,
               "where":[{"property":"x","op":"exists","value":1}]}}})")),
             Catch::Contains("takes no value"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"session":{"metric":"cart_items","op":">","value":"x"}}})")),
             Catch::Contains("/condition/session/value"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"segment":"stream"}})")),
             Catch::Contains("/condition/segment"));
  CHECK_THAT(error_of(json::parse(R"({"name":"x"})")), Catch::Contains("condition"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"count":{"event":"a","window":"5m","op":">","value":1}},"extra":1})")),
             Catch::Contains("/extra"));
  CHECK_THAT(error_of(json::parse(R"({"condition":{"all":[]}})")), Catch::Contains("/condition/all"));
}

TEST_CASE("definitions over the node and depth limits are refused", "[collector][segments]") {
  DefinitionLimits limits;
  limits.max_nodes = 3;
  const json leaf = json::parse(R"({"count":{"event":"a","window":"5m","op":">","value":1}})");
  CHECK_THAT(error_of({{"condition", {{"all", {leaf, leaf, leaf}}}}}, limits),
             Catch::Contains("more than 3 condition nodes"));
  limits = DefinitionLimits{};
  limits.max_depth = 2;
  json deep = leaf;
  for (int i = 0; i < 4; ++i) deep = {{"not", deep}};
  CHECK_THAT(error_of({{"condition", deep}}, limits), Catch::Contains("nested deeper than 2"));
  limits = DefinitionLimits{};
  limits.max_window_ms = 3600 * 1000;
  CHECK_THAT(error_of(json::parse(R"({"condition":{"count":{"event":"a","window":"2h","op":">","value":1}}})"),
                      limits),
             Catch::Contains("3600 s"));
}

TEST_CASE("durations, segment ids and predicates", "[collector][segments]") {
  CHECK(parse_duration_ms("30s") == 30000);
  CHECK(parse_duration_ms("15m") == 900000);
  CHECK(parse_duration_ms("24h") == 86400000);
  CHECK(parse_duration_ms("90d") == 90LL * 86400000);
  CHECK_FALSE(parse_duration_ms("0s"));
  CHECK_FALSE(parse_duration_ms("5"));
  CHECK_FALSE(parse_duration_ms("-5m"));
  CHECK(valid_segment_id("cart_abandoners-2"));
  CHECK_FALSE(valid_segment_id("stream"));
  CHECK_FALSE(valid_segment_id("Upper"));
  CHECK_FALSE(valid_segment_id(std::string(65, 'a')));
  CHECK_FALSE(valid_segment_id(""));

  Predicate p{{"price"}, CompareOp::kGt, 100};
  const json cheap = 99.5;
  const json dear = 100.5;
  const json text = "100";
  CHECK_FALSE(predicate_matches(p, &cheap));
  CHECK(predicate_matches(p, &dear));
  CHECK_FALSE(predicate_matches(p, &text));  // a string is not a number
  CHECK_FALSE(predicate_matches(p, nullptr));
  Predicate in{{"category"}, CompareOp::kIn, json::array({"a", "b"})};
  const json b = "b";
  const json c = "c";
  CHECK(predicate_matches(in, &b));
  CHECK_FALSE(predicate_matches(in, &c));
  Predicate ne{{"category"}, CompareOp::kNe, "a"};
  CHECK(predicate_matches(ne, nullptr));
  CHECK(predicate_matches(ne, &b));
  const json props = json::parse(R"({"campaign":{"source":"mail"}})");
  REQUIRE(find_property(props, {"campaign", "source"}) != nullptr);
  CHECK(*find_property(props, {"campaign", "source"}) == "mail");
  CHECK(find_property(props, {"campaign", "medium"}) == nullptr);
}

TEST_CASE("segments options parse durations and refuse unknown keys", "[collector][segments]") {
  auto o = parse_segment_options(json::parse(R"({"path":"/var/lib/aisle/segments.db",
      "definitions_dir":"/etc/aisle/segments","allowed_lateness":"5m","tick_interval":"100ms",
      "session_timeout":1800000,"buckets_per_window":30,"max_segments":50,"max_window":"30d",
      "backfill_batch_size":500,"max_distinct_values":16})"));
  REQUIRE(o.ok());
  CHECK(o->allowed_lateness.count() == 300000);
  CHECK(o->tick_interval.count() == 100);
  CHECK(o->session_timeout.count() == 1800000);
  CHECK(o->buckets_per_window == 30);
  CHECK(o->definition.max_window_ms == 30LL * 86400000);
  CHECK(o->max_distinct_values == 16);
  auto bad = parse_segment_options(json::parse(R"({"tick_intervall":"1s"})"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("segments.tick_intervall: unknown key"));
  auto zero = parse_segment_options(json::parse(R"({"max_segments":0})"));
  REQUIRE_FALSE(zero.ok());
  CHECK_THAT(zero.error().message, Catch::Contains("segments.max_segments"));
  auto ms = parse_segment_options(json::parse(R"({"allowed_lateness":"ten"})"));
  REQUIRE_FALSE(ms.ok());
  CHECK_THAT(ms.error().message, Catch::Contains("segments.allowed_lateness"));
}

}  // namespace
}  // namespace aisle::collector::segments
