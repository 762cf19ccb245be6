#include "common/time_format.hpp"

#include <catch2/catch.hpp>

using aisle::format_rfc3339_ms;
using aisle::parse_rfc3339;

TEST_CASE("timestamps format as UTC with milliseconds", "[common][time]") {
  CHECK(format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339_ms(1764325000123) == "2025-11-28T10:16:40.123Z");
  CHECK(format_rfc3339_ms(951782400000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(format_rfc3339_ms(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("RFC 3339 parsing normalizes offsets and fractions to UTC milliseconds",
          "[common][time]") {
  CHECK(parse_rfc3339("2025-11-28T10:16:40.123Z") == 1764325000123);
  CHECK(parse_rfc3339("2025-11-28T11:16:40.123+01:00") == 1764325000123);
  CHECK(parse_rfc3339("2025-11-28T05:46:40.123456-04:30") == 1764325000123);
  CHECK(parse_rfc3339("2025-11-28t10:16:40z") == 1764325000000);
  CHECK(parse_rfc3339("2025-11-28T10:16:40.1Z") == 1764325000100);
}

TEST_CASE("malformed timestamps are refused", "[common][time]") {
  for (const char* bad : {"", "2025-11-28", "2025-11-28T10:16:40", "2025-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2025-11-28T24:00:00Z", "2025-11-28T10:16:40.Z",
                          "2025-11-28T10:16:40+0100", "2025-11-28T10:16:40Zjunk",
                          "20251128T101640Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}

TEST_CASE("formatting and parsing round-trip over a wide range", "[common][time]") {
  for (aisle::UnixMillis ms = -86'400'000LL * 365 * 60; ms < 86'400'000LL * 365 * 80;
       ms += 86'400'000LL * 37 + 3'600'017) {
    INFO(ms);
    CHECK(parse_rfc3339(format_rfc3339_ms(ms)) == ms);
  }
}
