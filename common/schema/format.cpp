#include "common/schema/format.hpp"

#include <array>
#include <cstdint>

#include "common/schema/validator_regex.hpp"

namespace aisle::schema {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Reads exactly `count` ASCII digits at `text[pos]`.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (!is_digit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// RFC 3339 full-date: YYYY-MM-DD.
bool is_date(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  return text.size() == 10 && read_digits(text, 0, 4, year) && text[4] == '-' &&
         read_digits(text, 5, 2, month) && text[7] == '-' && read_digits(text, 8, 2, day) &&
         month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM). Second 60 (a leap second) is valid only
// when the time is 23:59:60 in UTC.
bool is_time(std::string_view text) {
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!read_digits(text, 0, 2, hour) || text.size() < 9 || text[2] != ':' ||
      !read_digits(text, 3, 2, minute) || text[5] != ':' || !read_digits(text, 6, 2, second)) {
    return false;
  }
  std::size_t pos = 8;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    if (pos == start) return false;
  }
  if (pos >= text.size()) return false;  // the offset is required
  int offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    if (pos + 1 != text.size()) return false;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int offset_hour = 0;
    int offset_minute = 0;
    if (text.size() != pos + 6 || !read_digits(text, pos + 1, 2, offset_hour) ||
        text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, offset_minute) || offset_hour > 23 ||
        offset_minute > 59) {
      return false;
    }
    offset_minutes = (offset_hour * 60 + offset_minute) * (text[pos] == '+' ? 1 : -1);
  } else {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (second == 60) {
    const int utc = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    return utc == 23 * 60 + 59;
  }
  return true;
}

bool is_date_time(std::string_view text) {
  return text.size() > 11 && (text[10] == 'T' || text[10] == 't') && is_date(text.substr(0, 10)) &&
         is_time(text.substr(11));
}

bool is_ipv4(std::string_view text) {
  int parts = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = pos;
    int value = 0;
    while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    const std::size_t length = pos - start;
    if (length == 0 || value > 255 || (length > 1 && text[start] == '0')) return false;
    ++parts;
    if (pos == text.size()) return parts == 4;
    if (text[pos] != '.' || parts == 4) return false;
    ++pos;
  }
}

// Counts the 16-bit groups of one side of "::" ("1:2", "ffff:1.2.3.4"); -1 when malformed. An
// IPv4 tail counts as two groups and is allowed only when `last` (the end of the address).
int ipv6_groups(std::string_view text, bool last) {
  if (text.empty()) return 0;
  int groups = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = std::min(text.find(':', pos), text.size());
    const std::string_view group = text.substr(pos, end - pos);
    if (end == text.size() && last && group.find('.') != std::string_view::npos) {
      return is_ipv4(group) ? groups + 2 : -1;
    }
    if (group.empty() || group.size() > 4) return -1;
    for (const char c : group) {
      if (!is_hex(c)) return -1;
    }
    ++groups;
    if (end == text.size()) return groups;
    pos = end + 1;
  }
}

bool is_ipv6(std::string_view text) {
  const auto gap = text.find("::");
  if (gap == std::string_view::npos) return ipv6_groups(text, true) == 8;
  if (text.find("::", gap + 1) != std::string_view::npos) return false;
  const std::string_view tail = text.substr(gap + 2);
  const int head_groups = ipv6_groups(text.substr(0, gap), false);
  const int tail_groups = ipv6_groups(tail, true);
  return head_groups >= 0 && tail_groups >= 0 && head_groups + tail_groups <= 7;
}

bool is_hostname(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = std::min(text.find('.', pos), text.size());
    const std::string_view label = text.substr(pos, end - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    }
    // IDNA2008: "--" in positions 3-4 is reserved for A-labels ("xn--").
    if (label.size() >= 4 && label.substr(2, 2) == "--" &&
        !((label[0] == 'x' || label[0] == 'X') && (label[1] == 'n' || label[1] == 'N'))) {
      return false;
    }
    if (end == text.size()) return true;
    pos = end + 1;
  }
}

bool is_atext(char c) {
  return is_alpha(c) || is_digit(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_email(std::string_view text) {
  const auto at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) return false;
  const std::string_view local = text.substr(0, at);
  const std::string_view domain = text.substr(at + 1);
  if (local.size() > 64) return false;
  if (local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
      const char c = local[i];
      if (c == '\\') {
        if (i + 2 >= local.size() || local[i + 1] < 32 || local[i + 1] > 126) return false;
        ++i;
      } else if (c < 32 || c > 126 || c == '"') {
        return false;
      }
    }
  } else {
    if (local.front() == '.' || local.back() == '.') return false;
    for (std::size_t i = 0; i < local.size(); ++i) {
      if (local[i] == '.' ? local[i + 1] == '.' : !is_atext(local[i])) return false;
    }
  }
  if (domain.front() == '[') {
    if (domain.back() != ']') return false;
    const std::string_view literal = domain.substr(1, domain.size() - 2);
    const std::string_view tag = literal.substr(0, 5);  // "IPv6:", case-insensitive
    if (tag.size() == 5 && (tag[0] == 'I' || tag[0] == 'i') && (tag[1] == 'P' || tag[1] == 'p') &&
        (tag[2] == 'v' || tag[2] == 'V') && tag.substr(3) == "6:") {
      return is_ipv6(literal.substr(5));
    }
    return is_ipv4(literal);
  }
  return is_hostname(domain);
}

bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(char c) {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Checks that every character of `text` is unreserved, a sub-delim, one of `extra`, or a
// complete %XX escape.
bool only_uri_chars(std::string_view text, std::string_view extra) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool is_authority(std::string_view authority) {
  const auto at = authority.find('@');
  if (at != std::string_view::npos) {
    if (!only_uri_chars(authority.substr(0, at), ":")) return false;
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view literal = authority.substr(1, close - 1);
    const bool future = !literal.empty() && (literal[0] == 'v' || literal[0] == 'V');
    if (future) {
      const auto dot = literal.find('.');
      if (dot == std::string_view::npos || dot < 2 || dot + 1 == literal.size()) return false;
      for (std::size_t i = 1; i < dot; ++i) {
        if (!is_hex(literal[i])) return false;
      }
      if (!only_uri_chars(literal.substr(dot + 1), ":")) return false;
    } else if (!is_ipv6(literal)) {
      return false;
    }
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    const auto colon = authority.find(':');
    if (!only_uri_chars(authority.substr(0, colon), "")) return false;
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
  }
  for (const char c : port) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// RFC 3986 URI (`require_scheme`) or URI-reference.
bool is_uri(std::string_view text, bool require_scheme) {
  const auto scheme_end = text.find_first_of(":/?#");
  bool has_scheme = false;
  if (scheme_end != std::string_view::npos && text[scheme_end] == ':') {
    const std::string_view scheme = text.substr(0, scheme_end);
    if (scheme.empty() || !is_alpha(scheme.front())) return false;
    for (const char c : scheme) {
      if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
    }
    has_scheme = true;
    text.remove_prefix(scheme_end + 1);
  }
  if (require_scheme && !has_scheme) return false;
  const auto hash = text.find('#');
  if (hash != std::string_view::npos) {
    if (!only_uri_chars(text.substr(hash + 1), ":@/?")) return false;
    text = text.substr(0, hash);
  }
  const auto question = text.find('?');
  if (question != std::string_view::npos) {
    if (!only_uri_chars(text.substr(question + 1), ":@/?")) return false;
    text = text.substr(0, question);
  }
  if (text.substr(0, 2) == "//") {
    text.remove_prefix(2);
    const auto slash = std::min(text.find('/'), text.size());
    if (!is_authority(text.substr(0, slash))) return false;
    text.remove_prefix(slash);
  }
  // Without a scheme, the first segment of a relative path must not contain ':' (the check for
  // a scheme above already sent such references through the scheme branch).
  return only_uri_chars(text, ":@/");
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  return true;
}

struct FormatName {
  std::string_view name;
  Format format;
};

constexpr FormatName kFormats[] = {
    {"date-time", Format::kDateTime},
    {"date", Format::kDate},
    {"time", Format::kTime},
    {"email", Format::kEmail},
    {"hostname", Format::kHostname},
    {"ipv4", Format::kIpv4},
    {"ipv6", Format::kIpv6},
    {"uri", Format::kUri},
    {"uri-reference", Format::kUriReference},
    {"uuid", Format::kUuid},
    {"regex", Format::kRegex},
};

}  // namespace

std::optional<Format> format_from_name(std::string_view name) {
  for (const auto& entry : kFormats) {
    if (entry.name == name) return entry.format;
  }
  return std::nullopt;
}

const char* format_name(Format format) {
  for (const auto& entry : kFormats) {
    if (entry.format == format) return entry.name.data();
  }
  return "?";
}

bool format_matches(Format format, std::string_view text) {
  switch (format) {
    case Format::kDateTime: return is_date_time(text);
    case Format::kDate: return is_date(text);
    case Format::kTime: return is_time(text);
    case Format::kEmail: return is_email(text);
    case Format::kHostname: return is_hostname(text);
    case Format::kIpv4: return is_ipv4(text);
    case Format::kIpv6: return is_ipv6(text);
    case Format::kUri: return is_uri(text, true);
    case Format::kUriReference: return is_uri(text, false);
    case Format::kUuid: return is_uuid(text);
    case Format::kRegex: return Pattern::compile(text).ok();
  }
  return false;
}

}  // namespace aisle::schema
