#include "firmware_adapters/weight/weight_shelf_decoder.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/adapters/decoder_test_support.hpp"

namespace aisle::adapters {
namespace {

const nlohmann::json kOptions = {
    {"positions",
     {{"bay-3/level-2/facing-4",
       {{"shelf_id", "shelf-3"}, {"sku", "BEAN-ETH-250"}, {"unit_g", 250}, {"tolerance_g", 10}}}}}};

TEST_CASE("weight shelf turns multiples of the unit weight into pickups and putbacks",
          "[adapters][weight]") {
  auto decoder = test::make_or_fail("weight_shelf", kOptions);
  const auto frames = test::read_frames(test::frames_dir("weight") / "readings.txt");
  const DecodeOutput out = test::decode_all(*decoder, frames);
  test::require_all_valid(out);
  // 1000 baseline, 1003.5 noise, 750.2 -1 unit, 260 -2 units (residual 9.8), 510 +1 unit.
  REQUIRE(out.events.size() == 3);
  const auto& first = out.events[0].properties;
  CHECK(out.events[0].type == "shelf_pickup");
  CHECK(out.events[0].occurred_at == 1'795'874'710'000);
  CHECK(first["action"] == "pickup");
  CHECK(first["quantity"] == 1);
  CHECK(first["sku"] == "BEAN-ETH-250");
  CHECK(first["shelf_id"] == "shelf-3");
  CHECK(first["position"] == "bay-3/level-2/facing-4");
  CHECK(first["detector"] == "weight");
  CHECK(first["weight_delta_g"].get<double>() == Approx(-249.8));
  CHECK(out.events[1].properties["quantity"] == 2);
  CHECK(out.events[1].properties["confidence"].get<double>() == Approx(1 - 0.5 * 9.8 / 10));
  CHECK(out.events[2].properties["action"] == "putback");
  CHECK(out.events[2].properties["quantity"] == 1);

  REQUIRE(out.errors.size() == 3);
  CHECK(out.errors[0].reason == "non_multiple");
  CHECK(out.errors[0].message.starts_with("line 6: position 'bay-3/level-2/facing-4': change of "
                                          "130.000000 g is not a multiple"));
  CHECK(out.errors[1].reason == "unmapped");
  CHECK(out.errors[1].message == "line 7: position 'bay-9' is not in 'positions'");
  CHECK(out.errors[2].message == "line 8: field 'grams': not a number: 'heavy'");
}

TEST_CASE("weight shelf keeps its baseline through noise so drift is not a pickup",
          "[adapters][weight]") {
  auto decoder = test::make_or_fail("weight_shelf", kOptions);
  DecodeOutput out;
  for (const char* grams : {"1000", "1006", "995", "1009", "991"}) {
    decoder->decode(test::frame_of(std::string("1795874700,bay-3/level-2/facing-4,") + grams), out);
  }
  CHECK(out.events.empty());
  CHECK(out.errors.empty());
}

TEST_CASE("weight_shelf options refuse a tolerance that makes multiples ambiguous",
          "[adapters][weight][factory]") {
  auto bad = make_decoder(
      "weight_shelf",
      {{"positions", {{"p1", {{"shelf_id", "s"}, {"sku", "x"}, {"unit_g", 20}, {"tolerance_g", 10}}}}}},
      DecoderContext{});
  REQUIRE(!bad.ok());
  CHECK(bad.error().message ==
        "decoder weight_shelf: option 'positions': p1: tolerance_g must be >= 0 and < unit_g / 2");
  auto typo = make_decoder("weight_shelf", {{"positions", kOptions["positions"]}, {"max_gram", 1}},
                           DecoderContext{});
  REQUIRE(!typo.ok());
  CHECK(typo.error().message == "decoder weight_shelf: unknown option 'max_gram'");
}

}  // namespace
}  // namespace aisle::adapters
