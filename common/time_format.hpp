// RFC 3339 timestamps: the canonical form is UTC with milliseconds, "2026-11-28T13:11:25.123Z".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace aisle {

// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ". Years 0000..9999.
std::string format_rfc3339_ms(UnixMillis ms);
// Appends the same form to `out` without allocating a temporary.
void append_rfc3339_ms(std::string& out, UnixMillis ms);

// Parses an RFC 3339 date-time ("T" or "t" or " " separator, "Z"/"z" or a numeric offset,
// optional fraction of any length, truncated to milliseconds) and normalizes it to UTC.
// Returns nullopt when the text is not a valid RFC 3339 date-time (leap second 60 is accepted
// and folded into the next second, as POSIX time does).
std::optional<UnixMillis> parse_rfc3339(std::string_view text);

}  // namespace aisle
