// Checkers for the "format" keyword when it is an assertion (CompileOptions::format_assertion).
//
// Each checker takes the string's UTF-8 bytes and implements the RFC the JSON Schema
// specification names for that format. Only ASCII digits count as digits anywhere.
#pragma once

#include <optional>
#include <string_view>

namespace aisle::schema {

enum class Format {
  kDateTime,      // RFC 3339 date-time: "2024-05-01T12:30:00Z", offset required, leap seconds
  kDate,          // RFC 3339 full-date: "2024-02-29"
  kTime,          // RFC 3339 full-time: "12:30:00.5+02:00"
  kEmail,         // RFC 5321 Mailbox: dot-atom or quoted local part; host name or address literal
  kHostname,      // RFC 1123 host name (ASCII labels)
  kIpv4,          // dotted quad, no leading zeros
  kIpv6,          // RFC 4291 text form, optional trailing dotted quad, no zone id
  kUri,           // RFC 3986 URI (scheme required)
  kUriReference,  // RFC 3986 URI-reference (relative allowed)
  kUuid,          // RFC 4122 8-4-4-4-12 hex, any case
  kRegex,         // a pattern this validator can compile (see validator_regex.hpp)
};

// nullopt for a format name Aisle does not check.
std::optional<Format> format_from_name(std::string_view name);
const char* format_name(Format format);

bool format_matches(Format format, std::string_view text);

}  // namespace aisle::schema
