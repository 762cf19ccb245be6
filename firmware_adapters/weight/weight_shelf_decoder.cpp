#include "firmware_adapters/weight/weight_shelf_decoder.hpp"

#include <cmath>
#include <utility>

namespace aisle::adapters {

using detail::excerpt;
using detail::FlatMember;

Result<WeightShelfOptions> parse_weight_shelf_options(const nlohmann::json& json) {
  detail::OptionReader reader("weight_shelf", json);
  WeightShelfOptions options;
  if (const nlohmann::json* positions = reader.get_object("positions")) {
    if (positions->size() > 4096) reader.fail("positions", "more than 4096 positions");
    for (const auto& item : positions->items()) {
      const std::string& name = item.key();
      const nlohmann::json& spec = item.value();
      auto bad = [&](const std::string& what) { reader.fail("positions", name + ": " + what); };
      if (name.empty() || name.size() > 64) {
        bad("position names are 1..64 bytes");
        continue;
      }
      if (!spec.is_object()) {
        bad("must be an object {shelf_id, sku, unit_g, tolerance_g}");
        continue;
      }
      WeightPosition position;
      for (const auto& [key, value] : spec.items()) {
        if ((key == "shelf_id" || key == "sku") && value.is_string() &&
            !value.get_ref<const std::string&>().empty() &&
            value.get_ref<const std::string&>().size() <= 64) {
          (key == "sku" ? position.sku : position.shelf_id) = value.get<std::string>();
        } else if ((key == "unit_g" || key == "tolerance_g") && value.is_number()) {
          (key == "unit_g" ? position.unit_g : position.tolerance_g) = value.get<double>();
        } else {
          bad("unknown key or bad value '" + key + "'");
        }
      }
      if (position.shelf_id.empty() || position.sku.empty()) bad("shelf_id and sku are required");
      if (!(position.unit_g > 0 && position.unit_g <= 1'000'000)) bad("unit_g must be > 0");
      if (!(position.tolerance_g >= 0 && position.tolerance_g < position.unit_g / 2)) {
        bad("tolerance_g must be >= 0 and < unit_g / 2");
      }
      options.positions.emplace(name, std::move(position));
    }
  }
  if (options.positions.empty()) reader.fail("positions", "required: map position -> product");
  options.max_grams = reader.get_double("max_grams", options.max_grams, 1, 1e9);
  options.max_line_bytes =
      static_cast<std::size_t>(reader.get_int("max_line_bytes", 1024, 64, 1 << 20));
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

WeightShelfDecoder::WeightShelfDecoder(WeightShelfOptions options, DecoderContext context)
    : options_(std::move(options)), context_(std::move(context)) {
  for (const auto& [name, position] : options_.positions) state_.emplace(name, State{});
}

void WeightShelfDecoder::decode(const Frame& frame, DecodeOutput& out) {
  auto fail = [&](std::string_view reason, std::string message) {
    out.errors.push_back(detail::make_error(frame, reason, message));
  };
  const auto line = detail::line_text(frame, options_.max_line_bytes, out);
  if (!line || line->empty()) return;
  const std::string_view text = *line;
  std::string_view ts, position, grams_text;
  if (text.front() == '{') {
    if (std::string error = detail::scan_flat_json(text, members_); !error.empty()) {
      return fail("malformed", error);
    }
    for (const FlatMember& m : members_) {
      if (m.key == "ts" || m.key == "timestamp") {
        ts = m.text;
      } else if (m.key == "position") {
        position = m.text;
      } else if (m.key == "grams") {
        if (m.kind != FlatMember::Kind::kNumber) return fail("malformed", "field 'grams': not a number");
        grams_text = m.text;
      }
    }
  } else {
    const std::size_t first = text.find(',');
    const std::size_t second = first == std::string_view::npos ? first : text.find(',', first + 1);
    if (second == std::string_view::npos || text.find(',', second + 1) != std::string_view::npos) {
      return fail("malformed", "expected ts,position,grams");
    }
    ts = text.substr(0, first);
    position = text.substr(first + 1, second - first - 1);
    grams_text = text.substr(second + 1);
  }
  if (position.empty()) return fail("malformed", "missing field 'position'");
  if (grams_text.empty()) return fail("malformed", "missing field 'grams'");
  UnixMillis occurred_at = frame.received_at;
  if (!ts.empty()) {
    const auto parsed = detail::parse_device_time(ts);
    if (!parsed) return fail("malformed", "field 'ts': not a timestamp: '" + excerpt(ts) + "'");
    occurred_at = *parsed;
  }
  const auto grams = detail::parse_double(grams_text);
  if (!grams) return fail("malformed", "field 'grams': not a number: '" + excerpt(grams_text) + "'");
  if (std::fabs(*grams) > options_.max_grams) {
    return fail("out_of_range", "field 'grams' beyond max_grams " + std::to_string(options_.max_grams));
  }
  const auto spec = options_.positions.find(position);
  if (spec == options_.positions.end()) {
    return fail("unmapped", "position '" + excerpt(position) + "' is not in 'positions'");
  }
  State& state = state_.find(spec->first)->second;
  if (!state.has_baseline) {
    state.has_baseline = true;
    state.baseline_g = *grams;
    return;
  }
  const WeightPosition& product = spec->second;
  const double delta = *grams - state.baseline_g;
  const double magnitude = std::fabs(delta);
  if (magnitude <= product.tolerance_g) return;  // noise
  const double units = std::round(magnitude / product.unit_g);
  const double residual = std::fabs(magnitude - units * product.unit_g);
  state.baseline_g = *grams;
  if (units < 1 || residual > product.tolerance_g) {
    return fail("non_multiple", "position '" + spec->first + "': change of " +
                                    std::to_string(delta) + " g is not a multiple of unit_g " +
                                    std::to_string(product.unit_g) + " +- " +
                                    std::to_string(product.tolerance_g));
  }
  if (units > 10000) {
    return fail("out_of_range", "position '" + spec->first + "': more than 10000 units changed");
  }
  Event event = detail::make_event("shelf_pickup", Channel::kSensor, context_, occurred_at);
  nlohmann::json& p = event.properties;
  p["shelf_id"] = product.shelf_id;
  p["position"] = spec->first;
  p["sku"] = product.sku;
  p["action"] = delta < 0 ? "pickup" : "putback";
  p["quantity"] = static_cast<std::int64_t>(units);
  p["detector"] = "weight";
  p["weight_delta_g"] = delta;
  // 1 for an exact multiple, falling linearly to 0.5 at the tolerance's edge.
  p["confidence"] = product.tolerance_g > 0 ? 1.0 - 0.5 * residual / product.tolerance_g : 1.0;
  out.events.push_back(std::move(event));
}

}  // namespace aisle::adapters
