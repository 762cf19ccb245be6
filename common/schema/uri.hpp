// URI references (RFC 3986) as JSON Schema uses them: "$id" and "$ref" are resolved against the
// base URI of the schema resource that contains them.
//
// This is reference resolution only (split, merge, remove dot segments); it does not check that a
// string is a valid URI — format.hpp does that for the "uri" format.
#pragma once

#include <string>
#include <string_view>

namespace aisle::schema::uri {

// The five components of a URI reference (RFC 3986 appendix B). Absent and empty components
// differ ("http://x?" has an empty query), hence the has_ flags.
struct Components {
  std::string scheme;
  bool has_authority = false;
  std::string authority;
  std::string path;
  bool has_query = false;
  std::string query;
  bool has_fragment = false;
  std::string fragment;
};

// Splits any string into components; never fails (RFC 3986 appendix B's regular expression).
Components split(std::string_view reference);

// Joins components back into a string (RFC 3986 §5.3).
std::string recompose(const Components& parts);

// Resolves `reference` against the absolute URI `base` (RFC 3986 §5.2.2, strict). The scheme and
// the host are lower-cased; the fragment is kept as written.
std::string resolve(std::string_view base, std::string_view reference);

// The URI without its fragment ("http://x/y#/a" -> "http://x/y").
std::string_view strip_fragment(std::string_view uri);

// The raw fragment without '#', or "" when there is none.
std::string_view fragment_of(std::string_view uri);

// Decodes %XX escapes; malformed escapes are kept literally.
std::string percent_decode(std::string_view text);

}  // namespace aisle::schema::uri
