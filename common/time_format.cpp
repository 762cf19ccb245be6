#include "common/time_format.hpp"

#include <cstdint>

namespace aisle {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian
// calendar, no time-zone database needed.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

void put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Reads exactly `width` digits at text[pos]; false if any is not a digit.
bool read_digits(std::string_view text, size_t pos, int width, unsigned& value) {
  if (pos + static_cast<size_t>(width) > text.size()) return false;
  value = 0;
  for (int i = 0; i < width; ++i) {
    const char c = text[pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

}  // namespace

void append_rfc3339_ms(std::string& out, UnixMillis ms) {
  std::int64_t days = ms / 86'400'000;
  std::int64_t rem = ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  std::int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  if (year < 0) year = 0;
  if (year > 9999) year = 9999;
  char buf[24];
  put_digits(buf, static_cast<unsigned>(year), 4);
  buf[4] = '-';
  put_digits(buf + 5, month, 2);
  buf[7] = '-';
  put_digits(buf + 8, day, 2);
  buf[10] = 'T';
  const auto millis_of_day = static_cast<unsigned>(rem);
  put_digits(buf + 11, millis_of_day / 3'600'000, 2);
  buf[13] = ':';
  put_digits(buf + 14, millis_of_day / 60'000 % 60, 2);
  buf[16] = ':';
  put_digits(buf + 17, millis_of_day / 1000 % 60, 2);
  buf[19] = '.';
  put_digits(buf + 20, millis_of_day % 1000, 3);
  buf[23] = 'Z';
  out.append(buf, sizeof buf);
}

std::string format_rfc3339_ms(UnixMillis ms) {
  std::string out;
  out.reserve(24);
  append_rfc3339_ms(out, ms);
  return out;
}

std::optional<UnixMillis> parse_rfc3339(std::string_view t) {
  unsigned year, month, day, hour, minute, second;
  if (!read_digits(t, 0, 4, year) || t.size() < 20 || t[4] != '-' ||
      !read_digits(t, 5, 2, month) || t[7] != '-' || !read_digits(t, 8, 2, day)) {
    return std::nullopt;
  }
  if (t[10] != 'T' && t[10] != 't' && t[10] != ' ') return std::nullopt;
  if (!read_digits(t, 11, 2, hour) || t[13] != ':' || !read_digits(t, 14, 2, minute) ||
      t[16] != ':' || !read_digits(t, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  unsigned millis = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int digits = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + static_cast<unsigned>(t[pos] - '0');
      ++digits;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  if (pos >= t.size()) return std::nullopt;
  std::int64_t offset_minutes = 0;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    ++pos;
  } else if (t[pos] == '+' || t[pos] == '-') {
    const int sign = t[pos] == '-' ? -1 : 1;
    unsigned oh, om;
    if (!read_digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' ||
        !read_digits(t, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = sign * static_cast<std::int64_t>(oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t seconds_of_day = hour * 3600LL + minute * 60LL + second;
  return (days * 86400 + seconds_of_day - offset_minutes * 60) * 1000 + millis;
}

}  // namespace aisle
