// Pseudonymizer: identifiers normalized (normalize.hpp) and replaced by HMAC-SHA256 under the
// tenant's key, as 64 lowercase hex digits. Every store of a tenant holds the same key file, so one
// person hashes to the same value everywhere; without the key a value cannot be linked back.
//
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/pii_normalize.hpp"
#include "agent/privacy/privacy_options.hpp"
#include "common/result.hpp"

namespace aisle::agent::privacy {

class Pseudonymizer {
 public:
  // Reads the key file (trailing whitespace and newlines are not part of the key). Fails naming
  // the file when it cannot be read or holds fewer than `min_key_bytes` bytes.
  static Result<Pseudonymizer> from_key_file(const std::string& path, std::size_t min_key_bytes,
                                             PhoneRules phone_rules);
  Pseudonymizer(std::string key, PhoneRules phone_rules);

  // Normalizes `raw` as `kind` and returns its HMAC; the error says why the value is refused.
  Result<std::string> pseudonymize(FieldKind kind, std::string_view raw) const;

  // The identity type a pseudonymized identity is stored under ("email" -> "email_sha256") and
  // how its value is normalized.
  static std::string output_identity_type(std::string_view type);
  static FieldKind identity_kind(std::string_view type);

 private:
  // HMAC-SHA256 hex of `data` under key_, from per-thread precomputed key states.
  std::string hmac(std::string_view data) const;

  std::string key_;
  PhoneRules phone_rules_;
  // Names this key's per-thread HMAC states (copies share it: same key, same states).
  std::uint64_t key_id_;
};

}  // namespace aisle::agent::privacy
