#include "common/pki/receipt_signing.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "common/pki/pki.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::pki {
namespace {

struct Fleet {
  test::TempDir temp{"aisle-receipts"};
  std::string ca_dir = temp.file("pki");
  std::string other_ca_dir = temp.file("other-pki");

  Fleet() {
    REQUIRE(init_ca(ca_dir, {"acme", 365}).ok());
    REQUIRE(init_ca(other_ca_dir, {"acme", 365}).ok());
  }

  IssuedCert agent(const std::string& dir, const std::string& store, const std::string& agent) {
    IssueOptions o;
    o.kind = CertKind::kAgent;
    o.store_id = store;
    o.agent_id = agent;
    auto issued = issue(dir, o);
    REQUIRE(issued.ok());
    return *issued;
  }

  // A receipt from store-1/agent-1, signed with the key of `cert`.
  wire::ErasureReceipt signed_receipt(const IssuedCert& cert) {
    wire::ErasureReceipt r;
    r.erasure_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    r.tenant = "acme";
    r.store_id = "store-1";
    r.agent_id = "agent-1";
    r.events_purged = 12;
    r.cache_entries_purged = 3;
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

std::string failure(const wire::ErasureReceipt& receipt, const std::string& ca) {
  auto status = verify_receipt(receipt, ca);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kInvalidArgument);
  return status.error().message;
}

TEST_CASE("a receipt signed with the agent's key verifies against the fleet CA",
          "[common][pki][receipt]") {
  Fleet fleet;
  const auto cert = fleet.agent(fleet.ca_dir, "store-1", "agent-1");
  const auto receipt = fleet.signed_receipt(cert);
  CHECK(receipt.certificate.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  auto status = verify_receipt(receipt, ca_cert_path(fleet.ca_dir));
  INFO((status.ok() ? std::string() : status.error().message));
  CHECK(status.ok());
  // It survives the wire.
  auto decoded = wire::decode_erasure_receipt(wire::encode_erasure_receipt(receipt));
  REQUIRE(decoded.ok());
  CHECK(verify_receipt(*decoded, ca_cert_path(fleet.ca_dir)).ok());
}

TEST_CASE("a receipt whose content changed after signing fails", "[common][pki][receipt]") {
  Fleet fleet;
  const auto cert = fleet.agent(fleet.ca_dir, "store-1", "agent-1");
  auto receipt = fleet.signed_receipt(cert);
  const std::string ca = ca_cert_path(fleet.ca_dir);
  SECTION("events_purged") {
    receipt.events_purged = 13;
    CHECK(failure(receipt, ca).find("bad signature") != std::string::npos);
  }
  SECTION("cache_entries_purged") {
    receipt.cache_entries_purged = 0;
    CHECK(failure(receipt, ca).find("bad signature") != std::string::npos);
  }
  SECTION("erasure_id") {
    receipt.erasure_id[0] = '1';
    CHECK(failure(receipt, ca).find("bad signature") != std::string::npos);
  }
  SECTION("purged_at") {
    receipt.purged_at += 1;
    CHECK(failure(receipt, ca).find("bad signature") != std::string::npos);
  }
  SECTION("the signature itself") {
    auto raw = base64_decode(receipt.signature);
    REQUIRE(raw.ok());
    (*raw)[raw->size() / 2] ^= 0x01;
    receipt.signature = base64_encode(*raw);
    CHECK(failure(receipt, ca).find("bad signature") != std::string::npos);
  }
  SECTION("a signature that is not base64") {
    receipt.signature = "not base64!";
    CHECK(failure(receipt, ca).find("'signature'") != std::string::npos);
  }
  SECTION("no signature") {
    receipt.signature.clear();
    CHECK(failure(receipt, ca).find("'signature'") != std::string::npos);
  }
  SECTION("a certificate that is not PEM") {
    receipt.certificate = "hello";
    CHECK(failure(receipt, ca).find("not a PEM certificate") != std::string::npos);
  }
}

TEST_CASE("a receipt with a certificate from another CA fails", "[common][pki][receipt]") {
  Fleet fleet;
  const auto foreign = fleet.agent(fleet.other_ca_dir, "store-1", "agent-1");
  const auto receipt = fleet.signed_receipt(foreign);
  // Same CN, same tenant, valid signature: only the issuer differs.
  CHECK(verify_receipt(receipt, ca_cert_path(fleet.other_ca_dir)).ok());
  CHECK(failure(receipt, ca_cert_path(fleet.ca_dir)).find("does not chain to the CA") !=
        std::string::npos);
}

TEST_CASE("a receipt signed by another agent of the fleet fails on the CN",
          "[common][pki][receipt]") {
  Fleet fleet;
  const std::string ca = ca_cert_path(fleet.ca_dir);
  SECTION("another agent id") {
    const auto other = fleet.agent(fleet.ca_dir, "store-1", "agent-2");
    const auto receipt = fleet.signed_receipt(other);  // claims agent-1
    CHECK(failure(receipt, ca)
              .find("certificate CN 'agent:store-1:agent-2' is not "
                    "'agent:store-1:agent-1'") != std::string::npos);
  }
  SECTION("the same agent id in another store") {
    const auto other = fleet.agent(fleet.ca_dir, "store-2", "agent-1");
    const auto receipt = fleet.signed_receipt(other);
    CHECK(failure(receipt, ca).find("certificate CN") != std::string::npos);
  }
  SECTION("a collector certificate") {
    IssueOptions o;
    o.kind = CertKind::kCollector;
    o.name = "agent-1";
    auto collector = issue(fleet.ca_dir, o);
    REQUIRE(collector.ok());
    const auto receipt = fleet.signed_receipt(*collector);
    CHECK(failure(receipt, ca).find("certificate CN 'collector:agent-1'") != std::string::npos);
  }
  SECTION("the receipt's tenant differs from the certificate's") {
    const auto cert = fleet.agent(fleet.ca_dir, "store-1", "agent-1");
    auto receipt = fleet.signed_receipt(cert);
    receipt.tenant = "globex";
    CHECK(failure(receipt, ca).find("tenant 'globex'") != std::string::npos);
  }
}

TEST_CASE("receipt signing reports missing files", "[common][pki][receipt]") {
  Fleet fleet;
  auto missing_key = sign_receipt("text", fleet.temp.file("nope.key"));
  REQUIRE_FALSE(missing_key.ok());
  CHECK(missing_key.error().code == ErrorCode::kNotFound);
  const auto cert = fleet.agent(fleet.ca_dir, "store-1", "agent-1");
  auto not_a_key = sign_receipt("text", cert.cert_path);
  REQUIRE_FALSE(not_a_key.ok());
  CHECK(not_a_key.error().code == ErrorCode::kInvalidArgument);
  const auto receipt = fleet.signed_receipt(cert);
  auto no_ca = verify_receipt(receipt, fleet.temp.file("nope.crt"));
  REQUIRE_FALSE(no_ca.ok());
  CHECK(no_ca.error().code == ErrorCode::kNotFound);
}

TEST_CASE("base64 round-trips and refuses malformed text", "[common][pki][receipt]") {
  for (const std::string& bytes : {std::string("a"), std::string("ab"), std::string("abc"),
                                   std::string("\0\xff\x10\x80", 4)}) {
    auto decoded = base64_decode(base64_encode(bytes));
    REQUIRE(decoded.ok());
    CHECK(*decoded == bytes);
  }
  CHECK(base64_encode("ab") == "YWI=");
  CHECK_FALSE(base64_decode("YWI").ok());
  CHECK_FALSE(base64_decode("Y=WI").ok());
  CHECK_FALSE(base64_decode("YW I").ok());
  CHECK_FALSE(base64_decode("").ok());
}

}  // namespace
}  // namespace aisle::pki
