// Pattern parser: ECMA-262 regular expression syntax with the "u" flag -> Ast.
#include <algorithm>

#include "common/schema/validator_regex_ast.hpp"
#include "common/schema/validator_unicode.hpp"

namespace aisle::schema::regex_detail {
namespace {

constexpr std::uint32_t kMaxRepeat = 1000;  // {n,m} bounds
constexpr int kMaxGroupDepth = 64;          // nesting of (...)
constexpr char32_t kMaxCodePoint = 0x10FFFF;

using Ranges = std::vector<std::pair<char32_t, char32_t>>;
using Op = Pattern::Op;

Ranges complement(Ranges ranges) {
  std::sort(ranges.begin(), ranges.end());
  Ranges out;
  char32_t next = 0;
  for (const auto& [first, last] : ranges) {
    if (first > next) out.emplace_back(next, first - 1);
    if (last + 1 > next) next = last + 1;
  }
  if (next <= kMaxCodePoint) out.emplace_back(next, kMaxCodePoint);
  return out;
}

const Ranges& digit_ranges() {
  static const Ranges ranges = {{'0', '9'}};
  return ranges;
}
const Ranges& word_ranges() {
  static const Ranges ranges = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
  return ranges;
}
// ECMA-262 WhiteSpace and LineTerminator.
const Ranges& space_ranges() {
  static const Ranges ranges = {
      {0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
      {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
  return ranges;
}

bool is_word(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

int hex_value(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

}  // namespace

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

namespace {

// Recursive descent over the pattern's code points. Errors stop the parse: the first one is kept
// in error_ and every parse_* returns false.

class Parser {
 public:
  Parser(std::string_view source, std::vector<Pattern::CharSet>& sets) : sets_(sets) {
    std::size_t pos = 0;
    while (pos < source.size()) text_.push_back(unicode::decode_utf8(source, pos));
  }

  bool parse(Ast& out) {
    if (!parse_disjunction(out, 0)) return false;
    if (pos_ < text_.size()) return fail("unmatched ')'");
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message) + " at offset " + std::to_string(pos_);
    return false;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char32_t peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : 0xFFFFFFFF;
  }
  bool eat(char32_t c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  std::uint32_t add_set(Pattern::CharSet set) {
    set.finish();
    sets_.push_back(std::move(set));
    return static_cast<std::uint32_t>(sets_.size() - 1);
  }

  bool parse_disjunction(Ast& out, int depth) {
    Ast first;
    if (!parse_alternative(first, depth)) return false;
    if (peek() != '|') {
      out = std::move(first);
      return true;
    }
    out.kind = Ast::Kind::kAlt;
    out.children.push_back(std::move(first));
    while (eat('|')) {
      Ast next;
      if (!parse_alternative(next, depth)) return false;
      out.children.push_back(std::move(next));
    }
    return true;
  }

  bool parse_alternative(Ast& out, int depth) {
    out.kind = Ast::Kind::kConcat;
    while (!at_end() && peek() != '|' && peek() != ')') {
      Ast term;
      if (!parse_term(term, depth)) return false;
      out.children.push_back(std::move(term));
    }
    return true;
  }

  // Reads "{n}", "{n,}" or "{n,m}" at the current position without consuming it unless valid.
  bool read_braces(std::uint32_t& min, std::uint32_t& max) {
    std::size_t p = pos_ + 1;
    auto number = [&](std::uint32_t& value) {
      const std::size_t start = p;
      std::uint64_t v = 0;
      while (p < text_.size() && text_[p] >= '0' && text_[p] <= '9') {
        v = std::min<std::uint64_t>(v * 10 + (text_[p] - '0'), kInfinite - 1ULL);
        ++p;
      }
      value = static_cast<std::uint32_t>(v);
      return p > start;
    };
    if (!number(min)) return false;
    max = min;
    if (p < text_.size() && text_[p] == ',') {
      ++p;
      if (!number(max)) max = kInfinite;
    }
    if (p >= text_.size() || text_[p] != '}') return false;
    pos_ = p + 1;
    return true;
  }

  bool parse_term(Ast& out, int depth) {
    bool quantifiable = true;
    if (!parse_atom(out, depth, quantifiable)) return false;
    std::uint32_t min = 0;
    std::uint32_t max = 0;
    const char32_t c = peek();
    if (c == '*') {
      ++pos_, min = 0, max = kInfinite;
    } else if (c == '+') {
      ++pos_, min = 1, max = kInfinite;
    } else if (c == '?') {
      ++pos_, min = 0, max = 1;
    } else if (c != '{' || !read_braces(min, max)) {
      return true;
    }
    eat('?');  // lazy: the same language for a yes/no match
    if (!quantifiable) return fail("nothing to repeat");
    if (min > max) return fail("numbers out of order in {} quantifier");
    if (min > kMaxRepeat || (max != kInfinite && max > kMaxRepeat)) {
      return fail("repetition count above " + std::to_string(kMaxRepeat));
    }
    Ast repeat;
    repeat.kind = Ast::Kind::kRepeat;
    repeat.min = min;
    repeat.max = max;
    repeat.children.push_back(std::move(out));
    out = std::move(repeat);
    return true;
  }

  bool parse_atom(Ast& out, int depth, bool& quantifiable) {
    const char32_t c = peek();
    switch (c) {
      case '^':
      case '$':
        ++pos_;
        out.kind = Ast::Kind::kAssert;
        out.assertion = c == '^' ? Op::kBegin : Op::kEnd;
        quantifiable = false;
        return true;
      case '.': {
        ++pos_;
        Pattern::CharSet set;
        set.ranges = {{0x0A, 0x0A}, {0x0D, 0x0D}, {0x2028, 0x2029}};
        set.negated = true;
        out.kind = Ast::Kind::kSet;
        out.set = add_set(std::move(set));
        return true;
      }
      case '(': return parse_group(out, depth);
      case ')': return fail("unmatched ')'");
      case '[': return parse_class(out);
      case '*':
      case '+':
      case '?': return fail("nothing to repeat");
      case '{': {
        std::uint32_t min = 0;
        std::uint32_t max = 0;
        const std::size_t saved = pos_;
        if (read_braces(min, max)) {
          pos_ = saved;
          return fail("nothing to repeat");
        }
        ++pos_;
        out.kind = Ast::Kind::kChar;
        out.ch = c;
        return true;
      }
      case '\\': return parse_atom_escape(out, quantifiable);
      default:
        ++pos_;
        out.kind = Ast::Kind::kChar;
        out.ch = c;
        return true;
    }
  }

  bool parse_group(Ast& out, int depth) {
    if (depth >= kMaxGroupDepth) return fail("groups nested deeper than 64");
    ++pos_;  // (
    if (eat('?')) {
      if (eat(':')) {
        // non-capturing
      } else if (peek() == '=' || peek() == '!') {
        return fail("lookahead is not supported");
      } else if (peek() == '<' && (peek(1) == '=' || peek(1) == '!')) {
        return fail("lookbehind is not supported");
      } else if (eat('<')) {
        while (!at_end() && peek() != '>') ++pos_;  // a group name: matching ignores it
        if (!eat('>')) return fail("unterminated group name");
      } else {
        return fail("invalid group");
      }
    }
    if (!parse_disjunction(out, depth + 1)) return false;
    if (!eat(')')) return fail("missing ')'");
    return true;
  }

  // \d \D \w \W \s \S \p{..} \P{..}: true (and `set` filled) when the escape is a class.
  bool parse_class_escape(Pattern::CharSet& set, bool& is_class) {
    const char32_t c = peek();
    is_class = true;
    switch (c) {
      case 'd': set.ranges = digit_ranges(); break;
      case 'D': set.ranges = complement(digit_ranges()); break;
      case 'w': set.ranges = word_ranges(); break;
      case 'W': set.ranges = complement(word_ranges()); break;
      case 's': set.ranges = space_ranges(); break;
      case 'S': set.ranges = complement(space_ranges()); break;
      case 'p':
      case 'P': {
        ++pos_;
        if (!eat('{')) return fail("\\p needs {property}");
        std::string name;
        while (!at_end() && peek() != '}') append_utf8(name, text_[pos_++]);
        if (!eat('}')) return fail("unterminated \\p{");
        if (name == "ASCII") {
          set.ranges = {{0, 0x7F}};
          if (c == 'P') set.ranges = complement(set.ranges);
          return true;
        }
        const auto categories = unicode::property_categories(name);
        if (!categories) return fail("unsupported Unicode property '" + name + "'");
        set.categories = c == 'p' ? *categories : (unicode::kAllCategories & ~*categories);
        return true;
      }
      default: is_class = false; return true;
    }
    ++pos_;
    return true;
  }

  // A character escape after '\' (the backslash is consumed): \t, \u{1F600}, \., ...
  bool parse_character_escape(char32_t& out, bool in_class) {
    const char32_t c = peek();
    if (at_end()) return fail("'\\' at end of pattern");
    ++pos_;
    switch (c) {
      case 't': out = '\t'; return true;
      case 'n': out = '\n'; return true;
      case 'v': out = '\v'; return true;
      case 'f': out = '\f'; return true;
      case 'r': out = '\r'; return true;
      case 'c': {
        const char32_t letter = peek();
        if ((letter >= 'a' && letter <= 'z') || (letter >= 'A' && letter <= 'Z')) {
          ++pos_;
          out = letter % 32;
          return true;
        }
        return fail("invalid \\c escape");
      }
      case '0':
        if (peek() >= '0' && peek() <= '9') return fail("octal escapes are not supported");
        out = 0;
        return true;
      case 'x': {
        const int high = hex_value(peek());
        const int low = hex_value(peek(1));
        if (high < 0 || low < 0) return fail("invalid \\x escape");
        pos_ += 2;
        out = static_cast<char32_t>(high * 16 + low);
        return true;
      }
      case 'u': return parse_unicode_escape(out);
      case 'b':
        if (in_class) {
          out = '\b';
          return true;
        }
        break;
      case '-':
        if (in_class) {
          out = '-';
          return true;
        }
        break;
      default: break;
    }
    if (c >= '1' && c <= '9') return fail("backreferences are not supported");
    if (c == 'k') return fail("named backreferences are not supported");
    if (c < 0x80 && !is_word(c)) {  // identity escape of a syntax character: \. \/ \\ \$ ...
      out = c;
      return true;
    }
    return fail("invalid escape");
  }

  bool parse_unicode_escape(char32_t& out) {
    if (eat('{')) {
      char32_t value = 0;
      std::size_t digits = 0;
      while (hex_value(peek()) >= 0) {
        value = value * 16 + static_cast<char32_t>(hex_value(peek()));
        ++pos_;
        if (++digits > 8 || value > kMaxCodePoint) return fail("invalid \\u{} escape");
      }
      if (digits == 0 || !eat('}')) return fail("invalid \\u{} escape");
      out = value;
      return true;
    }
    auto four = [&](char32_t& value) {
      value = 0;
      for (std::size_t i = 0; i < 4; ++i) {
        const int digit = hex_value(peek(i));
        if (digit < 0) return false;
        value = value * 16 + static_cast<char32_t>(digit);
      }
      pos_ += 4;
      return true;
    };
    if (!four(out)) return fail("invalid \\u escape");
    // A surrogate pair written as two escapes is one code point.
    if (out >= 0xD800 && out <= 0xDBFF && peek() == '\\' && peek(1) == 'u') {
      const std::size_t saved = pos_;
      pos_ += 2;
      char32_t low = 0;
      if (four(low) && low >= 0xDC00 && low <= 0xDFFF) {
        out = 0x10000 + ((out - 0xD800) << 10) + (low - 0xDC00);
      } else {
        pos_ = saved;
      }
    }
    return true;
  }

  bool parse_atom_escape(Ast& out, bool& quantifiable) {
    ++pos_;  // backslash
    if (eat('b') || (peek() == 'B' && eat('B'))) {
      out.kind = Ast::Kind::kAssert;
      out.assertion = text_[pos_ - 1] == 'b' ? Op::kWordBoundary : Op::kNotWordBoundary;
      quantifiable = false;
      return true;
    }
    Pattern::CharSet set;
    bool is_class = false;
    if (!parse_class_escape(set, is_class)) return false;
    if (is_class) {
      out.kind = Ast::Kind::kSet;
      out.set = add_set(std::move(set));
      return true;
    }
    out.kind = Ast::Kind::kChar;
    return parse_character_escape(out.ch, /*in_class=*/false);
  }

  // One class atom: a code point (`is_set` false) or a class escape merged into `set`.
  bool parse_class_atom(Pattern::CharSet& set, char32_t& code_point, bool& is_set) {
    is_set = false;
    if (peek() != '\\') {
      code_point = text_[pos_++];
      return true;
    }
    ++pos_;
    Pattern::CharSet escape;
    if (!parse_class_escape(escape, is_set)) return false;
    if (is_set) {
      set.ranges.insert(set.ranges.end(), escape.ranges.begin(), escape.ranges.end());
      set.categories |= escape.categories;
      return true;
    }
    return parse_character_escape(code_point, /*in_class=*/true);
  }

  bool parse_class(Ast& out) {
    ++pos_;  // [
    Pattern::CharSet set;
    set.negated = eat('^');
    while (true) {
      if (at_end()) return fail("unterminated character class");
      if (eat(']')) break;
      char32_t first = 0;
      bool first_is_set = false;
      if (!parse_class_atom(set, first, first_is_set)) return false;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
        ++pos_;  // -
        char32_t last = 0;
        bool last_is_set = false;
        if (!parse_class_atom(set, last, last_is_set)) return false;
        if (first_is_set || last_is_set) return fail("a class escape cannot bound a range");
        if (first > last) return fail("range out of order in character class");
        set.ranges.emplace_back(first, last);
        continue;
      }
      if (!first_is_set) set.ranges.emplace_back(first, first);
    }
    out.kind = Ast::Kind::kSet;
    out.set = add_set(std::move(set));
    return true;
  }

  std::vector<char32_t> text_;
  std::size_t pos_ = 0;
  std::vector<Pattern::CharSet>& sets_;
  std::string error_;
};

// Emits the Pike VM program for a syntax tree; stops (overflow_) past kMaxProgramSize.

}  // namespace

bool parse_pattern(std::string_view source, std::vector<Pattern::CharSet>& sets, Ast& out,
                   std::string& error) {
  Parser parser(source, sets);
  if (parser.parse(out)) return true;
  error = parser.error();
  return false;
}

}  // namespace aisle::schema::regex_detail
