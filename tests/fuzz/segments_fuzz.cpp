// libFuzzer target for segment definitions (collector/segments/segment_definition.hpp).
//
// Each input is parsed as a definition (bounded JSON parse, schema validation, condition tree).
// parse must return a definition or an error naming a JSON path, never crash or hang. A
// definition that parses has every windowed feature exercised on a fixed event: matching, adding,
// value, expiry and pruning must hold their invariants (a count never negative, the next expiry
// after `now`), otherwise the target traps.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/segments/segment_definition.hpp"
#include "collector/segments/window_state.hpp"

namespace {

using aisle::collector::segments::Condition;
using aisle::collector::segments::Feature;
using aisle::collector::segments::FeatureState;
using aisle::collector::segments::NodeKind;

void exercise(const Condition& c, const aisle::Event& event) {
  if (c.kind == NodeKind::kFeature || c.kind == NodeKind::kRecency) {
    Feature f;
    f.spec = c.feature;
    f.granularity_ms = c.feature.window_ms
                           ? aisle::collector::segments::window_granularity_ms(c.feature.window_ms, 60)
                           : 1000;
    FeatureState state;
    if (aisle::collector::segments::feature_matches(f, event)) {
      aisle::collector::segments::feature_add(state, f, event);
    }
    const aisle::UnixMillis now = event.occurred_at + 1;
    auto value = aisle::collector::segments::feature_value(state, f, now);
    if (value && c.kind == NodeKind::kFeature && *value < 0 &&
        c.feature.aggregate == aisle::collector::segments::Aggregate::kCount) {
      std::abort();
    }
    const auto next = aisle::collector::segments::feature_next_expiry(state, f, now);
    if (next <= now) std::abort();
    aisle::collector::segments::feature_prune(state, f, now);
  }
  for (const auto& child : c.children) exercise(child, event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto def = aisle::collector::segments::parse_segment_definition_text(text);
  if (!def) {
    if (def.error().message.empty()) std::abort();
    return 0;
  }
  aisle::Event event;
  event.event_id = "018bcfe5-6800-7000-8000-000000000001";
  event.type = "product_view";
  event.occurred_at = 1'700'000'000'000;
  event.source.store_id = "store-1";
  event.properties = {{"category", "coffee"}, {"price", 120.5}, {"x", 3}, {"k", "p"},
                      {"campaign", {{"source", "mail"}}}};
  exercise(def->condition, event);
  return 0;
}
