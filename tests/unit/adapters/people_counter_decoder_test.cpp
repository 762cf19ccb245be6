#include "firmware_adapters/people_counter/people_counter_decoder.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/adapters/decoder_test_support.hpp"

namespace aisle::adapters {
namespace {

using test::frame_of;
using test::require_all_valid;

PeopleCounterDecoder make_counter(PeopleCounterOptions options = {}) {
  return PeopleCounterDecoder(options, DecoderContext{"store-0042", "door-counter-main"});
}

TEST_CASE("people counter decodes recorded line, JSON and XML reports with occupancy",
          "[adapters][people_counter]") {
  auto decoder = make_counter();
  const auto frames = test::read_frames(test::frames_dir("people_counter") / "mixed.txt");
  const DecodeOutput out = test::decode_all(decoder, frames);
  require_all_valid(out);
  REQUIRE(out.events.size() == 5);
  const auto& first = out.events[0];
  CHECK(first.type == "footfall");
  CHECK(first.source.channel == Channel::kSensor);
  CHECK(first.source.store_id == "store-0042");
  CHECK(first.source.device_id == "door-counter-main");
  CHECK(first.occurred_at == 1'795'874'700'000);
  CHECK(first.properties == nlohmann::json{{"door_id", "door-main"}, {"in", 23}, {"out", 17},
                                          {"occupancy", 6}, {"interval_seconds", 300}});
  CHECK(out.events[1].properties["occupancy"] == 8);
  CHECK(out.events[1].properties["interval_seconds"] == 60);  // the option's default
  CHECK(out.events[2].properties["occupancy"] == 1);          // JSON variant
  CHECK(out.events[3].properties["door_id"] == "door-side");  // XML variant
  CHECK(out.events[3].properties["occupancy"] == 2);
  CHECK(out.events[4].occurred_at == 1'795'875'600'000);  // epoch seconds
  CHECK(out.events[4].properties["occupancy"] == 0);     // clamped, not -28
  CHECK(decoder.stats().occupancy_clamped == 1);
  CHECK(decoder.door_net("door-main") == 23 - 17 + 5 - 12 - 30);
  CHECK(decoder.door_net("door-side") == 3);

  REQUIRE(out.errors.size() == 3);
  CHECK(out.errors[0].reason == "malformed");
  CHECK(out.errors[0].message == "line 7: field 'in': not an integer: 'three'");
  CHECK(out.errors[1].message == "line 8: missing field 'out'");
  CHECK(out.errors[2].message.starts_with("line 9: XML: expected whitespace or '/>'"));
}

TEST_CASE("people counter refuses garbled frames with a named reason and never throws",
          "[adapters][people_counter]") {
  auto decoder = make_counter();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2026-11-28T14:05:00Z,door-main,in=1,out=2,extra", "malformed"},
      {"2026-11-28T14:05:00Z,door-main,in=1,out=2,in=3", "malformed"},
      {"2026-11-28T14:05:00Z,door-main,in=1,out=2,colour=red", "malformed"},
      {"yesterday,door-main,in=1,out=2", "malformed"},
      {"2026-11-28T14:05:00Z,,in=1,out=2", "out_of_range"},
      {"2026-11-28T14:05:00Z,door-main,in=-1,out=2", "out_of_range"},
      {"2026-11-28T14:05:00Z,door-main,in=1,out=2,interval=0", "out_of_range"},
      {"2026-11-28T14:05:00Z,door-main,in=100001,out=2", "out_of_range"},
      {"{\"ts\":\"2026-11-28T14:05:00Z\",\"door\":\"d\",\"in\":\"1\",\"out\":2}", "malformed"},
      {"{\"ts\":\"2026-11-28T14:05:00Z\",\"door\":\"d\",\"in\":1,\"out\":2,\"x\":{}}", "malformed"},
      {"{\"ts\":\"2026-11-28T14:05:00Z\",\"door\":\"d\",\"in\":1,\"in\":2}", "malformed"},
      {"{\"ts\":\"2026-11-28T14:05:00Z\"", "malformed"},
      {"<count ts=\"2026-11-28T14:05:00Z\" door=\"d\" in=\"1\" out=\"2\">", "malformed"},
      {"<count ts=\"2026-11-28T14:05:00Z\" door=\"d&#65;\" in=\"1\" out=\"2\"/>", "malformed"},
      {"<count ts=\"2026-11-28T14:05:00Z\" door=\"d\" in=\"1\" out=\"2\" x=\"\"/>", "malformed"},
      {"<footfall/>", "malformed"},
      {std::string("2026-11-28T14:05:00Z,door\0x,in=1,out=2", 37), "malformed"},
      {"2026-11-28T14:05:00Z,door-\xC3\x28,in=1,out=2", "malformed"},  // not UTF-8
      {"2026-11-28T14:05:00Z,door-\xED\xA0\x80,in=1,out=2", "malformed"},  // a surrogate
  };
  for (const auto& [bytes, reason] : cases) {
    INFO(bytes);
    DecodeOutput out;
    decoder.decode(frame_of(bytes), out);
    CHECK(out.events.empty());
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].reason == reason);
  }
}

