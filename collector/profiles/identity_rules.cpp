#include "collector/profiles/identity_rules.hpp"

namespace aisle::collector::profiles {

IdentityRules IdentityRules::defaults() {
  IdentityRules rules;
  rules.types["user_id"] = {1, 100, true, false};
  rules.types["loyalty_id"] = {1, 90, true, false};
  rules.types["email_sha256"] = {0, 80, true, false};
  rules.types["phone_sha256"] = {0, 70, true, false};
  rules.types["anonymous_id"] = {0, 50, true, true};
  rules.types["device_id"] = {0, 20, true, true};
  rules.types["session_id"] = {0, 10, false, false};
  return rules;
}

const IdentityTypeRule& IdentityRules::rule(std::string_view type) const {
  auto it = types.find(type);
  return it == types.end() ? custom_type_rule : it->second;
}

Status IdentityRules::validate() const {
  std::size_t limited = custom_type_rule.max_per_profile > 0 ? 1 : 0;
  for (const auto& [type, rule] : types) {
    if (type.empty() || type.find(':') != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument,
                        "identity rules: type '" + type + "' must be non-empty without ':'");
    }
    if (rule.max_per_profile > 65535) {
      return make_error(ErrorCode::kInvalidArgument,
                        "identity rules: " + type + ".max_per_profile must be 0..65535");
    }
    if (rule.max_per_profile > 0) ++limited;
  }
  if (custom_type_rule.max_per_profile > 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "identity rules: custom types cannot have max_per_profile (the limit is "
                      "counted per type: give the custom type its own rule)");
  }
  if (limited > kMaxLimitedTypes) {
    return make_error(ErrorCode::kInvalidArgument, "identity rules: at most " +
                                                       std::to_string(kMaxLimitedTypes) +
                                                       " types may have max_per_profile > 0");
  }
  if (shared_after_user_ids == 0 || shared_after_user_ids > 1000) {
    return make_error(ErrorCode::kInvalidArgument,
                      "identity rules: shared_after_user_ids must be 1..1000");
  }
  return ok_status();
}

}  // namespace aisle::collector::profiles
