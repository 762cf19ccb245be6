#include "collector/segments/learned/option_reader.hpp"

#include <cmath>

namespace aisle::collector::segments {

OptionReader::OptionReader(std::string section, const nlohmann::json& json)
    : section_(std::move(section)), json_(json) {
  if (!json_.is_null() && !json_.is_object()) errors_.push_back(section_ + ": must be an object");
}

const nlohmann::json* OptionReader::find(const std::string& key) {
  known_.insert(key);
  if (!json_.is_object()) return nullptr;
  auto it = json_.find(key);
  return it == json_.end() ? nullptr : &*it;
}

void OptionReader::fail(const std::string& key, const std::string& message) {
  errors_.push_back(section_ + "." + key + ": " + message);
}

bool OptionReader::get_bool(const std::string& key, bool fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) {
    fail(key, "must be true or false");
    return fallback;
  }
  return v->get<bool>();
}

std::int64_t OptionReader::get_int(const std::string& key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number_integer()) {
    fail(key, "must be an integer");
    return fallback;
  }
  const auto value = v->get<std::int64_t>();
  if (value < min || value > max) {
    fail(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                  std::to_string(value));
    return fallback;
  }
  return value;
}

double OptionReader::get_double(const std::string& key, double fallback, double min, double max,
                                bool exclusive) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) {
    fail(key, "must be a number");
    return fallback;
  }
  const auto value = v->get<double>();
  const bool inside = exclusive ? (value > min && value < max) : (value >= min && value <= max);
  if (!std::isfinite(value) || !inside) {
    fail(key, std::string("must be in ") + (exclusive ? "(" : "[") + std::to_string(min) + ", " +
                  std::to_string(max) + (exclusive ? ")" : "]") + ", got " + v->dump());
    return fallback;
  }
  return value;
}

std::string OptionReader::get_enum(const std::string& key, const std::string& fallback,
                                   const std::vector<std::string>& allowed) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (v->is_string()) {
    for (const auto& a : allowed) {
      if (a == v->get_ref<const std::string&>()) return a;
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
  fail(key, "must be one of " + list);
  return fallback;
}

Status OptionReader::finish() {
  if (json_.is_object()) {
    for (const auto& [key, value] : json_.items()) {
      if (!known_.count(key)) errors_.push_back(section_ + "." + key + ": unknown key");
    }
  }
  if (errors_.empty()) return {};
  return make_error(ErrorCode::kInvalidArgument, errors_.front());
}

}  // namespace aisle::collector::segments
