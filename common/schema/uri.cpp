#include "common/schema/uri.hpp"

#include <cctype>

namespace aisle::schema::uri {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lower-cases the host of an authority ("User@Example.COM:80" -> "User@example.com:80"); user
// info is case-sensitive.
std::string normalize_authority(std::string_view authority) {
  const auto at = authority.rfind('@');
  const std::size_t host_start = at == std::string_view::npos ? 0 : at + 1;
  return std::string(authority.substr(0, host_start)) + lower(authority.substr(host_start));
}

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view input) {
  std::string output;
  while (!input.empty()) {
    if (input.substr(0, 3) == "../") {
      input.remove_prefix(3);
    } else if (input.substr(0, 2) == "./") {
      input.remove_prefix(2);
    } else if (input.substr(0, 3) == "/./") {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.substr(0, 4) == "/../" || input == "/..") {
      input = input.size() == 3 ? std::string_view("/") : input.substr(3);
      const auto slash = output.rfind('/');
      output.erase(slash == std::string::npos ? 0 : slash);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      // Move the first segment (with its leading '/', if any) to the output.
      const std::size_t next = input.find('/', input.front() == '/' ? 1 : 0);
      const std::size_t length = next == std::string_view::npos ? input.size() : next;
      output.append(input.substr(0, length));
      input.remove_prefix(length);
    }
  }
  return output;
}

// RFC 3986 §5.2.3.
std::string merge_paths(const Components& base, std::string_view reference_path) {
  if (base.has_authority && base.path.empty()) return "/" + std::string(reference_path);
  const auto slash = base.path.rfind('/');
  if (slash == std::string::npos) return std::string(reference_path);
  return base.path.substr(0, slash + 1) + std::string(reference_path);
}

}  // namespace

Components split(std::string_view reference) {
  Components parts;
  std::string_view rest = reference;
  // scheme: a non-empty run of characters other than ":/?#" followed by ':'.
  const auto scheme_end = rest.find_first_of(":/?#");
  if (scheme_end != std::string_view::npos && scheme_end > 0 && rest[scheme_end] == ':') {
    parts.scheme = std::string(rest.substr(0, scheme_end));
    rest.remove_prefix(scheme_end + 1);
  }
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    const auto end = rest.find_first_of("/?#");
    parts.has_authority = true;
    parts.authority = std::string(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  const auto path_end = rest.find_first_of("?#");
  parts.path = std::string(rest.substr(0, path_end));
  rest.remove_prefix(path_end == std::string_view::npos ? rest.size() : path_end);
  if (!rest.empty() && rest.front() == '?') {
    rest.remove_prefix(1);
    const auto end = rest.find('#');
    parts.has_query = true;
    parts.query = std::string(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  if (!rest.empty() && rest.front() == '#') {
    parts.has_fragment = true;
    parts.fragment = std::string(rest.substr(1));
  }
  return parts;
}

std::string recompose(const Components& parts) {
  std::string out;
  if (!parts.scheme.empty()) out += parts.scheme + ":";
  if (parts.has_authority) out += "//" + parts.authority;
  out += parts.path;
  if (parts.has_query) out += "?" + parts.query;
  if (parts.has_fragment) out += "#" + parts.fragment;
  return out;
}

std::string resolve(std::string_view base, std::string_view reference) {
  const Components r = split(reference);
  const Components b = split(base);
  Components t;
  if (!r.scheme.empty()) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.has_authority) {
      t.has_authority = true;
      t.authority = r.authority;
      t.path = remove_dot_segments(r.path);
      t.has_query = r.has_query;
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.has_query = r.has_query || b.has_query;
        t.query = r.has_query ? r.query : b.query;
      } else {
        t.path = r.path.front() == '/' ? remove_dot_segments(r.path)
                                       : remove_dot_segments(merge_paths(b, r.path));
        t.has_query = r.has_query;
        t.query = r.query;
      }
      t.has_authority = b.has_authority;
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
    t.has_fragment = r.has_fragment;
    t.fragment = r.fragment;
  }
  t.scheme = lower(t.scheme);
  if (t.has_authority) t.authority = normalize_authority(t.authority);
  return recompose(t);
}

std::string_view strip_fragment(std::string_view uri) {
  return uri.substr(0, uri.find('#'));
}

std::string_view fragment_of(std::string_view uri) {
  const auto hash = uri.find('#');
  return hash == std::string_view::npos ? std::string_view() : uri.substr(hash + 1);
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex(text[i + 1]);
      const int low = hex(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace aisle::schema::uri
