#include "common/schema/json_pointer.hpp"

#include <charconv>

namespace aisle::schema::json_pointer {

void append(std::string& pointer, std::string_view token) {
  pointer.push_back('/');
  for (const char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer.push_back(c);
    }
  }
}

void append(std::string& pointer, std::size_t index) {
  pointer.push_back('/');
  pointer += std::to_string(index);
}

const nlohmann::json* find(const nlohmann::json& root, std::string_view pointer) {
  const nlohmann::json* current = &root;
  if (pointer.empty()) return current;
  if (pointer.front() != '/') return nullptr;
  pointer.remove_prefix(1);
  while (true) {
    const auto slash = pointer.find('/');
    const std::string_view raw = pointer.substr(0, slash);
    std::string token;
    token.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token.push_back(raw[i]);
      } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        return nullptr;  // "~" must be followed by 0 or 1
      }
    }
    if (current->is_object()) {
      const auto it = current->find(token);
      if (it == current->end()) return nullptr;
      current = &*it;
    } else if (current->is_array()) {
      if (token.empty() || (token.size() > 1 && token.front() == '0')) return nullptr;
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec != std::errc() || end != token.data() + token.size()) return nullptr;
      if (index >= current->size()) return nullptr;
      current = &(*current)[index];
    } else {
      return nullptr;
    }
    if (slash == std::string_view::npos) return current;
    pointer.remove_prefix(slash + 1);
  }
}

}  // namespace aisle::schema::json_pointer
