// Erasure receipts checked against the fleet CA's CRL (common/pki/receipt_signing.hpp): the
// collector does not accept a receipt signed with a revoked agent certificate.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "common/pki/pki.hpp"
#include "common/pki/receipt_signing.hpp"
#include "common/pki/revocation.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::pki {
namespace {

struct RevocationFleet {
  test::TempDir temp{"aisle-receipt-crl"};
  std::string ca_dir = temp.file("pki");

  RevocationFleet() { REQUIRE(init_ca(ca_dir, {"acme", 365}).ok()); }

  IssuedCert agent(const std::string& store, const std::string& agent) {
    IssueOptions o;
    o.kind = CertKind::kAgent;
    o.store_id = store;
    o.agent_id = agent;
    auto issued = issue(ca_dir, o);
    INFO((issued.ok() ? "" : issued.error().message));
    REQUIRE(issued.ok());
    return *issued;
  }

  wire::ErasureReceipt signed_receipt(const IssuedCert& cert, const std::string& store,
                                      const std::string& agent) {
    wire::ErasureReceipt r;
    r.erasure_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    r.tenant = "acme";
    r.store_id = store;
    r.agent_id = agent;
    r.events_purged = 1;
    r.purged_at = 1'700'000'000'123;
    auto signature = sign_receipt(wire::signed_text(r), cert.key_path);
    REQUIRE(signature.ok());
    r.signature = *signature;
    auto pem = read_certificate_pem(cert.cert_path);
    REQUIRE(pem.ok());
    r.certificate = *pem;
    return r;
  }
};

}  // namespace

TEST_CASE("a receipt signed with a revoked agent certificate fails against the CA's CRL",
          "[common][pki][receipt][crl]") {
  RevocationFleet fleet;
  const IssuedCert revoked = fleet.agent("store-1", "agent-1");
  const IssuedCert valid = fleet.agent("store-2", "agent-2");
  REQUIRE(revoke(fleet.ca_dir, {revoked.serial_hex, "key_compromise"}).ok());
  const std::string ca = ca_cert_path(fleet.ca_dir);
  const std::string crl = crl_path(fleet.ca_dir);

  const auto from_revoked = fleet.signed_receipt(revoked, "store-1", "agent-1");
  // Without the CRL the revocation is invisible: why the collector must load it.
  CHECK(verify_receipt(from_revoked, ca).ok());
  auto status = verify_receipt(from_revoked, ca, crl);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kInvalidArgument);
  CHECK(status.error().message.find("revoked") != std::string::npos);

  CHECK(verify_receipt(fleet.signed_receipt(valid, "store-2", "agent-2"), ca, crl).ok());
}

TEST_CASE("a receipt check with a CRL that cannot be read fails instead of accepting",
          "[common][pki][receipt][crl]") {
  RevocationFleet fleet;
  const IssuedCert cert = fleet.agent("store-1", "agent-1");
  const auto receipt = fleet.signed_receipt(cert, "store-1", "agent-1");
  const std::string ca = ca_cert_path(fleet.ca_dir);
  auto missing = verify_receipt(receipt, ca, fleet.temp.file("none.crl"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  test::write_file(fleet.temp.file("bad.crl"), "not a CRL\n");
  auto garbage = verify_receipt(receipt, ca, fleet.temp.file("bad.crl"));
  REQUIRE_FALSE(garbage.ok());
}

}  // namespace aisle::pki
