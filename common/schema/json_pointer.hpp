// JSON Pointer (RFC 6901) helpers shared by the schema compiler (resolving "$ref": "#/$defs/x")
// and the validator (reporting where an error is).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace aisle::schema::json_pointer {

// Appends "/" and the escaped token ("a/b" -> "/a~1b", "m~n" -> "/m~0n").
void append(std::string& pointer, std::string_view token);
void append(std::string& pointer, std::size_t index);

// The value at `pointer` inside `root`, or nullptr when the pointer is malformed or leads
// nowhere. "" is the root. Array indexes must be canonical ("0", "17"; not "01" or "-").
const nlohmann::json* find(const nlohmann::json& root, std::string_view pointer);

}  // namespace aisle::schema::json_pointer
