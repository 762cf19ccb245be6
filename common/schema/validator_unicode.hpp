// Unicode helpers for the validator: UTF-8 decoding (maxLength counts code points; patterns
// match code points) and General_Category lookups for \p{...} in patterns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace aisle::schema::unicode {

// Unicode General_Category values; the order is the one of the generated table.
// clang-format off
enum class GeneralCategory : std::uint8_t {
  kLu, kLl, kLt, kLm, kLo, kMn, kMc, kMe, kNd, kNl, kNo, kPc, kPd, kPs, kPe,
  kPi, kPf, kPo, kSm, kSc, kSk, kSo, kZs, kZl, kZp, kCc, kCf, kCs, kCo, kCn,
};
// clang-format on
inline constexpr std::uint32_t kAllCategories = (1u << 30) - 1;

// Generated (validator_unicode_data.cpp): sorted runs of (first code point << 5) | category.
extern const std::uint32_t kCategoryRuns[];
extern const std::size_t kCategoryRunCount;

GeneralCategory general_category(char32_t code_point);

// The set of categories a property name of \p{...} stands for, as a bit mask of
// (1 << GeneralCategory): "L", "Letter", "Lu", "Uppercase_Letter", "gc=Nd",
// "General_Category=Punctuation", "Any", "Assigned". nullopt for other properties (scripts,
// binary properties): the pattern is refused rather than matched wrongly.
std::optional<std::uint32_t> property_categories(std::string_view name);

// Decodes the code point at `pos` and advances `pos` past it. Malformed UTF-8 yields U+FFFD and
// advances by one byte, so every input terminates.
char32_t decode_utf8(std::string_view text, std::size_t& pos);

// Number of code points (what JSON Schema's minLength / maxLength count).
inline std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace aisle::schema::unicode
