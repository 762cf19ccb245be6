#include "common/schema/validator_unicode.hpp"

#include <algorithm>
#include <string>

namespace aisle::schema::unicode {
namespace {

constexpr std::uint32_t bit(GeneralCategory category) {
  return 1u << static_cast<unsigned>(category);
}

using G = GeneralCategory;

struct PropertyName {
  std::string_view name;
  std::uint32_t mask;
};

constexpr std::uint32_t kLetters =
    bit(G::kLu) | bit(G::kLl) | bit(G::kLt) | bit(G::kLm) | bit(G::kLo);
constexpr std::uint32_t kMarks = bit(G::kMn) | bit(G::kMc) | bit(G::kMe);
constexpr std::uint32_t kNumbers = bit(G::kNd) | bit(G::kNl) | bit(G::kNo);
constexpr std::uint32_t kPunctuation =
    bit(G::kPc) | bit(G::kPd) | bit(G::kPs) | bit(G::kPe) | bit(G::kPi) | bit(G::kPf) | bit(G::kPo);
constexpr std::uint32_t kSymbols = bit(G::kSm) | bit(G::kSc) | bit(G::kSk) | bit(G::kSo);
constexpr std::uint32_t kSeparators = bit(G::kZs) | bit(G::kZl) | bit(G::kZp);
constexpr std::uint32_t kOthers =
    bit(G::kCc) | bit(G::kCf) | bit(G::kCs) | bit(G::kCo) | bit(G::kCn);

// ECMA-262 table "Value aliases and canonical values for the Unicode property General_Category".
// clang-format off
constexpr PropertyName kNames[] = {
    {"L", kLetters}, {"Letter", kLetters},
    {"LC", bit(G::kLu) | bit(G::kLl) | bit(G::kLt)},
    {"Cased_Letter", bit(G::kLu) | bit(G::kLl) | bit(G::kLt)},
    {"Lu", bit(G::kLu)}, {"Uppercase_Letter", bit(G::kLu)},
    {"Ll", bit(G::kLl)}, {"Lowercase_Letter", bit(G::kLl)},
    {"Lt", bit(G::kLt)}, {"Titlecase_Letter", bit(G::kLt)},
    {"Lm", bit(G::kLm)}, {"Modifier_Letter", bit(G::kLm)},
    {"Lo", bit(G::kLo)}, {"Other_Letter", bit(G::kLo)},
    {"M", kMarks}, {"Mark", kMarks}, {"Combining_Mark", kMarks},
    {"Mn", bit(G::kMn)}, {"Nonspacing_Mark", bit(G::kMn)},
    {"Mc", bit(G::kMc)}, {"Spacing_Mark", bit(G::kMc)},
    {"Me", bit(G::kMe)}, {"Enclosing_Mark", bit(G::kMe)},
    {"N", kNumbers}, {"Number", kNumbers},
    {"Nd", bit(G::kNd)}, {"Decimal_Number", bit(G::kNd)}, {"digit", bit(G::kNd)},
    {"Nl", bit(G::kNl)}, {"Letter_Number", bit(G::kNl)},
    {"No", bit(G::kNo)}, {"Other_Number", bit(G::kNo)},
    {"P", kPunctuation}, {"Punctuation", kPunctuation}, {"punct", kPunctuation},
    {"Pc", bit(G::kPc)}, {"Connector_Punctuation", bit(G::kPc)},
    {"Pd", bit(G::kPd)}, {"Dash_Punctuation", bit(G::kPd)},
    {"Ps", bit(G::kPs)}, {"Open_Punctuation", bit(G::kPs)},
    {"Pe", bit(G::kPe)}, {"Close_Punctuation", bit(G::kPe)},
    {"Pi", bit(G::kPi)}, {"Initial_Punctuation", bit(G::kPi)},
    {"Pf", bit(G::kPf)}, {"Final_Punctuation", bit(G::kPf)},
    {"Po", bit(G::kPo)}, {"Other_Punctuation", bit(G::kPo)},
    {"S", kSymbols}, {"Symbol", kSymbols},
    {"Sm", bit(G::kSm)}, {"Math_Symbol", bit(G::kSm)},
    {"Sc", bit(G::kSc)}, {"Currency_Symbol", bit(G::kSc)},
    {"Sk", bit(G::kSk)}, {"Modifier_Symbol", bit(G::kSk)},
    {"So", bit(G::kSo)}, {"Other_Symbol", bit(G::kSo)},
    {"Z", kSeparators}, {"Separator", kSeparators},
    {"Zs", bit(G::kZs)}, {"Space_Separator", bit(G::kZs)},
    {"Zl", bit(G::kZl)}, {"Line_Separator", bit(G::kZl)},
    {"Zp", bit(G::kZp)}, {"Paragraph_Separator", bit(G::kZp)},
    {"C", kOthers}, {"Other", kOthers},
    {"Cc", bit(G::kCc)}, {"Control", bit(G::kCc)}, {"cntrl", bit(G::kCc)},
    {"Cf", bit(G::kCf)}, {"Format", bit(G::kCf)},
    {"Cs", bit(G::kCs)}, {"Surrogate", bit(G::kCs)},
    {"Co", bit(G::kCo)}, {"Private_Use", bit(G::kCo)},
    {"Cn", bit(G::kCn)}, {"Unassigned", bit(G::kCn)},
    {"Any", kAllCategories}, {"Assigned", kAllCategories & ~bit(G::kCn)},
};
// clang-format on

}  // namespace

GeneralCategory general_category(char32_t code_point) {
  if (code_point > 0x10FFFF) return GeneralCategory::kCn;
  const std::uint32_t key = (static_cast<std::uint32_t>(code_point) << 5) | 31u;
  const std::uint32_t* end = kCategoryRuns + kCategoryRunCount;
  const std::uint32_t* run = std::upper_bound(kCategoryRuns, end, key);
  // kCategoryRuns[0] starts at U+0000, so `run` is never the first entry.
  return static_cast<GeneralCategory>(*(run - 1) & 31u);
}

std::optional<std::uint32_t> property_categories(std::string_view name) {
  for (const std::string_view prefix : {"General_Category=", "gc="}) {
    if (name.substr(0, prefix.size()) == prefix) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  for (const auto& entry : kNames) {
    if (entry.name == name) return entry.mask;
  }
  return std::nullopt;
}

char32_t decode_utf8(std::string_view text, std::size_t& pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    ++pos;
    return 0xFFFD;
  }
  if (pos + length > text.size()) {
    ++pos;
    return 0xFFFD;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    value = (value << 6) | (next & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    ++pos;
    return 0xFFFD;
  }
  pos += length;
  return value;
}

}  // namespace aisle::schema::unicode
