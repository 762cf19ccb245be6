#include "firmware_adapters/ble/ble_gateway_decoder.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/adapters/decoder_test_support.hpp"

namespace aisle::adapters {
namespace {

constexpr const char* kIBeaconHex =
    "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00010002C5";

std::vector<std::uint8_t> bytes_of(std::string_view hex) {
  std::vector<std::uint8_t> bytes;
  REQUIRE(detail::decode_hex(hex, bytes, 255));
  return bytes;
}

TEST_CASE("BLE frames parse Apple's iBeacon layout", "[adapters][ble]") {
  ble::Advertisement adv;
  REQUIRE(ble::parse_advertisement(bytes_of(kIBeaconHex), adv) == "");
  REQUIRE(adv.kind == ble::BeaconKind::kIBeacon);
  CHECK(ble::uuid_text(adv.ibeacon.uuid) == "f7826da6-4fa2-4e98-8024-bc5b71e0893e");
  CHECK(adv.ibeacon.major == 1);
  CHECK(adv.ibeacon.minor == 2);
  CHECK(adv.ibeacon.tx_power_1m == -59);
}

TEST_CASE("BLE frames parse Eddystone UID, URL and TLM frames of the open spec",
          "[adapters][ble]") {
  ble::Advertisement adv;
  REQUIRE(ble::parse_advertisement(
              bytes_of("0201060303AAFE1716AAFE00E7EDD1EBEAC04E5DEFA0170123456789AB0000"), adv) ==
          "");
  REQUIRE(adv.kind == ble::BeaconKind::kEddystoneUid);
  CHECK(adv.uid.tx_power_0m == -25);
  CHECK(ble::eddystone_tx_at_1m(adv.uid.tx_power_0m) == -66);
  CHECK(adv.uid.instance[5] == 0xAB);

  REQUIRE(ble::parse_advertisement(bytes_of("0201060E16AAFE10EB016578616D706C6500"), adv) == "");
  REQUIRE(adv.kind == ble::BeaconKind::kEddystoneUrl);
  CHECK(adv.url.url == "https://www.example.com/");
  ble::EddystoneUrl url;
  // The spec's example: 0x02 "http://" + "goo.gl/" ... and an expansion mid-URL.
  const std::vector<std::uint8_t> body = {0xEB, 0x02, 'g', 'o', 'o', 0x07, 'x'};
  REQUIRE(ble::parse_eddystone_url(body, url) == "");
  CHECK(url.url == "http://goo.comx");
  CHECK(ble::parse_eddystone_url(std::vector<std::uint8_t>{0xEB, 0x04}, url) ==
        "Eddystone-URL scheme prefix out of range");

  REQUIRE(ble::parse_advertisement(bytes_of("0201061116AAFE20000BB818800000006400000E10"), adv) ==
          "");
  REQUIRE(adv.kind == ble::BeaconKind::kEddystoneTlm);
  CHECK(adv.tlm.battery_mv == 3000);
  CHECK(adv.tlm.temperature_c == 24.5);
  CHECK(adv.tlm.adv_count == 100);
  CHECK(adv.tlm.uptime_ds == 3600);

  CHECK(ble::parse_advertisement(bytes_of("02011A1BFF4C00"), adv) ==
        "AD structure at byte 3 overruns the payload");
  CHECK(ble::parse_advertisement(bytes_of("0201061AFF4C000216F7826DA64FA24E988024BC5B71E0893E00010002C5"),
                                 adv) == "iBeacon frame must carry 21 bytes");
}

const nlohmann::json kOptions = {
    {"zones",
     {{"ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2", "coffee-aisle"},
      {"eddystone:edd1ebeac04e5defa017:0123456789ab",
       {{"zone_id", "tills"}, {"zone_type", "checkout_queue"}}}}},
    {"alpha", 1.0}};

std::string ibeacon_frame(UnixMillis device_ms, int rssi) {
  return "{\"ts\":" + std::to_string(device_ms) + ",\"mac\":\"C4:7C:8D:6A:11:02\",\"rssi\":" +
         std::to_string(rssi) + ",\"data\":\"" + kIBeaconHex + "\"}";
}

TEST_CASE("BLE gateway decodes recorded gateway lines", "[adapters][ble]") {
  auto decoder = test::make_or_fail("ble_gateway", kOptions);
  const auto frames = test::read_frames(test::frames_dir("ble") / "gateway.txt");
  const DecodeOutput out = test::decode_all(*decoder, frames);
  CHECK(out.events.empty());  // min_enter_ms not yet held
  REQUIRE(out.errors.size() == 2);
  CHECK(out.errors[0].message == "line 6: field 'data': AD structure at byte 3 overruns the payload");
  CHECK(out.errors[1].message == "line 7: field 'rssi': not a number");
  auto& gateway = dynamic_cast<BleGatewayDecoder&>(*decoder);
  CHECK(gateway.tracked_beacons() == 2);
  CHECK(gateway.stats().not_beacon == 3);  // URL, TLM, an Apple "nearby" advertisement
}

TEST_CASE("BLE gateway enters with hysteresis, does not flap, and exits with a dwell",
          "[adapters][ble]") {
  auto decoder = test::make_or_fail("ble_gateway", kOptions);
  DecodeOutput out;
  const UnixMillis t0 = 1'795'874'700'000;
  auto hear = [&](UnixMillis offset, int rssi) {
    decoder->decode(test::frame_of(ibeacon_frame(t0 + offset, rssi), 1'000 + offset), out);
  };
  hear(0, -60);
  hear(1000, -60);
  CHECK(out.events.empty());
  hear(2000, -60);  // held >= enter_rssi for min_enter_ms
  REQUIRE(out.events.size() == 1);
  const auto& enter = out.events[0];
  CHECK(enter.type == "beacon_proximity");
  CHECK(enter.occurred_at == t0);
  CHECK(enter.properties["transition"] == "enter");
  CHECK(enter.properties["zone_id"] == "coffee-aisle");
  CHECK(enter.properties["beacon"] == nlohmann::json{{"uuid", "f7826da6-4fa2-4e98-8024-bc5b71e0893e"},
                                                     {"major", 1},
                                                     {"minor", 2}});
  CHECK(enter.properties["tx_power"] == -59);
  CHECK(enter.properties["distance_m"].get<double>() == Approx(1.12).margin(0.01));
  CHECK(enter.properties["proximity"] == "near");
  // A shopper standing at the edge: the RSSI swings inside the hysteresis band, and briefly below.
  for (int k = 0; k < 20; ++k) hear(3000 + 500 * k, k % 2 ? -84 : -76);
  hear(13000, -95);
  hear(14000, -80);
  CHECK(out.events.size() == 1);
  hear(20000, -95);
  hear(24999, -95);
  CHECK(out.events.size() == 1);
  hear(25000, -95);  // below exit_rssi for min_exit_ms
  REQUIRE(out.events.size() == 3);
  CHECK(out.events[1].properties["transition"] == "exit");
  CHECK(out.events[1].occurred_at == t0 + 20000);
  const auto& dwell = out.events[2];
  CHECK(dwell.type == "dwell");
  CHECK(dwell.properties == nlohmann::json{{"zone_id", "coffee-aisle"},
                                          {"entered_at", "2026-11-28T14:05:00.000Z"},
                                          {"exited_at", "2026-11-28T14:05:20.000Z"},
                                          {"seconds", 20.0},
                                          {"detector", "ble"}});
  test::require_all_valid(out);
  CHECK(out.errors.empty());
}

TEST_CASE("BLE gateway exits a beacon no longer heard from tick()", "[adapters][ble]") {
  nlohmann::json options = kOptions;
  options["min_enter_ms"] = 0;
  auto decoder = test::make_or_fail("ble_gateway", options);
  DecodeOutput out;
  decoder->decode(test::frame_of("{\"rssi\":-70,\"data\":\"0201061716AAFE00E7EDD1EBEAC04E5DEFA0170123456789AB0000\"}",
                                 1'795'874'700'000),
                  out);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].properties["eddystone"] ==
        nlohmann::json{{"namespace", "edd1ebeac04e5defa017"}, {"instance", "0123456789ab"}});
  CHECK(out.events[0].properties["tx_power"] == -66);
  decoder->tick(1'795'874'710'000, out);
  CHECK(out.events.size() == 1);
  decoder->tick(1'795'874'710'001, out);
  REQUIRE(out.events.size() == 3);
  CHECK(out.events[1].properties["transition"] == "exit");
  CHECK(out.events[2].properties["zone_type"] == "checkout_queue");
  CHECK(out.events[2].properties["seconds"] == 0.0);
  CHECK(dynamic_cast<BleGatewayDecoder&>(*decoder).tracked_beacons() == 0);
  test::require_all_valid(out);
}

TEST_CASE("ble_gateway options refuse malformed beacon keys and an inverted band",
          "[adapters][ble][factory]") {
  auto bad = make_decoder("ble_gateway", {{"zones", {{"ibeacon:nope", "z"}}}}, DecoderContext{});
  REQUIRE(!bad.ok());
  CHECK(bad.error().message.starts_with("decoder ble_gateway: option 'zones': key 'ibeacon:nope'"));
  auto band = make_decoder("ble_gateway", {{"zones", kOptions["zones"]}, {"exit_rssi", -60}},
                           DecoderContext{});
  REQUIRE(!band.ok());
  CHECK(band.error().message == "decoder ble_gateway: option 'exit_rssi': must be < enter_rssi");
}

}  // namespace
}  // namespace aisle::adapters
