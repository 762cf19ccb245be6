#include "firmware_adapters/rfid/rfid_shelf_decoder.hpp"

#include <catch2/catch.hpp>

#include "firmware_adapters/rfid/sgtin96.hpp"
#include "tests/unit/adapters/decoder_test_support.hpp"

namespace aisle::adapters {
namespace {

using test::frame_of;

TEST_CASE("SGTIN-96 decodes the GS1 Tag Data Standard's worked example", "[adapters][rfid]") {
  // TDS: urn:epc:id:sgtin:0614141.812345.6789 <-> 3074257BF7194E4000001A85 (filter 3).
  std::string error;
  const auto epc = rfid::decode_sgtin96("3074257BF7194E4000001A85", &error);
  INFO(error);
  REQUIRE(epc);
  CHECK(epc->filter == 3);
  CHECK(epc->company_prefix_digits == 7);
  CHECK(epc->company_prefix == 614141);
  CHECK(epc->item_reference == 812345);
  CHECK(epc->serial == 6789);
  CHECK(epc->gtin14() == "80614141123458");
  CHECK(epc->pure_identity_urn() == "urn:epc:id:sgtin:0614141.812345.6789");
  CHECK(encode_sgtin96(*epc) == "3074257BF7194E4000001A85");
  CHECK(rfid::decode_sgtin96("3074257bf7194e4000001a85"));  // either case
}

TEST_CASE("SGTIN-96 round-trips every partition and refuses what the standard forbids",
          "[adapters][rfid]") {
  for (int digits = 6; digits <= 12; ++digits) {
    rfid::Sgtin96 epc;
    epc.filter = 1;
    epc.company_prefix_digits = digits;
    epc.company_prefix = 123456;
    epc.item_reference = 7;
    epc.serial = (std::uint64_t{1} << 38) - 1;
    const auto hex = encode_sgtin96(epc);
    REQUIRE(hex);
    const auto back = rfid::decode_sgtin96(*hex);
    REQUIRE(back);
    CHECK(back->company_prefix == epc.company_prefix);
    CHECK(back->item_reference == epc.item_reference);
    CHECK(back->serial == epc.serial);
    CHECK(back->gtin14().size() == 14);
    CHECK(back->gtin14().back() - '0' == rfid::gs1_check_digit(back->gtin14().substr(0, 13)));
  }
  std::string error;
  CHECK(!rfid::decode_sgtin96("E2801160600002054D3C19A3", &error));  // a TID-style EPC
  CHECK(error == "EPC header is not 0x30 (SGTIN-96)");
  CHECK(!rfid::decode_sgtin96("303C257BF7194E4000001A85", &error));  // partition 7
  CHECK(error == "SGTIN partition 7 is reserved");
  CHECK(!rfid::decode_sgtin96("3074257BF7194E4000001A8", &error));
  CHECK(!rfid::decode_sgtin96("3074257BF7194E4000001A8G", &error));
  // Partition 6 gives the company prefix 20 bits: 999999 fits, 2^20 - 1 = 1048575 does not.
  CHECK(!rfid::decode_sgtin96("307BFFFFC000000000000000", &error));
  CHECK(error == "company prefix exceeds its partition's digits");
  CHECK(rfid::gs1_check_digit("8061414112345") == 8);
  CHECK(rfid::gs1_check_digit("0871234567890") == 6);
}

RfidShelfDecoder make_reader() {
  RfidShelfOptions options;
  options.antennas = {{1, "shelf-3"}, {2, "shelf-4"}};
  options.products = {{"80614141123458", "ESP-BRW-870-SS"}};
  options.absent_ms = 5000;
  return RfidShelfDecoder(options, DecoderContext{"store-0042", "rfid-reader-1"});
}

TEST_CASE("RFID shelf decodes recorded reads and names each bad read",
          "[adapters][rfid]") {
  auto decoder = make_reader();
  const auto frames = test::read_frames(test::frames_dir("rfid") / "reads.txt", 1'000);
  const DecodeOutput out = test::decode_all(decoder, frames);
  CHECK(out.events.empty());  // first reads are the initial inventory
  CHECK(decoder.tracked_tags() == 2);
  REQUIRE(out.errors.size() == 4);
  CHECK(out.errors[0].reason == "unsupported_epc");
  CHECK(out.errors[0].message ==
        "line 4: field 'epc' 'E2801160600002054D3C19A3': EPC header is not 0x30 (SGTIN-96)");
  CHECK(out.errors[1].reason == "unmapped");
  CHECK(out.errors[1].message == "line 5: antenna 9 has no shelf in 'antennas'");
  CHECK(out.errors[2].message == "line 6: expected ts,epc,antenna[,rssi], got 2 fields");
  CHECK(out.errors[3].reason == "malformed");
}

TEST_CASE("an RFID tag gone longer than absent_ms is a pickup and its return a putback",
          "[adapters][rfid]") {
  auto decoder = make_reader();
  DecodeOutput out;
  decoder.decode(frame_of("1795874700000,3074257BF7194E4000001A85,1,-58", 10'000), out);
  decoder.decode(frame_of("1795874701000,3074257BF7194E4000001A85,2,-70", 11'000), out);  // overlap
  decoder.tick(15'000, out);
  CHECK(out.events.empty());  // absent 5000 ms: not yet longer than absent_ms
  decoder.tick(15'001, out);
  REQUIRE(out.events.size() == 1);
  const Event& pickup = out.events[0];
  CHECK(pickup.type == "shelf_pickup");
  CHECK(pickup.occurred_at == 1'795'874'700'000 + 5001);
  CHECK(pickup.properties == nlohmann::json{{"shelf_id", "shelf-3"},
                                           {"antenna", 1},
                                           {"sku", "ESP-BRW-870-SS"},
                                           {"gtin", "80614141123458"},
                                           {"serial", "6789"},
                                           {"action", "pickup"},
                                           {"quantity", 1},
                                           {"detector", "rfid"}});
  decoder.tick(60'000, out);
  CHECK(out.events.size() == 1);  // one pickup, not one per tick
  decoder.decode(frame_of("1795874760000,3074257BF7194E4000001A85,2,-58", 60'000), out);
  REQUIRE(out.events.size() == 2);
  CHECK(out.events[1].properties["action"] == "putback");
  CHECK(out.events[1].properties["shelf_id"] == "shelf-4");
  CHECK(out.events[1].occurred_at == 1'795'874'760'000);
  test::require_all_valid(out);
  CHECK(out.errors.empty());
}

TEST_CASE("RFID shelf evicts picked-up tags first when over max_tags", "[adapters][rfid]") {
  RfidShelfOptions options;
  options.antennas = {{1, "shelf-3"}};
  options.max_tags = 2;
  RfidShelfDecoder decoder(options, DecoderContext{"store-0042", "rfid-reader-1"});
  DecodeOutput out;
  decoder.decode(frame_of("1795874700000,3074257BF7194E4000001A85,1,-58", 1'000), out);
  decoder.decode(frame_of("1795874700000,3074257BF7194E4000001A86,1,-58", 9'000), out);
  decoder.tick(7'000, out);  // ...A85 is picked up
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].properties.contains("gtin"));
  CHECK(!out.events[0].properties.contains("sku"));  // not in `products`
  decoder.decode(frame_of("1795874700000,3074257BF7194E4000001A87,1,-58", 9'500), out);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].reason == "evicted");
  CHECK(out.errors[0].message == "more than max_tags 2: forgot tag 3074257BF7194E4000001A85");
  CHECK(decoder.stats().tags_evicted == 1);
  test::require_all_valid(out);
}

TEST_CASE("rfid_shelf options name the bad key", "[adapters][rfid][factory]") {
  auto missing = make_decoder("rfid_shelf", nlohmann::json::object(), DecoderContext{});
  REQUIRE(!missing.ok());
  CHECK(missing.error().message ==
        "decoder rfid_shelf: option 'antennas': required: map antenna port -> shelf_id");
  auto bad = make_decoder("rfid_shelf", {{"antennas", {{"256", "s"}}}}, DecoderContext{});
  REQUIRE(!bad.ok());
  CHECK(bad.error().message ==
        "decoder rfid_shelf: option 'antennas': key '256' is not an antenna port 0..255");
  auto ok = make_decoder("rfid_shelf", {{"antennas", {{"1", "shelf-3"}}}, {"absent_ms", 3000}},
                         DecoderContext{});
  CHECK(ok.ok());
}

}  // namespace
}  // namespace aisle::adapters
