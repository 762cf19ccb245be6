#include "common/event.hpp"

#include <algorithm>
#include <charconv>

namespace aisle {

const char* channel_name(Channel channel) {
  switch (channel) {
    case Channel::kWeb: return "web";
    case Channel::kMobile: return "mobile";
    case Channel::kKiosk: return "kiosk";
    case Channel::kPos: return "pos";
    case Channel::kSensor: return "sensor";
  }
  return "web";
}

std::optional<Channel> parse_channel(std::string_view text) {
  if (text == "web") return Channel::kWeb;
  if (text == "mobile") return Channel::kMobile;
  if (text == "kiosk") return Channel::kKiosk;
  if (text == "pos") return Channel::kPos;
  if (text == "sensor") return Channel::kSensor;
  return std::nullopt;
}

const char* consent_state_name(ConsentState state) {
  switch (state) {
    case ConsentState::kUnknown: return "unknown";
    case ConsentState::kGranted: return "granted";
    case ConsentState::kDenied: return "denied";
  }
  return "unknown";
}

std::optional<ConsentState> parse_consent_state(std::string_view text) {
  if (text == "granted") return ConsentState::kGranted;
  if (text == "denied") return ConsentState::kDenied;
  if (text == "unknown") return ConsentState::kUnknown;
  return std::nullopt;
}

bool is_standard_identity_type(std::string_view type) {
  return std::find(kStandardIdentityTypes.begin(), kStandardIdentityTypes.end(), type) !=
         kStandardIdentityTypes.end();
}

std::string SchemaKey::uri() const {
  return vendor + "/" + name + "/jsonschema/" + std::to_string(model) + "-" +
         std::to_string(revision) + "-" + std::to_string(addition);
}

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool parse_int(std::string_view text, int& value) {
  if (text.empty() || text.size() > 6 || (text.size() > 1 && text[0] == '0')) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::optional<SchemaKey> parse_schema_uri(std::string_view uri) {
  SchemaKey key;
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    const auto slash = uri.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    parts[i] = uri.substr(0, slash);
    uri.remove_prefix(slash + 1);
  }
  parts[3] = uri;
  for (int i = 0; i < 2; ++i) {
    if (parts[i].empty() || parts[i].size() > 64 ||
        !std::all_of(parts[i].begin(), parts[i].end(), is_name_char)) {
      return std::nullopt;
    }
  }
  if (parts[2] != "jsonschema") return std::nullopt;
  const auto d1 = parts[3].find('-');
  const auto d2 = d1 == std::string_view::npos ? d1 : parts[3].find('-', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  if (!parse_int(parts[3].substr(0, d1), key.model) ||
      !parse_int(parts[3].substr(d1 + 1, d2 - d1 - 1), key.revision) ||
      !parse_int(parts[3].substr(d2 + 1), key.addition) || key.model < 1) {
    return std::nullopt;
  }
  key.vendor = parts[0];
  key.name = parts[1];
  return key;
}

}  // namespace aisle
