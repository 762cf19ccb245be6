// The `privacy` section of the agent config -> PrivacyOptions. The JSON Schema
// (agent/config_schema.json) has already checked names, types and ranges; this fills defaults.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "agent/privacy/privacy_options.hpp"
#include "common/result.hpp"

namespace aisle::agent::privacy {

// `outbox_path` places the consent cache beside the outbox when cache_path is not set.
Result<PrivacyOptions> parse_privacy_options(const nlohmann::json& privacy, std::string_view origin,
                                             const std::string& outbox_path);

// The consent cache's default path: "consent.db" in the outbox's directory.
std::string default_consent_cache_path(const std::string& outbox_path);

}  // namespace aisle::agent::privacy
