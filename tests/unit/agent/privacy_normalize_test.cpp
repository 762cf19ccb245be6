// Identifier normalization before hashing, and client IP truncation (common/pii_normalize).
#include <catch2/catch.hpp>

#include "common/pii_normalize.hpp"

namespace aisle::pii {
namespace {

std::string phone_or_error(std::string_view raw, const PhoneRules& rules) {
  auto r = normalize_phone(raw, rules);
  return r ? *r : "error: " + r.error().message;
}

}  // namespace

TEST_CASE("e-mail addresses are trimmed and lowercased", "[agent][privacy]") {
  CHECK(*normalize_email("  Jane.Doe@Example.COM \n") == "jane.doe@example.com");
  CHECK(*normalize_email("a+tag@b.nl") == "a+tag@b.nl");
}

TEST_CASE("text that cannot be an e-mail address is refused with the reason", "[agent][privacy]") {
  struct Case {
    const char* raw;
    const char* reason;
  };
  for (const Case& c :
       {Case{"", "empty"}, Case{"   ", "empty"}, Case{"jane.example.com", "no '@'"},
        Case{"@example.com", "nothing before '@'"}, Case{"jane@", "no domain after '@'"},
        Case{"jane doe@example.com", "contains ' '"}}) {
    INFO(c.raw);
    auto r = normalize_email(c.raw);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(c.reason) != std::string::npos);
  }
  CHECK_FALSE(normalize_email(std::string(250, 'a') + "@b.nl"));
}

TEST_CASE("phone numbers in every usual notation become the same E.164 number",
          "[agent][privacy]") {
  const PhoneRules de{"49", "0"};
  for (const char* raw : {"+49 30 1234567", "0049 30 1234567", "030 1234567", "030-123 45 67",
                          "(030) 123.45.67", " +49 (0)30/1234567 "}) {
    INFO(raw);
    CHECK(phone_or_error(raw, de) == "+49301234567");
  }
  const PhoneRules it{"39", ""};  // Italy keeps the leading 0 in E.164
  CHECK(phone_or_error("06 1234 5678", it) == "+390612345678");
}

TEST_CASE("what cannot be a phone number is refused with the reason", "[agent][privacy]") {
  const PhoneRules de{"49", "0"};
  CHECK(phone_or_error("", de) == "error: not a phone number: empty");
  CHECK(phone_or_error("call me", de).find("contains 'c'") != std::string::npos);
  CHECK(phone_or_error("030 1234567 ext 12", de).find("contains 'e'") != std::string::npos);
  CHECK(phone_or_error("49+301234567", de).find("'+' is only allowed first") != std::string::npos);
  CHECK(phone_or_error("+123", de).find("3 digits") != std::string::npos);
  CHECK(phone_or_error("+49 30 1234567 8901234", de).find("digits") != std::string::npos);
  CHECK(phone_or_error("+049301234567", de).find("country code starts with 0") !=
        std::string::npos);
  CHECK(phone_or_error("---", de) == "error: not a phone number: no digits");
  // A national number without a default country code cannot be placed.
  CHECK(phone_or_error("030 1234567", PhoneRules{"", "0"}).find("no default country code") !=
        std::string::npos);
  CHECK(phone_or_error("+49 30 1234567", PhoneRules{"", "0"}) == "+49301234567");
}

TEST_CASE("client IPs are truncated to the configured prefixes", "[agent][privacy]") {
  CHECK(truncate_ip("203.0.113.77", 24, 48) == "203.0.113.0");
  CHECK(truncate_ip("203.0.113.77", 16, 48) == "203.0.0.0");
  CHECK(truncate_ip("203.0.113.77", 20, 48) == "203.0.112.0");
  CHECK(truncate_ip("203.0.113.77", 32, 48) == "203.0.113.77");
  CHECK(truncate_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348", 24, 48) == "2001:db8:85a3::");
  CHECK(truncate_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348", 24, 56) == "2001:db8:85a3:800::");
  CHECK(truncate_ip("::ffff:198.51.100.23", 24, 48) == "::ffff:198.51.100.0");
  // Not an address: removed rather than kept raw.
  CHECK(truncate_ip("not-an-ip", 24, 48).empty());
  CHECK(truncate_ip("fe80::1%eth0", 24, 48).empty());
  CHECK(truncate_ip(std::string(100, '1'), 24, 48).empty());
}

}  // namespace aisle::pii
