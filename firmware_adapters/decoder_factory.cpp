// The decoder factory: the one place that maps a config `type` to a decoder class.
#include <algorithm>
#include <array>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/ble/ble_gateway_decoder.hpp"
#include "firmware_adapters/people_counter/people_counter_decoder.hpp"
#include "firmware_adapters/pos/pos_csv_decoder.hpp"
#include "firmware_adapters/pos/pos_jsonl_decoder.hpp"
#include "firmware_adapters/rfid/rfid_shelf_decoder.hpp"
#include "firmware_adapters/weight/weight_shelf_decoder.hpp"

namespace aisle::adapters {

namespace {

constexpr std::array<std::string_view, 6> kTypes = {"pos_jsonl",      "pos_csv",    "ble_gateway",
                                                     "people_counter", "rfid_shelf", "weight_shelf"};

template <typename D, typename O>
Result<DecoderPtr> build(Result<O> options, const DecoderContext& context) {
  if (!options) return options.error();
  return DecoderPtr(std::make_unique<D>(std::move(*options), context));
}

}  // namespace

std::vector<std::string_view> decoder_types() { return {kTypes.begin(), kTypes.end()}; }

Result<DecoderPtr> make_decoder(std::string_view type, const nlohmann::json& options,
                                const DecoderContext& context) {
  if (type == "people_counter") {
    return build<PeopleCounterDecoder>(parse_people_counter_options(options), context);
  }
  if (type == "pos_jsonl") {
    return build<PosJsonlDecoder>(parse_pos_jsonl_options(options), context);
  }
  if (type == "pos_csv") {
    return build<PosCsvDecoder>(parse_pos_csv_options(options), context);
  }
  if (type == "ble_gateway") {
    return build<BleGatewayDecoder>(parse_ble_gateway_options(options), context);
  }
  if (type == "rfid_shelf") {
    return build<RfidShelfDecoder>(parse_rfid_shelf_options(options), context);
  }
  if (type == "weight_shelf") {
    return build<WeightShelfDecoder>(parse_weight_shelf_options(options), context);
  }
  std::string known;
  for (const auto name : kTypes) known.append(known.empty() ? "" : ", ").append(name);
  if (std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "decoder type '" + std::string(type) + "' is not built yet");
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown decoder type '" + std::string(type) + "' (known: " + known + ")");
}

}  // namespace aisle::adapters
