#include "common/wire/segment_change_wire.hpp"

#include <limits>

#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace aisle::wire {
namespace {

using nlohmann::json;

json to_json(const SegmentChangeMessage& c) {
  return {{"type", segment_change_type(c.entered)},
          {"change_id", c.change_id},
          {"profile_id", c.profile_id},
          {"segment_id", c.segment_id},
          {"version", c.version},
          {"time", format_rfc3339_ms(c.at)},
          {"trigger_event_id", c.trigger_event_id},
          {"reason", c.reason},
          {"store_id", c.store_id},
          {"agent_id", c.agent_id}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Reads a string member; `required` ones must be present and non-empty.
bool read_text(const json& j, const char* key, bool required, std::size_t max_bytes,
               std::string& out, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!required) return true;
    error = std::string("'") + key + "' is required";
    return false;
  }
  if (!it->is_string()) {
    error = std::string("'") + key + "' must be a string";
    return false;
  }
  const auto& text = it->get_ref<const std::string&>();
  if (required && text.empty()) {
    error = std::string("'") + key + "' must not be empty";
    return false;
  }
  if (text.size() > max_bytes) {
    error = std::string("'") + key + "' is " + std::to_string(text.size()) + " bytes, limit " +
            std::to_string(max_bytes);
    return false;
  }
  out = text;
  return true;
}

Result<SegmentChangeMessage> from_json(const json& j, const SegmentChangeLimits& limits) {
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "not a JSON object");
  SegmentChangeMessage c;
  std::string error;
  std::string type;
  if (!read_text(j, "type", true, limits.max_field_bytes, type, error)) {
    return make_error(ErrorCode::kInvalidArgument, error);
  }
  if (type == "segment_entered") {
    c.entered = true;
  } else if (type == "segment_exited") {
    c.entered = false;
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "'type' must be \"segment_entered\" or \"segment_exited\"");
  }
  const std::size_t max = limits.max_field_bytes;
  if (!read_text(j, "change_id", true, max, c.change_id, error) ||
      !read_text(j, "profile_id", true, max, c.profile_id, error) ||
      !read_text(j, "segment_id", true, max, c.segment_id, error) ||
      !read_text(j, "trigger_event_id", false, max, c.trigger_event_id, error) ||
      !read_text(j, "reason", false, max, c.reason, error) ||
      !read_text(j, "store_id", false, max, c.store_id, error) ||
      !read_text(j, "agent_id", false, max, c.agent_id, error)) {
    return make_error(ErrorCode::kInvalidArgument, error);
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<std::int64_t>() < 0 ||
      version->get<std::int64_t>() > std::numeric_limits<std::uint32_t>::max()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'version' must be an integer from 0 to 4294967295");
  }
  c.version = static_cast<std::uint32_t>(version->get<std::int64_t>());
  auto time = j.find("time");
  std::optional<UnixMillis> at;
  if (time != j.end() && time->is_string()) at = parse_rfc3339(time->get_ref<const std::string&>());
  if (!at) return make_error(ErrorCode::kInvalidArgument, "'time' must be an RFC 3339 date-time");
  c.at = *at;
  return c;
}

}  // namespace

const char* segment_change_type(bool entered) {
  return entered ? "segment_entered" : "segment_exited";
}

std::string encode_segment_change(const SegmentChangeMessage& change) {
  return dump(to_json(change));
}

std::string encode_segment_changes(const std::vector<SegmentChangeMessage>& changes) {
  json array = json::array();
  for (const auto& c : changes) array.push_back(to_json(c));
  return dump(array);
}

Result<SegmentChangeMessage> decode_segment_change(std::string_view payload,
                                                   const SegmentChangeLimits& limits) {
  auto parsed = parse_json(payload, JsonLimits{limits.max_bytes, 4});
  if (!parsed) {
    return make_error(ErrorCode::kInvalidArgument, "segment change: " + parsed.error().message);
  }
  auto change = from_json(*parsed, limits);
  if (!change) {
    return make_error(ErrorCode::kInvalidArgument, "segment change: " + change.error().message);
  }
  return change;
}

Result<std::vector<SegmentChangeMessage>> decode_segment_changes(
    std::string_view payload, const SegmentChangeLimits& limits) {
  auto parsed = parse_json(payload, JsonLimits{limits.max_bytes, 4});
  if (!parsed) {
    return make_error(ErrorCode::kInvalidArgument, "segment changes: " + parsed.error().message);
  }
  std::vector<SegmentChangeMessage> out;
  if (parsed->is_object()) {
    auto change = from_json(*parsed, limits);
    if (!change) {
      return make_error(ErrorCode::kInvalidArgument, "segment change: " + change.error().message);
    }
    out.push_back(std::move(*change));
    return out;
  }
  if (!parsed->is_array()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "segment changes: not a JSON array or object");
  }
  if (parsed->size() > limits.max_changes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "segment changes: " + std::to_string(parsed->size()) + " changes, limit " +
                          std::to_string(limits.max_changes));
  }
  out.reserve(parsed->size());
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    auto change = from_json((*parsed)[i], limits);
    if (!change) {
      return make_error(ErrorCode::kInvalidArgument, "segment change [" + std::to_string(i) +
                                                         "]: " + change.error().message);
    }
    out.push_back(std::move(*change));
  }
  return out;
}

}  // namespace aisle::wire
