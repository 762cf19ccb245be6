#include "common/config.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/json_text.hpp"
#include "common/schema/validator.hpp"

namespace aisle {
namespace {

constexpr JsonLimits kConfigLimits{8 * 1024 * 1024, 64};

std::string describe(const schema::ValidationError& e) {
  // The validator points "required" errors at the missing property itself.
  if (e.keyword == "required") return e.instance_path + ": required property is missing";
  if (e.keyword == "additionalProperties" || e.keyword == "unevaluatedProperties") {
    return (e.instance_path.empty() ? "/" : e.instance_path) + ": " + e.message +
           " (unknown keys are errors)";
  }
  return (e.instance_path.empty() ? "/" : e.instance_path) + ": " + e.keyword + ": " + e.message;
}

// Splits "123ms" into 123 and "ms".
bool split_number_unit(std::string_view text, std::int64_t& number, std::string_view& unit) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return true;
}

}  // namespace

Result<nlohmann::json> parse_config_text(std::string_view text, std::string_view origin,
                                         const nlohmann::json& schema_document) {
  auto document = parse_json(text, kConfigLimits, /*allow_comments=*/true);
  if (!document) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) + ": " + document.error().message);
  }
  auto compiled = schema::CompiledSchema::compile(schema_document);
  if (!compiled) {
    return make_error(ErrorCode::kInternal,
                      "the built-in config schema does not compile: " + compiled.error().message);
  }
  std::vector<schema::ValidationError> errors;
  if (!(*compiled)->validate(*document, &errors)) {
    std::string message = std::string(origin) + ": invalid configuration";
    for (const auto& e : errors) message += "\n  " + describe(e);
    return make_error(ErrorCode::kInvalidArgument, message);
  }
  return document;
}

Result<nlohmann::json> load_config_file(const std::string& path,
                                        const nlohmann::json& schema_document) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open config file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config_text(buffer.str(), path, schema_document);
}

std::optional<std::int64_t> parse_duration_ms(const nlohmann::json& value) {
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    return value.get<std::int64_t>();
  }
  if (!value.is_string()) return std::nullopt;
  std::int64_t n;
  std::string_view unit;
  if (!split_number_unit(value.get_ref<const std::string&>(), n, unit)) return std::nullopt;
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  return std::nullopt;
}

std::optional<std::int64_t> parse_size_bytes(const nlohmann::json& value) {
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    return value.get<std::int64_t>();
  }
  if (!value.is_string()) return std::nullopt;
  std::int64_t n;
  std::string_view unit;
  if (!split_number_unit(value.get_ref<const std::string&>(), n, unit)) return std::nullopt;
  if (unit == "B" || unit.empty()) return n;
  if (unit == "KiB" || unit == "KB" || unit == "k") return n * 1024;
  if (unit == "MiB" || unit == "MB" || unit == "M") return n * 1024 * 1024;
  if (unit == "GiB" || unit == "GB" || unit == "G") return n * 1024 * 1024 * 1024;
  return std::nullopt;
}

nlohmann::json duration_schema() {
  return {{"oneOf",
           {{{"type", "integer"}, {"minimum", 0}},
            {{"type", "string"}, {"pattern", "^[0-9]+ ?(ms|s|m|h|d)$"}}}}};
}

nlohmann::json size_schema() {
  return {{"oneOf",
           {{{"type", "integer"}, {"minimum", 0}},
            {{"type", "string"}, {"pattern", "^[0-9]+ ?(B|KiB|MiB|GiB|KB|MB|GB|k|M|G)$"}}}}};
}

}  // namespace aisle
