// Certificate revocation for the fleet CA (docs/operations.md, "Revoking a certificate"): a
// revoked certificate is marked in index.json and listed in the CA's CRL (DIR/ca.crl, PEM), which
// the broker loads (`crlfile`, so the device can no longer connect) and the collector consults
// when it checks erasure receipts.
#pragma once

#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::pki {

inline std::string crl_path(const std::string& dir) { return dir + "/ca.crl"; }

struct RevokeOptions {
  // Which certificate: its serial (lowercase hex, as `aislectl pki list/show` print it) or its
  // index name ("agent_store-1_agent-1"). The newest valid certificate of that name is revoked.
  std::string serial_or_name;
  std::string reason = "unspecified";  // "key_compromise", "superseded", "cessation_of_operation"
};

struct Revoked {
  std::string serial_hex;
  std::string name;
  UnixMillis revoked_at = 0;
};

// Marks the certificate revoked in index.json and rewrites DIR/ca.crl. kNotFound when no valid
// certificate matches; revoking an already revoked certificate is kAlreadyExists.
Result<Revoked> revoke(const std::string& dir, const RevokeOptions& options);

// (Re)writes DIR/ca.crl from index.json, signed by the CA, valid for `days` (a CRL past its
// nextUpdate makes clients refuse every certificate: reissue it before, e.g. from a timer).
Status write_crl(const std::string& dir, int days = 30);

}  // namespace aisle::pki
