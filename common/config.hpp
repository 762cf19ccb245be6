// Daemon configuration files: JSON with comments, checked against a JSON Schema by the same
// validator as events, so a typo names its path ("/mqtt/ca_file: required property is missing").
// A bad config is a startup error: daemons exit with kExitConfig (78, EX_CONFIG), which the
// systemd units list in RestartPreventExitStatus.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace aisle {

inline constexpr int kExitConfig = 78;

// Thrown only at startup, caught in main() and turned into exit code 78.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads `path`, strips comments, validates against `schema_document` (draft 2020-12) and returns
// the document. The error message names the file and every failing JSON Pointer, one per line.
Result<nlohmann::json> load_config_file(const std::string& path,
                                        const nlohmann::json& schema_document);
// Same for text already in memory; `origin` names it in messages.
Result<nlohmann::json> parse_config_text(std::string_view text, std::string_view origin,
                                         const nlohmann::json& schema_document);

// Durations in config are strings like "250ms", "30s", "5m", "2h", "7d" (or integers meaning
// milliseconds). Nullopt when malformed.
std::optional<std::int64_t> parse_duration_ms(const nlohmann::json& value);
// Sizes are "64KiB", "10MiB", "1GiB", "512B" (or integers meaning bytes).
std::optional<std::int64_t> parse_size_bytes(const nlohmann::json& value);

// Schema fragments for the two string forms above, to embed in config schemas.
nlohmann::json duration_schema();
nlohmann::json size_schema();

}  // namespace aisle
