// libFuzzer target: the agent's identifier normalizers (common/pii_normalize.hpp), which parse
// producer-typed e-mail addresses and phone numbers before they are hashed, and the client IP
// truncation. Checked properties: a normalized value normalizes to itself (so a value hashed at
// one store hashes the same after any second pass), an E.164 result is '+' and 7-15 digits, an
// e-mail result has no uppercase ASCII or whitespace, and a truncated IP is again an address
// that truncates to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/pii_normalize.hpp"

namespace {

using aisle::pii::normalize_email;
using aisle::pii::normalize_phone;
using aisle::pii::PhoneRules;
using aisle::pii::truncate_ip;

void check_phone(std::string_view input, const PhoneRules& rules) {
  auto phone = normalize_phone(input, rules);
  if (!phone) return;
  const std::string& p = *phone;
  if (p.size() < 8 || p.size() > 16 || p[0] != '+' || p[1] == '0') std::abort();
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (p[i] < '0' || p[i] > '9') std::abort();
  }
  auto again = normalize_phone(p, rules);
  if (!again || *again != p) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto email = normalize_email(input)) {
    for (char c : *email) {
      if ((c >= 'A' && c <= 'Z') || c == ' ' || c == '\t' || c == '\n') std::abort();
    }
    auto again = normalize_email(*email);
    if (!again || *again != *email) std::abort();
  }

  check_phone(input, PhoneRules{"49", "0"});
  check_phone(input, PhoneRules{"39", ""});
  check_phone(input, PhoneRules{"", "0"});

  const int v4 = size > 0 ? data[0] % 33 : 24;
  const int v6 = size > 1 ? data[1] % 129 : 48;
  const std::string ip = truncate_ip(input, v4, v6);
  if (!ip.empty() && truncate_ip(ip, v4, v6) != ip) std::abort();
  return 0;
}
