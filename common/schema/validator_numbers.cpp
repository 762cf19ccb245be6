// Number semantics of JSON Schema over nlohmann's three number representations.
#include <charconv>
#include <climits>
#include <cmath>

#include "common/schema/validator_node.hpp"

namespace aisle::schema::detail {
namespace {

__extension__ using Uint128 = unsigned __int128;

// Compares a double with an int64 without converting the integer to double (which rounds above
// 2^53): split the double into its integral part and its fraction.
int compare_double_int(double d, std::int64_t i) {
  if (d < -9.2233720368547758e18) return -1;
  if (d >= 9.2233720368547758e18) return 1;
  const double whole = std::trunc(d);
  const auto whole_int = static_cast<std::int64_t>(whole);
  if (whole_int != i) return whole_int < i ? -1 : 1;
  const double fraction = d - whole;
  return fraction < 0 ? -1 : (fraction > 0 ? 1 : 0);
}

int compare_double_uint(double d, std::uint64_t u) {
  if (d < 0) return -1;
  if (d >= 1.8446744073709552e19) return 1;
  const double whole = std::trunc(d);
  const auto whole_int = static_cast<std::uint64_t>(whole);
  if (whole_int != u) return whole_int < u ? -1 : 1;
  const double fraction = d - whole;
  return fraction > 0 ? 1 : 0;
}

int compare_int_uint(std::int64_t i, std::uint64_t u) {
  if (i < 0) return -1;
  const auto as_unsigned = static_cast<std::uint64_t>(i);
  return as_unsigned < u ? -1 : (as_unsigned > u ? 1 : 0);
}

template <typename T>
int three_way(T a, T b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

// |x| as mantissa * 10^exponent with the mantissa free of trailing zeros (0 is 0 * 10^0).
struct Decimal {
  std::uint64_t mantissa = 0;
  int exponent = 0;
};

Decimal normalize(std::uint64_t mantissa, int exponent) {
  if (mantissa == 0) return {};
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  return {mantissa, exponent};
}

// The shortest decimal that round-trips to `d` (what the schema author wrote, in practice).
Decimal to_decimal(double d) {
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), std::fabs(d), std::chars_format::scientific);
  // "d.ddddde[+-]xx"
  std::uint64_t mantissa = 0;
  int fraction_digits = 0;
  bool in_fraction = false;
  const char* p = buffer;
  for (; p < result.ptr && *p != 'e'; ++p) {
    if (*p == '.') {
      in_fraction = true;
    } else {
      mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
      fraction_digits += in_fraction;
    }
  }
  int exponent = 0;
  if (p < result.ptr) {
    const char* digits = p + 1;
    if (digits < result.ptr && *digits == '+') ++digits;  // from_chars accepts '-' only
    std::from_chars(digits, result.ptr, exponent);
  }
  return normalize(mantissa, exponent - fraction_digits);
}

Decimal to_decimal(const Json& value) {
  switch (value.type()) {
    case Json::value_t::number_unsigned: return normalize(value.get<std::uint64_t>(), 0);
    case Json::value_t::number_integer: {
      const auto i = value.get<std::int64_t>();
      // -(i + 1) + 1 avoids overflow for INT64_MIN.
      const std::uint64_t magnitude =
          i < 0 ? static_cast<std::uint64_t>(-(i + 1)) + 1 : static_cast<std::uint64_t>(i);
      return normalize(magnitude, 0);
    }
    default: return to_decimal(value.get<double>());
  }
}

// Raw number accessors: get_ptr only checks the type tag (get<T>() converts through from_json).
double as_double(const Json& v) {
  return *v.get_ptr<const Json::number_float_t*>();
}
std::int64_t as_int(const Json& v) {
  return *v.get_ptr<const Json::number_integer_t*>();
}
double as_double_value(const Json& v) {
  return as_double(v);
}
std::int64_t as_int_value(const Json& v) {
  return as_int(v);
}
std::uint64_t as_uint(const Json& v) {
  return *v.get_ptr<const Json::number_unsigned_t*>();
}

}  // namespace

