// Canonical events the simulated kiosks and web shop send over HTTP (schemas/aisle/*).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"

namespace aisle::sim {

// A deterministic UUIDv7 for an event at `at` from two random words.
std::string sim_event_id(UnixMillis at, std::uint64_t a, std::uint64_t b);

// The event's JSON text: schema aisle/<type>/jsonschema/1-0-0, consent granted for analytics and
// personalization (the simulated shoppers opted in; marketing denied).
std::string sim_event_text(const std::string& type, const std::string& event_id, UnixMillis at,
                           const nlohmann::json& source, const nlohmann::json& identities,
                           const nlohmann::json& properties);

}  // namespace aisle::sim
