// parse_propensity_options: the `segments.propensity` configuration section.
#include "collector/segments/learned/option_reader.hpp"
#include "collector/segments/learned/propensity_model.hpp"

namespace aisle::collector::segments {

Result<PropensityOptions> parse_propensity_options(const nlohmann::json& section) {
  OptionReader reader("segments.propensity", section);
  PropensityOptions o;
  o.enabled = reader.get_bool("enabled", o.enabled);
  o.session_gap_ms = reader.get_int("session_gap_ms", o.session_gap_ms, 1000, 86'400'000);
  o.max_profiles =
      static_cast<std::size_t>(reader.get_int("max_profiles", 100'000, 1, 100'000'000));
  o.max_examples_per_session =
      static_cast<std::size_t>(reader.get_int("max_examples_per_session", 20, 1, 1000));
  o.hash_bits = static_cast<int>(reader.get_int("hash_bits", o.hash_bits, 8, 26));
  o.learning_rate = reader.get_double("learning_rate", o.learning_rate, 0.0, 10.0, true);
  o.l2 = reader.get_double("l2", o.l2, 0.0, 1.0);
  o.eval_window = static_cast<std::size_t>(reader.get_int("eval_window", 10'000, 10, 1'000'000));
  o.gauge_every = static_cast<std::size_t>(reader.get_int("gauge_every", 5000, 1, 1'000'000));
  o.gauge_interval_ms = reader.get_int("gauge_interval_ms", o.gauge_interval_ms, 100, 86'400'000);
  o.save_interval_ms = reader.get_int("save_interval_ms", o.save_interval_ms, 0, 7 * 86'400'000LL);
  o.max_versions = static_cast<std::size_t>(reader.get_int("max_versions", 50, 1, 10'000));
  o.max_sweep_per_event =
      static_cast<std::size_t>(reader.get_int("max_sweep_per_event", 16, 1, 10'000));
  o.seed = static_cast<std::uint64_t>(reader.get_int("seed", 1, 0, INT64_MAX));
  if (auto status = reader.finish(); !status) return status.error();
  return o;
}

}  // namespace aisle::collector::segments
