#include "common/pii_normalize.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace aisle::pii {
namespace {

constexpr std::size_t kMaxEmailBytes = 254;  // RFC 5321 path limit
constexpr std::size_t kMinPhoneDigits = 7;   // shortest national plans plus country code
constexpr std::size_t kMaxPhoneDigits = 15;  // E.164

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

std::string describe(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xF];
  }
  return std::string("'") + c + "'";
}

// Zeroes every bit after the first `prefix` bits of `bytes`.
template <std::size_t N>
void mask(std::array<unsigned char, N>& bytes, std::size_t from_byte, int prefix) {
  for (std::size_t i = 0; from_byte + i < N; ++i) {
    const int bits_before = static_cast<int>(i) * 8;
    unsigned char& b = bytes[from_byte + i];
    if (prefix >= bits_before + 8) continue;
    if (prefix <= bits_before) {
      b = 0;
    } else {
      b = static_cast<unsigned char>(b & (0xFF << (8 - (prefix - bits_before))));
    }
  }
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

Result<std::string> normalize_email(std::string_view raw) {
  const std::string_view text = trim(raw);
  if (text.empty()) return invalid("not an e-mail address: empty");
  if (text.size() > kMaxEmailBytes) {
    return invalid("not an e-mail address: longer than " + std::to_string(kMaxEmailBytes) +
                   " bytes");
  }
  const auto at = text.rfind('@');
  if (at == std::string_view::npos) return invalid("not an e-mail address: no '@'");
  if (at == 0) return invalid("not an e-mail address: nothing before '@'");
  if (at + 1 == text.size()) return invalid("not an e-mail address: no domain after '@'");
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_space(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalid("not an e-mail address: contains " + describe(c));
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

Result<std::string> normalize_phone(std::string_view raw, const PhoneRules& rules) {
  std::string_view text = trim(raw);
  if (text.empty()) return invalid("not a phone number: empty");
  // "+49 (0)30 ..." writes the national trunk prefix inside an international number; it is not
  // dialled from abroad, so it is not part of the E.164 number.
  std::string without_trunk;
  if (text.starts_with('+') || text.starts_with("00")) {
    without_trunk.assign(text);
    for (auto at = without_trunk.find("(0)"); at != std::string::npos;
         at = without_trunk.find("(0)", at)) {
      without_trunk.erase(at, 3);
    }
    text = without_trunk;
  }
  std::string digits;
  digits.reserve(text.size());
  bool international = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_digit(c)) {
      digits.push_back(c);
    } else if (c == '+') {
      if (i != 0) return invalid("not a phone number: '+' is only allowed first");
      international = true;
    } else if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')') {
      continue;
    } else {
      return invalid("not a phone number: contains " + describe(c));
    }
  }
  if (digits.empty()) return invalid("not a phone number: no digits");
  if (!international && digits.starts_with("00")) {
    digits.erase(0, 2);
    international = true;
  }
  if (!international) {
    if (rules.default_country_code.empty()) {
      return invalid(
          "not a phone number in E.164: a national number and no default country code is "
          "configured (privacy.pseudonymization.phone_default_country_code)");
    }
    if (!rules.trunk_prefix.empty() && digits.starts_with(rules.trunk_prefix)) {
      digits.erase(0, rules.trunk_prefix.size());
    }
    digits.insert(0, rules.default_country_code);
  }
  if (digits.front() == '0') return invalid("not a phone number: country code starts with 0");
  if (digits.size() < kMinPhoneDigits || digits.size() > kMaxPhoneDigits) {
    return invalid("not a phone number: " + std::to_string(digits.size()) +
                   " digits with the country code (E.164 allows " +
                   std::to_string(kMinPhoneDigits) + " to " + std::to_string(kMaxPhoneDigits) +
                   ")");
  }
  return "+" + digits;
}

std::string truncate_ip(std::string_view ip, int ipv4_prefix, int ipv6_prefix) {
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) return {};
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, ip.data(), ip.size());
  char out[INET6_ADDRSTRLEN] = {};
  std::array<unsigned char, 4> v4{};
  if (inet_pton(AF_INET, text, v4.data()) == 1) {
    mask(v4, 0, ipv4_prefix);
    return inet_ntop(AF_INET, v4.data(), out, sizeof out) ? std::string(out) : std::string();
  }
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, text, v6.data()) != 1) return {};
  static constexpr std::array<unsigned char, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                  0, 0, 0, 0, 0xFF, 0xFF};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), v6.begin())) {
    // An IPv4 client seen through a dual-stack socket: its IPv4 rule applies.
    mask(v6, 12, ipv4_prefix);
  } else {
    mask(v6, 0, ipv6_prefix);
  }
  return inet_ntop(AF_INET6, v6.data(), out, sizeof out) ? std::string(out) : std::string();
}

}  // namespace aisle::pii
