// Normalization of identifiers before they are pseudonymized, so that one person hashes to the
// same value in every store whatever way a producer typed the identifier (docs/privacy.md), and
// truncation of client IP addresses. Shared by the agent (the edge for store traffic) and the
// collector (the edge for web and mobile events). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace aisle::pii {

struct PhoneRules {
  // Country calling code (digits, no '+') given to national numbers ("030 1234567"); empty:
  // national numbers are refused.
  std::string default_country_code;
  // National trunk prefix dropped before the country code is added ("0" in most of Europe; empty
  // for countries that keep it in E.164, such as Italy).
  std::string trunk_prefix = "0";
};

// Trims ASCII whitespace at both ends.
std::string_view trim(std::string_view text);

// Trimmed and lowercased; refuses what cannot be an address (no '@', empty local part or domain,
// whitespace or control characters inside, more than 254 bytes). The error says why.
Result<std::string> normalize_email(std::string_view raw);

// E.164 ("+4930123456"): trims; drops spaces, '-', '.', '/' and parentheses (and a written
// trunk prefix "(0)" in an international number); "00" becomes '+';
// a national number gets the default country code (after its trunk prefix is dropped). Refuses
// letters and other characters, a '+' that is not first, and digit counts outside 7..15.
Result<std::string> normalize_phone(std::string_view raw, const PhoneRules& rules);

// Keeps the first `ipv4_prefix` bits of an IPv4 address (and of an IPv4-mapped IPv6 address) or
// `ipv6_prefix` bits of an IPv6 address, zeroing the rest: "203.0.113.77" -> "203.0.113.0" at 24.
// Returns "" for text that is not an IP address (it is then removed rather than kept raw).
std::string truncate_ip(std::string_view ip, int ipv4_prefix, int ipv6_prefix);

}  // namespace aisle::pii