int compare_numbers(const Json& a, const Json& b) {
  using T = Json::value_t;
  const T ta = a.type();
  const T tb = b.type();
  if (ta == T::number_float || tb == T::number_float) {
    if (ta == T::number_float && tb == T::number_float) {
      return three_way(as_double(a), as_double(b));
    }
    if (ta == T::number_float) {
      return tb == T::number_integer ? compare_double_int(as_double(a), as_int(b))
                                     : compare_double_uint(as_double(a), as_uint(b));
    }
    return -compare_numbers(b, a);
  }
  if (ta == T::number_integer && tb == T::number_integer) {
    return three_way(as_int(a), as_int(b));
  }
  if (ta == T::number_unsigned && tb == T::number_unsigned) {
    return three_way(as_uint(a), as_uint(b));
  }
  if (ta == T::number_integer) return compare_int_uint(as_int(a), as_uint(b));
  return -compare_int_uint(as_int(b), as_uint(a));
}

bool is_multiple_of(const Json& value, const Json& divisor) {
  if (value.is_number_float() && !std::isfinite(value.get<double>())) return false;
  // value = vm * 10^ve, divisor = dm * 10^de. With e = min(ve, de) both scale to integers
  // vm * 10^(ve-e) and dm * 10^(de-e); one of the two shifts is 0.
  const Decimal v = to_decimal(value);
  const Decimal d = to_decimal(divisor);
  if (v.mantissa == 0) return true;
  if (d.mantissa == 0) return false;
  if (v.exponent >= d.exponent) {
    // Is vm * 10^k divisible by dm? Multiply step by step modulo dm (k <= ~650 for doubles).
    Uint128 remainder = v.mantissa % d.mantissa;
    for (int k = v.exponent - d.exponent; k > 0 && remainder != 0; --k) {
      remainder = (remainder * 10) % d.mantissa;
    }
    return remainder == 0;
  }
  // Is vm divisible by dm * 10^k? vm < 2^64, so a divisor above it only divides 0.
  Uint128 scaled = d.mantissa;
  for (int k = d.exponent - v.exponent; k > 0; --k) {
    scaled *= 10;
    if (scaled > v.mantissa) return false;
  }
  return static_cast<Uint128>(v.mantissa) % scaled == 0;
}

std::uint8_t number_float_types(double value) {
  return std::isfinite(value) && std::trunc(value) == value ? (kNumberBit | kIntegerBit)
                                                            : kNumberBit;
}

void NumberLimit::set(const Json& number) {
  value = number;
  present = true;
  constexpr double kTwo53 = 9007199254740992.0;  // integers up to 2^53 are exact as double
  if (number.is_number_integer() && !number.is_number_unsigned()) {
    as_int = as_int_value(number);
    fits_int64 = true;
    as_double = static_cast<double>(as_int);
    exact_double = as_double >= -kTwo53 && as_double <= kTwo53;
  } else if (number.is_number_unsigned()) {
    const std::uint64_t u = as_uint(number);
    fits_int64 = u <= static_cast<std::uint64_t>(INT64_MAX);
    as_int = fits_int64 ? static_cast<std::int64_t>(u) : 0;
    as_double = static_cast<double>(u);
    exact_double = u <= static_cast<std::uint64_t>(kTwo53);
  } else {
    as_double = as_double_value(number);
    exact_double = true;
  }
}

std::string type_names(std::uint8_t mask) {
  static constexpr std::pair<std::uint8_t, const char*> kNames[] = {
      {kNullBit, "null"},      {kBooleanBit, "boolean"}, {kObjectBit, "object"},
      {kArrayBit, "array"},    {kNumberBit, "number"},   {kStringBit, "string"},
      {kIntegerBit, "integer"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(mask & bit)) continue;
    if (bit == kIntegerBit && (mask & kNumberBit)) continue;  // "number" covers it
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

}  // namespace aisle::schema::detail
