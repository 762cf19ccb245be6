#include "common/json_text.hpp"

#include <catch2/catch.hpp>

using aisle::BodyFormat;
using aisle::JsonLimits;
using aisle::parse_json;
using aisle::split_records;

TEST_CASE("parse errors name the line and column", "[common][json]") {
  auto result = parse_json("{\n  \"a\": 1,\n  \"b\": }", JsonLimits{});
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Catch::Contains("line 3, column"));
}

TEST_CASE("documents over the size limit are refused before parsing", "[common][json]") {
  const std::string big = "{\"a\":\"" + std::string(100, 'x') + "\"}";
  auto result = parse_json(big, JsonLimits{64, 64});
  REQUIRE_FALSE(result);
  CHECK(result.error().message == "document is 108 bytes, limit 64");
}

TEST_CASE("nesting deeper than the limit is refused without recursion", "[common][json]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto result = parse_json(deep, JsonLimits{1 << 20, 64});
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Catch::StartsWith("nesting deeper than 64 levels"));
  // Brackets inside strings do not count.
  CHECK(parse_json("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[\"}", JsonLimits{1024, 2}));
}

TEST_CASE("a body splits into records: one object, an array, or NDJSON", "[common][json]") {
  auto single = split_records("  {\"a\": {\"b\": [1, 2]},\n  \"c\": \"}\"}\n", BodyFormat::kAuto);
  REQUIRE(single);
  REQUIRE(single->size() == 1);
  CHECK((*single)[0].text == "{\"a\": {\"b\": [1, 2]},\n  \"c\": \"}\"}");

  auto array = split_records("[{\"a\":1},\n {\"b\":\"],[\"} , {\"c\":[3]}]", BodyFormat::kAuto);
  REQUIRE(array);
  REQUIRE(array->size() == 3);
  CHECK((*array)[1].text == "{\"b\":\"],[\"}");
  CHECK((*array)[1].line == 2);
  CHECK((*array)[2].index == 2);

  auto ndjson = split_records("{\"a\":1}\n\n{\"b\":2}\r\n{bad\n", BodyFormat::kAuto);
  REQUIRE(ndjson);
  REQUIRE(ndjson->size() == 3);
  CHECK((*ndjson)[1].line == 3);
  CHECK((*ndjson)[2].text == "{bad");
  CHECK((*ndjson)[2].line == 4);
}

TEST_CASE("broken array framing is an error that says where", "[common][json]") {
  CHECK_FALSE(split_records("", BodyFormat::kAuto));
  CHECK_FALSE(split_records("   \n ", BodyFormat::kAuto));
  auto unclosed = split_records("[{\"a\":1}, {\"b\":2}", BodyFormat::kAuto);
  REQUIRE_FALSE(unclosed);
  CHECK_THAT(unclosed.error().message, Catch::Contains("not closed"));
  auto trailing = split_records("[{\"a\":1}] x", BodyFormat::kAuto);
  REQUIRE_FALSE(trailing);
  CHECK_THAT(trailing.error().message, Catch::Contains("line 1, column 11"));
  CHECK_FALSE(split_records("[{\"a\":1},]", BodyFormat::kAuto));
  CHECK_FALSE(split_records("[,{\"a\":1}]", BodyFormat::kAuto));
  auto empty = split_records("[]", BodyFormat::kAuto);
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("a number too large for a double is a parse error, not a crash", "[common][json]") {
  auto result = parse_json("{\"price\": 1e999}", JsonLimits{});
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Catch::Contains("number overflow"));
}
