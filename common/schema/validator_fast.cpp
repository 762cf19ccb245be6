// validate_fast on nlohmann::json: the FastWalker (validator_fast_walk.hpp) over the tree the
// full evaluator also reads; every keyword is decidable here.
#include "common/schema/validator_fast_walk.hpp"

namespace aisle::schema::detail {
namespace {

struct JsonAccess {
  using Value = Json;
  static constexpr bool kKeysMayRepeat = false;

  static ValueKind kind(const Json& value) {
    switch (value.type()) {
      case Json::value_t::object: return ValueKind::kObject;
      case Json::value_t::array: return ValueKind::kArray;
      case Json::value_t::string: return ValueKind::kString;
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float: return ValueKind::kNumber;
      default: return ValueKind::kOther;
    }
  }
  static bool type_matches(std::uint8_t mask, const Json& value) {
    return detail::type_matches(mask, value);
  }
  static Check equals(const Json& expected, const Json& value) {
    return expected == value ? Check::kPass : Check::kFail;
  }
  static Check in_enum(const Node& node, const Json& value) {
    return detail::in_enum(node, value) ? Check::kPass : Check::kFail;
  }
  static std::string_view string(const Json& value) {
    return *value.get_ptr<const Json::string_t*>();
  }
  static bool number_passes(const Node& node, const Json& value) {
    return detail::number_passes(node, value);
  }
  static std::size_t object_size(const Json& value) {
    return value.get_ptr<const Json::object_t*>()->size();
  }
  template <class F>
  static bool for_each_member(const Json& value, F&& f) {
    for (const auto& [key, member] : *value.get_ptr<const Json::object_t*>()) {
      if (!f(std::string_view(key), member)) return false;
    }
    return true;
  }
  static bool has_member(const Json& value, std::string_view name) {
    const auto& object = *value.get_ptr<const Json::object_t*>();
    return object.find(name) != object.end();
  }
  template <class F>
  static Check key_passes(std::string_view key, F&& eval) {
    return eval(Json(key)) ? Check::kPass : Check::kFail;
  }
  static std::size_t array_size(const Json& value) {
    return value.get_ptr<const Json::array_t*>()->size();
  }
  template <class F>
  static bool for_each_item(const Json& value, F&& f) {
    const auto& array = *value.get_ptr<const Json::array_t*>();
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (!f(i, array[i])) return false;
    }
    return true;
  }
  static Check items_unique(const Json& value) {
    std::size_t first = 0;
    std::size_t second = 0;
    return find_duplicate(*value.get_ptr<const Json::array_t*>(), first, second) ? Check::kFail
                                                                                 : Check::kPass;
  }
};

}  // namespace

bool validate_fast(const Program& program, const Json& instance) {
  FastWalker<JsonAccess> walker;
  return walker.run(*program.root, instance);
}

}  // namespace aisle::schema::detail
