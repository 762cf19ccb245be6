#include "collector/segments/segment_options.hpp"

#include <set>

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

Error bad(const std::string& key, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "segments." + key + ": " + message);
}

Result<std::int64_t> duration(const json& value, const std::string& key) {
  if (value.is_number_unsigned()) return static_cast<std::int64_t>(value.get<std::uint64_t>());
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text.size() > 2 && text.ends_with("ms")) {
      try {
        std::size_t used = 0;
        const long long n = std::stoll(text.substr(0, text.size() - 2), &used);
        if (used == text.size() - 2 && n >= 0) return static_cast<std::int64_t>(n);
      } catch (...) {
      }
    } else if (auto ms = parse_duration_ms(text)) {
      return *ms;
    }
  }
  return bad(key, "must be a duration (\"250ms\", \"30s\", \"10m\", \"24h\", \"90d\") or integer "
                  "milliseconds");
}

Result<std::size_t> positive(const json& value, const std::string& key) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) {
    return bad(key, "must be a positive integer");
  }
  return static_cast<std::size_t>(value.get<std::uint64_t>());
}

}  // namespace

Result<SegmentOptions> parse_segment_options(const json& section) {
  SegmentOptions o;
  if (section.is_null()) return o;
  if (!section.is_object()) return bad("", "must be an object");
  for (const auto& [key, value] : section.items()) {
    auto size_field = [&](std::size_t& out) -> Status {
      auto n = positive(value, key);
      if (!n) return n.error();
      out = *n;
      return ok_status();
    };
    auto ms_field = [&](std::chrono::milliseconds& out) -> Status {
      auto n = duration(value, key);
      if (!n) return n.error();
      out = std::chrono::milliseconds(*n);
      return ok_status();
    };
    Status s;
    if (key == "enabled" || key == "synchronous_full") {
      if (!value.is_boolean()) return bad(key, "must be true or false");
      (key == "enabled" ? o.enabled : o.synchronous_full) = value.get<bool>();
    } else if (key == "path" || key == "definitions_dir") {
      if (!value.is_string()) return bad(key, "must be a string");
      (key == "path" ? o.path : o.definitions_dir) = value.get<std::string>();
    } else if (key == "allowed_lateness") {
      s = ms_field(o.allowed_lateness);
    } else if (key == "tick_interval") {
      s = ms_field(o.tick_interval);
      if (s && o.tick_interval.count() == 0) return bad(key, "must be at least 1ms");
    } else if (key == "session_timeout") {
      s = ms_field(o.session_timeout);
      if (s && o.session_timeout.count() == 0) return bad(key, "must be at least 1ms");
    } else if (key == "max_window") {
      std::chrono::milliseconds w{0};
      s = ms_field(w);
      if (s && w.count() < 1000) return bad(key, "must be at least 1s");
      o.definition.max_window_ms = w.count();
    } else if (key == "buckets_per_window") {
      s = size_field(o.buckets_per_window);
    } else if (key == "max_distinct_values") {
      s = size_field(o.max_distinct_values);
    } else if (key == "max_segments") {
      s = size_field(o.max_segments);
    } else if (key == "max_versions") {
      s = size_field(o.max_versions);
    } else if (key == "max_page_members") {
      s = size_field(o.max_page_members);
    } else if (key == "backfill_batch_size") {
      s = size_field(o.backfill_batch_size);
    } else if (key == "max_definition_bytes") {
      s = size_field(o.definition.max_bytes);
    } else if (key == "max_condition_nodes") {
      s = size_field(o.definition.max_nodes);
    } else if (key == "max_condition_depth") {
      s = size_field(o.definition.max_depth);
    } else {
      return bad(key, "unknown key");
    }
    if (!s) return s.error();
  }
  return o;
}

}  // namespace aisle::collector::segments
