// Internal to the pattern engine (validator_regex*.cpp): the syntax tree the parser builds and
// the compiler turns into a Pike VM program.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/schema/validator_regex.hpp"

namespace aisle::schema::regex_detail {

inline constexpr std::uint32_t kInfinite = std::numeric_limits<std::uint32_t>::max();

struct Ast {
  enum class Kind : std::uint8_t { kEmpty, kChar, kSet, kConcat, kAlt, kRepeat, kAssert };
  Kind kind = Kind::kEmpty;
  char32_t ch = 0;                              // kChar
  std::uint32_t set = 0;                        // kSet: index into the pattern's sets
  Pattern::Op assertion = Pattern::Op::kBegin;  // kAssert
  std::uint32_t min = 0;                        // kRepeat
  std::uint32_t max = 0;                        // kRepeat; kInfinite for no bound
  std::vector<Ast> children;                    // kConcat, kAlt, kRepeat (one child)
};

// Parses `source` (ECMA-262 syntax, "u" flag); character classes go to `sets`. On failure
// returns false with `error` describing the first problem.
bool parse_pattern(std::string_view source, std::vector<Pattern::CharSet>& sets, Ast& out,
                   std::string& error);

void append_utf8(std::string& out, char32_t c);

}  // namespace aisle::schema::regex_detail
