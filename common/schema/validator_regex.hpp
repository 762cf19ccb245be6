// The regular expressions of "pattern" and "patternProperties".
//
// JSON Schema patterns are ECMA-262 regular expressions; this engine implements them with the
// "u" flag's semantics (code points, \p{...}) and matches in linear time (a Pike VM: no
// backtracking, no recursion over the subject), so neither a hostile pattern nor a hostile
// instance string can make validation slow or overflow the stack.
//
// Supported: literals and escapes (\t \n \v \f \r \0 \cX \xHH \uHHHH \u{H...}, identity escapes of
// syntax characters), ".", classes [...] with ranges and negation, \d \D \w \W \s \S,
// \p{General_Category} / \P{...}, groups (capturing, (?:...), (?<name>...)), alternation,
// greedy and lazy quantifiers (* + ? {n} {n,} {n,m}, counts up to 1000), anchors ^ $ and \b \B.
// Refused at compile (an error, never a silent mismatch): lookahead and lookbehind,
// backreferences, Unicode properties other than General_Category (scripts, binary properties).
// Matching is unanchored (a search), as ECMA-262's RegExp.prototype.test and JSON Schema require.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace aisle::schema {

class Pattern {
 public:
  // Fails (kInvalidArgument) with a message naming the problem for invalid or unsupported syntax
  // and for patterns that would compile to an unreasonably large program.
  static Result<Pattern> compile(std::string_view source);

  // True when the pattern matches somewhere in `subject` (UTF-8). Thread-safe.
  bool search(std::string_view subject) const;

  const std::string& source() const { return source_; }

  // One set of code points: ranges, General_Category bits, optionally negated. Public only so
  // that the compiler in the .cpp can build it.
  struct CharSet {
    std::vector<std::pair<char32_t, char32_t>> ranges;  // sorted by first, may overlap
    std::uint32_t categories = 0;                       // bit (1 << GeneralCategory)
    bool negated = false;
    std::uint64_t ascii[2] = {0, 0};  // membership of U+0000..U+007F, negation applied
    bool contains(char32_t code_point) const;
    void finish();  // computes `ascii`
  };

  enum class Op : std::uint8_t {
    kChar,   // consume code point `a`
    kSet,    // consume a code point in sets_[a]
    kSplit,  // continue at `a` and at `b` (`a` first)
    kJmp,    // continue at `a`
    kMatch,  // success
    kBegin,  // ^
    kEnd,    // $
    kWordBoundary,
    kNotWordBoundary,
  };
  struct Inst {
    Op op;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
  };

  // kSequence: a ^-anchored sequence of single-character steps with counts, such as
  // "^[a-z0-9][a-z0-9_-]{0,63}$" or "^[0-9]{14}$", where no variable-count step can match a
  // character that could start what follows it. Greedy matching is then exact, and search()
  // is one pass without the VM.
  struct Step {
    std::uint64_t ascii[2] = {0, 0};  // the ASCII code points the step matches
    std::uint32_t set = 0;            // sets_[set] for other code points, when has_set
    bool has_set = false;
    char32_t ch = 0;  // a single non-ASCII code point, when !has_set
    std::uint32_t min = 1;
    std::uint32_t max = 1;
  };

 private:
  // How search() runs: literal fast paths skip the VM for patterns like "X_", "^abc", "^abc$";
  // kSequence for anchored runs of character classes (Step).
  enum class Mode : std::uint8_t { kVm, kContains, kStartsWith, kEquals, kSequence };

  bool search_sequence(std::string_view subject) const;

  std::string source_;
  Mode mode_ = Mode::kVm;
  std::string literal_;  // for the literal modes
  std::vector<Step> steps_;
  bool sequence_end_ = false;  // kSequence: the pattern ends with $
  std::vector<Inst> program_;
  std::vector<CharSet> sets_;
  bool anchored_ = false;     // starts with ^ on every path: only try position 0
  bool word_checks_ = false;  // uses \b or \B: the VM must look at neighbouring code points
};

}  // namespace aisle::schema
