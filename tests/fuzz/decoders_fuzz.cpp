// libFuzzer target for the device decoders. The first byte selects the decoder (and, in its high
// bits, how often tick() runs); the rest is split on '\n' into frames with advancing clocks. Every
// produced event must pass the strict envelope decode and validate against its built-in schema,
// so the fuzzer finds any input that would make a decoder emit what the agent rejects.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "firmware_adapters/decoder.hpp"

namespace {

using aisle::adapters::DecoderPtr;
using nlohmann::json;

const json& options_for(std::size_t which) {
  static const json kOptions[] = {
      json{{"loyalty_key", "fuzz-loyalty-key-0123456789"}, {"max_items", 50}},
      json{{"loyalty_key", "fuzz-loyalty-key-0123456789"}, {"flush_ms", 1000}},
      json{{"zones",
            {{"ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2", "coffee-aisle"},
             {"eddystone:edd1ebeac04e5defa017:0123456789ab", {{"zone_id", "tills"}}}}},
           {"min_enter_ms", 0},
           {"min_exit_ms", 0},
           {"max_beacons", 4}},
      json{{"max_doors", 4}},
      json{{"antennas", {{"0", "shelf-0"}, {"1", "shelf-1"}, {"2", "shelf-2"}}},
           {"products", {{"80614141123458", "SKU-1"}}},
           {"absent_ms", 100},
           {"max_tags", 8}},
      json{{"positions",
            {{"p1", {{"shelf_id", "s1"}, {"sku", "SKU-1"}, {"unit_g", 250}, {"tolerance_g", 10}}},
             {"p2", {{"shelf_id", "s1"}, {"sku", "SKU-2"}, {"unit_g", 0.5}, {"tolerance_g", 0}}}}}}};
  return kOptions[which];
}

const aisle::EventValidator& validator() {
  static const aisle::EventValidator instance = [] {
    auto loaded = aisle::schema::Registry::load({std::string(AISLE_SCHEMAS_SOURCE_DIR)});
    if (!loaded) std::abort();
    return aisle::EventValidator(
        std::make_shared<aisle::schema::RegistryHolder>(std::move(*loaded)), {});
  }();
  return instance;
}

void check(const aisle::adapters::DecodeOutput& out) {
  for (const auto& event : out.events) {
    aisle::Event checked;
    std::vector<aisle::schema::ValidationError> errors;
    if (!validator().check_text(aisle::to_json_text(event), checked, errors)) {
      std::fprintf(stderr, "invalid event %s: %s\n", aisle::to_json_text(event).c_str(),
                   aisle::join_errors(errors).c_str());
      std::abort();
    }
  }
  for (const auto& error : out.errors) {
    if (error.reason.empty() || error.message.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto types = aisle::adapters::decoder_types();
  const std::size_t which = data[0] % types.size();
  const unsigned tick_every = 1 + (data[0] >> 5);
  auto made = aisle::adapters::make_decoder(types[which], options_for(which),
                                            aisle::adapters::DecoderContext{"store-1", "dev-1"});
  if (!made) std::abort();  // the options above are valid
  DecoderPtr decoder = std::move(*made);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  aisle::adapters::DecodeOutput out;
  aisle::adapters::Frame frame;
  aisle::UnixMillis now = 1'795'874'700'000;
  unsigned count = 0;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    frame.bytes.assign(rest.substr(0, newline));
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    frame.line = ++count;
    now += 37 * (count % 7);
    frame.received_at = now;
    out.clear();
    decoder->decode(frame, out);
    check(out);
    if (count % tick_every == 0) {
      out.clear();
      decoder->tick(now + 500 * tick_every, out);
      check(out);
    }
  }
  out.clear();
  decoder->tick(now + 3'600'000, out);
  check(out);
  return 0;
}
