// Weight shelf decoder: settled load-cell readings per shelf position -> `shelf_pickup` events
// (detector "weight").
//
// One reading per frame, as CSV or JSON:
//   2026-11-28T14:05:00Z,bay-3/level-2/facing-4,1250.5
//   {"ts":"2026-11-28T14:05:00Z","position":"bay-3/level-2/facing-4","grams":1250.5}
// The `positions` option maps each position to its product:
//   {"bay-3/level-2/facing-4": {"shelf_id":"shelf-3","sku":"BEAN-ETH-1KG","unit_g":1000,
//                               "tolerance_g":20}}
// The first reading of a position is its baseline (no event). A later reading that differs from
// the baseline by n x unit_g (+- tolerance_g, n >= 1) emits `pickup` (lighter) or `putback`
// (heavier) with quantity n and weight_delta_g, and becomes the new baseline. A change within
// tolerance_g is noise: ignored, the baseline kept (so slow drift is not summed into a false
// pickup until it exceeds the tolerance). A change that is no multiple of unit_g is reported as a
// "non_multiple" decode error and the reading becomes the new baseline (a foreign object or a
// re-stock of another product is reported once, not on every later reading). The decoder expects
// settled readings (most shelves report on change after a settle time).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/decoder_support.hpp"

namespace aisle::adapters {

struct WeightPosition {
  std::string shelf_id;
  std::string sku;
  double unit_g = 0;       // weight of one unit, > 0
  double tolerance_g = 0;  // accepted error of the whole change, >= 0 and < unit_g / 2
};

struct WeightShelfOptions {
  std::map<std::string, WeightPosition, std::less<>> positions;  // required, <= 4096 positions
  double max_grams = 1'000'000;  // readings outside [-max, max] are "out_of_range"
  std::size_t max_line_bytes = 1024;
};

Result<WeightShelfOptions> parse_weight_shelf_options(const nlohmann::json& options);

class WeightShelfDecoder final : public Decoder {
 public:
  WeightShelfDecoder(WeightShelfOptions options, DecoderContext context);

  void decode(const Frame& frame, DecodeOutput& out) override;

 private:
  struct State {
    bool has_baseline = false;
    double baseline_g = 0;
  };

  WeightShelfOptions options_;
  DecoderContext context_;
  // Indexed like options_.positions (state only for configured positions: bounded by config).
  std::map<std::string_view, State, std::less<>> state_;
  std::vector<detail::FlatMember> members_;
};

}  // namespace aisle::adapters
