// IdentityRules: how identifiers of each type may join profiles (docs/profiles.md, "Merge rules").
//
// Plain data, read from the collector's config by the composition root; IdentityRules::defaults()
// gives the standard identifier types their documented rules.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace aisle::collector::profiles {

struct IdentityTypeRule {
  // At most this many identifiers of the type on one profile; 0 = unlimited (user_id: 1). A link
  // or merge that would exceed it is refused and recorded in the profile's history.
  std::size_t max_per_profile = 0;
  // Resolution order inside an event: the identifier of highest priority (that links and is not
  // shared) is the event's anchor, the event belongs to the anchor's profile, and the other
  // identifiers are joined to it in decreasing priority. When joining one would break a limit,
  // the join is refused, so the higher-priority identifier keeps the event and the profile.
  // Ties are broken by type name.
  int priority = 0;
  // false: the identifier is kept on the profile it first appeared with but never joins two
  // profiles (session_id: a session may span a login of another person).
  bool links = true;
  // Shared-device protection (device_id, anonymous_id): an identifier of this type seen in events
  // with more than IdentityRules::shared_after_user_ids distinct user_ids is marked shared and
  // from then on never joins profiles.
  bool shared_protection = false;
};

struct IdentityRules {
  // Per identifier type. Types absent here (custom types) get `custom_type_rule`.
  std::map<std::string, IdentityTypeRule, std::less<>> types;
  IdentityTypeRule custom_type_rule;
  // An identifier with shared_protection seen with more than this many distinct user_ids is
  // marked shared.
  std::size_t shared_after_user_ids = 5;

  // The rules of the standard types (docs/profiles.md lists them):
  //   user_id 1 per profile, priority 100; loyalty_id 1, 90; email_sha256 80; phone_sha256 70;
  //   anonymous_id 50 with shared protection; device_id 20 with shared protection;
  //   session_id 10, does not link.
  static IdentityRules defaults();

  const IdentityTypeRule& rule(std::string_view type) const;
  // Refuses rules the graph cannot hold: more than kMaxLimitedTypes types with a limit, a limit
  // above 65535, shared_after_user_ids of 0 or above 1000.
  Status validate() const;

  static constexpr std::size_t kMaxLimitedTypes = 8;
};

}  // namespace aisle::collector::profiles
