#include <zstd.h>

#include <catch2/catch.hpp>
#include <limits>

#include "common/wire/rec_snapshot.hpp"

using namespace aisle::wire;

namespace {

RecSnapshot sample_snapshot() {
  RecSnapshot s;
  s.store_id = "store-1";
  s.generated_at = 1764400000000;
  s.model_generation = 42;
  s.popularity = {{"sku-1", 0.93}, {"sku-7", 0.81}};
  s.items = {{"sku-1", "shoes", true, {{"sku-7", 0.42}, {"sku-9", 0.17}}},
             {"sku-7", "socks", false, {{"sku-1", 0.42}}},
             {"sku-9", "", true, {}}};
  return s;
}

std::string compress(const std::string& text) {
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), text.data(), text.size(), 1));
  return frame;
}

std::string decode_error(const std::string& json_text, const RecSnapshotLimits& limits = {}) {
  auto decoded = decode_rec_snapshot(compress(json_text), limits);
  REQUIRE_FALSE(decoded);
  return decoded.error().message;
}

}  // namespace

TEST_CASE("a rec snapshot round-trips through encode and decode", "[agent][recs][snapshot]") {
  const RecSnapshot original = sample_snapshot();
  auto payload = encode_rec_snapshot(original);
  REQUIRE(payload);
  auto decoded = decode_rec_snapshot(*payload);
  REQUIRE(decoded);
  CHECK(*decoded == original);
}

TEST_CASE("a rec snapshot's optional item fields take their defaults", "[agent][recs][snapshot]") {
  auto decoded = decode_rec_snapshot(
      compress(R"({"v":1,"store_id":"s","generated_at":1,"model_generation":0,"popularity":[],)"
               R"("items":[{"sku":"a"}]})"));
  REQUIRE(decoded);
  REQUIRE(decoded->items.size() == 1);
  CHECK(decoded->items[0].available);
  CHECK(decoded->items[0].category.empty());
  CHECK(decoded->items[0].neighbours.empty());
}

TEST_CASE("a rec snapshot decoder names the field or limit that is wrong",
          "[agent][recs][snapshot]") {
  const std::string head = R"({"v":1,"store_id":"s","generated_at":1,"model_generation":2,)";
  CHECK(decode_error(R"({"v":2})").find("unsupported version 2") != std::string::npos);
  CHECK(decode_error(R"({"v":1,"generated_at":1})").find("missing 'store_id'") !=
        std::string::npos);
  CHECK(decode_error(head + R"("popularity":[["a",-1]],"items":[]})") ==
        "rec snapshot: popularity[0]: score must be a finite number >= 0");
  CHECK(decode_error(head + R"("popularity":[],"items":[{"sku":"a"},{"sku":"a"}]})") ==
        "rec snapshot: items[1]: duplicate sku 'a'");
  CHECK(decode_error(head + R"("popularity":[],"items":[{"sku":"a","neighbours":[["b"]]}]})") ==
        "rec snapshot: items[0].neighbours[0]: must be a [sku, score] pair");
  CHECK(decode_error(head + R"("popularity":[],"items":[{"sku":"a","available":1}]})") ==
        "rec snapshot: items[0].available: must be a boolean");

  RecSnapshotLimits limits;
  limits.max_neighbours = 1;
  limits.max_items = 1;
  limits.max_popularity = 1;
  limits.max_sku_bytes = 3;
  CHECK(decode_error(
            head + R"("popularity":[],"items":[{"sku":"a","neighbours":[["b",1],["c",1]]}]})",
            limits) == "rec snapshot: items[0].neighbours: 2 entries exceeds max_neighbours 1");
  CHECK(decode_error(head + R"("popularity":[],"items":[{"sku":"a"},{"sku":"b"}]})", limits) ==
        "rec snapshot: items: 2 entries exceeds max_items 1");
  CHECK(decode_error(head + R"("popularity":[["a",1],["b",1]],"items":[]})", limits) ==
        "rec snapshot: popularity: 2 entries exceeds max_popularity 1");
  CHECK(decode_error(head + R"("popularity":[["abcd",1]],"items":[]})", limits) ==
        "rec snapshot: popularity[0][0]: 4 bytes exceeds max_sku_bytes 3");
}

TEST_CASE("a rec snapshot decoder refuses oversized, bombed and non-zstd payloads",
          "[agent][recs][snapshot]") {
  auto payload = encode_rec_snapshot(sample_snapshot());
  REQUIRE(payload);

  RecSnapshotLimits small;
  small.max_payload_bytes = payload->size() - 1;
  auto too_big = decode_rec_snapshot(*payload, small);
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error().message.find("exceeds max_payload_bytes") != std::string::npos);

  // A frame that expands past max_raw_bytes is refused from its header, before allocation.
  const std::string zeros(1 << 20, ' ');
  RecSnapshotLimits raw;
  raw.max_raw_bytes = 1000;
  auto bomb = decode_rec_snapshot(compress(zeros), raw);
  REQUIRE_FALSE(bomb);
  CHECK(bomb.error().message ==
        "rec snapshot: decompressed size 1048576 exceeds max_raw_bytes 1000");

  auto plain = decode_rec_snapshot(R"({"v":1})");
  REQUIRE_FALSE(plain);
  CHECK(plain.error().message == "rec snapshot: not a zstd frame");

  std::string truncated = payload->substr(0, payload->size() - 3);
  CHECK_FALSE(decode_rec_snapshot(truncated));

  auto not_json = decode_rec_snapshot(compress("{\"v\":1,"));
  REQUIRE_FALSE(not_json);
  CHECK(not_json.error().message.rfind("rec snapshot: line 1", 0) == 0);
}
