// SegmentOptions: the `segments` section of the collector configuration (docs/segments.md,
// "Configuration"). Every limit of the engine is here.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/segments/segment_definition.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

struct SegmentOptions {
  bool enabled = true;
  std::string path;             // segments.db; the lead defaults it to <data>/segments.db
  std::string definitions_dir;  // *.json loaded at start ("" = none); file name = segment id
  bool synchronous_full = false;  // membership is recomputed by the start-up replay anyway
  // Events that occurred more than this before the collector clock do not touch windows.
  std::chrono::milliseconds allowed_lateness{10LL * 60 * 1000};
  // How often the engine thread fires due window expiries and flushes membership to SQLite.
  std::chrono::milliseconds tick_interval{250};
  std::chrono::milliseconds session_timeout{30LL * 60 * 1000};
  std::size_t buckets_per_window = 60;   // granularity = window / this (at least 1 s)
  std::size_t max_distinct_values = 64;  // per distinct feature and profile
  std::size_t max_segments = 1000;       // active segments
  std::size_t max_versions = 1000;       // kept per segment
  std::size_t max_page_members = 1000;   // upper bound of /members?limit=
  std::size_t backfill_batch_size = 1000;  // replayed events applied per lock
  DefinitionLimits definition;           // sizes, nesting, longest window (90d)
};

// Parses the section (unknown keys are errors naming the key). Durations are "250ms", "10m"
// strings or integer milliseconds.
Result<SegmentOptions> parse_segment_options(const nlohmann::json& section);

}  // namespace aisle::collector::segments