TEST_CASE("people counter decodes XML entities and single quotes", "[adapters][people_counter]") {
  auto decoder = make_counter();
  DecodeOutput out;
  decoder.decode(frame_of("<count ts='1795875600000' door=\"a&amp;b\" in=\"2\" out=\"0\" />"), out);
  require_all_valid(out);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].properties["door_id"] == "a&b");
  CHECK(out.events[0].occurred_at == 1'795'875'600'000);
}

TEST_CASE("people counter refuses frames over max_line_bytes", "[adapters][people_counter]") {
  PeopleCounterOptions options;
  options.max_line_bytes = 64;
  auto decoder = make_counter(options);
  DecodeOutput out;
  decoder.decode(frame_of(std::string(65, 'x'), 0, 4), out);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].reason == "too_long");
  CHECK(out.errors[0].message == "line 4: frame of 65 bytes exceeds max_line_bytes 64");
}

TEST_CASE("people counter evicts the least recently seen door over max_doors",
          "[adapters][people_counter]") {
  PeopleCounterOptions options;
  options.max_doors = 2;
  auto decoder = make_counter(options);
  DecodeOutput out;
  decoder.decode(frame_of("1795875600,a,in=1,out=0"), out);
  decoder.decode(frame_of("1795875600,b,in=1,out=0"), out);
  decoder.decode(frame_of("1795875600,a,in=1,out=0"), out);
  decoder.decode(frame_of("1795875600,c,in=1,out=0"), out);
  CHECK(out.events.size() == 4);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].reason == "evicted");
  CHECK(out.errors[0].message == "more than max_doors 2: forgot door 'b'");
  CHECK(decoder.stats().doors_evicted == 1);
  CHECK(decoder.door_net("a") == 2);
  CHECK(decoder.door_net("b") == 0);
  CHECK(decoder.occupancy() == 4);
}

TEST_CASE("the decoder factory builds every listed type and refuses unknown option keys",
          "[adapters][factory]") {
  CHECK(decoder_types().size() == 6);
  auto made = make_decoder("people_counter", {{"interval_seconds", 300}}, DecoderContext{"s", "d"});
  REQUIRE(made.ok());
  auto typo = make_decoder("people_counter", {{"intervall_seconds", 300}}, DecoderContext{});
  REQUIRE(!typo.ok());
  CHECK(typo.error().message == "decoder people_counter: unknown option 'intervall_seconds'");
  auto bad = make_decoder("people_counter", {{"interval_seconds", 0}}, DecoderContext{});
  REQUIRE(!bad.ok());
  CHECK(bad.error().message ==
        "decoder people_counter: option 'interval_seconds': must be in [1, 86400], got 0");
  auto unknown = make_decoder("smoke_alarm", nlohmann::json::object(), DecoderContext{});
  REQUIRE(!unknown.ok());
  CHECK(unknown.error().message.starts_with("unknown decoder type 'smoke_alarm' (known: pos_jsonl"));
}

}  // namespace
}  // namespace aisle::adapters
