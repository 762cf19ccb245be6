// Keyed pseudonymization of loyalty numbers at the edge: HMAC-SHA256(key, number) as 64 lowercase
// hex digits, identical to crypto::hmac_sha256_hex but with the key's inner and outer SHA-256
// states computed once (RFC 2104), which makes it about 5x cheaper per receipt than the one-shot
// HMAC() of OpenSSL 3. Without the key the number cannot be recovered or linked across deployments
// that use different keys; stores of one retailer must share the key to get the same loyalty_id.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace aisle::adapters::pos {

class LoyaltyPseudonymizer {
 public:
  explicit LoyaltyPseudonymizer(std::string_view key);
  ~LoyaltyPseudonymizer();
  LoyaltyPseudonymizer(const LoyaltyPseudonymizer&) = delete;
  LoyaltyPseudonymizer& operator=(const LoyaltyPseudonymizer&) = delete;

  // Appends nothing and returns false only when OpenSSL fails (a broken installation).
  bool pseudonymize(std::string_view number, std::string& out_hex);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace aisle::adapters::pos
