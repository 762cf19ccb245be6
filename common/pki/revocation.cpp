#include "common/pki/revocation.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "common/log.hpp"
#include "common/pki/openssl_util.hpp"
#include "common/pki/pki.hpp"

namespace aisle::pki {
namespace {

using detail::BioPtr;
using detail::Deleter;
using detail::ssl_error;

const log::Logger kLog("common.pki");

using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using EnumPtr = std::unique_ptr<ASN1_ENUMERATED, Deleter<ASN1_ENUMERATED_free>>;

// RFC 5280 CRLReason codes for the reasons an operator gives.
int reason_code(const std::string& reason) {
  if (reason == "key_compromise") return CRL_REASON_KEY_COMPROMISE;
  if (reason == "superseded") return CRL_REASON_SUPERSEDED;
  if (reason == "cessation_of_operation") return CRL_REASON_CESSATION_OF_OPERATION;
  return CRL_REASON_UNSPECIFIED;
}

Result<IntegerPtr> serial_integer(const std::string& hex) {
  BIGNUM* bn = nullptr;
  if (BN_hex2bn(&bn, hex.c_str()) == 0) {
    return make_error(ErrorCode::kDataLoss, "index.json: serial '" + hex + "' is not hex");
  }
  IntegerPtr serial(BN_to_ASN1_INTEGER(bn, nullptr));
  BN_free(bn);
  if (!serial) return ssl_error(ErrorCode::kInternal, "serial " + hex);
  return serial;
}

}  // namespace

Status write_crl(const std::string& dir, int days) {
  auto index = detail::read_index(dir);
  if (!index) return index.error();
  auto ca_cert = detail::load_cert(ca_cert_path(dir));
  if (!ca_cert) return ca_cert.error();
  auto ca_key = detail::load_key(ca_key_path(dir));
  if (!ca_key) return ca_key.error();

  CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert->get())) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot start the CRL");
  }
  const std::time_t now = std::time(nullptr);
  TimePtr last(ASN1_TIME_set(nullptr, now));
  TimePtr next(ASN1_TIME_set(nullptr, now + static_cast<std::time_t>(days) * 86400));
  if (!last || !next || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return ssl_error(ErrorCode::kInternal, "CRL validity");
  }
  for (const auto& entry : (*index)["certs"]) {
    if (entry.value("status", "") != "revoked") continue;
    auto serial = serial_integer(entry.value("serial", ""));
    if (!serial) return serial.error();
    RevokedPtr revoked(X509_REVOKED_new());
    TimePtr when(ASN1_TIME_set(nullptr, static_cast<std::time_t>(
                                            entry.value("revoked_at", std::int64_t{0}) / 1000)));
    EnumPtr reason(ASN1_ENUMERATED_new());
    if (!revoked || !when || !reason ||
        X509_REVOKED_set_serialNumber(revoked.get(), serial->get()) != 1 ||
        X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1 ||
        ASN1_ENUMERATED_set(reason.get(), reason_code(entry.value("reason", ""))) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
      return ssl_error(ErrorCode::kInternal, "CRL entry " + entry.value("serial", ""));
    }
    if (X509_CRL_add0_revoked(crl.get(), revoked.get()) != 1) {
      return ssl_error(ErrorCode::kInternal, "CRL entry " + entry.value("serial", ""));
    }
    revoked.release();  // owned by the CRL now
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key->get(), EVP_sha256()) == 0) {
    return ssl_error(ErrorCode::kInternal, "cannot sign the CRL");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot encode the CRL");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return detail::write_file(crl_path(dir), std::string(data, static_cast<std::size_t>(size)),
                            0644);
}

Result<Revoked> revoke(const std::string& dir, const RevokeOptions& options) {
  auto index = detail::read_index(dir);
  if (!index) return index.error();
  nlohmann::json* match = nullptr;
  for (auto& entry : (*index)["certs"]) {
    const bool named = entry.value("serial", "") == options.serial_or_name ||
                       entry.value("name", "") == options.serial_or_name;
    if (!named) continue;
    if (entry.value("status", "") == "revoked") {
      if (entry.value("serial", "") == options.serial_or_name) {
        return make_error(ErrorCode::kAlreadyExists,
                          "certificate " + options.serial_or_name + " is already revoked");
      }
      continue;
    }
    match = &entry;  // the newest valid one of that name wins (index order is issue order)
  }
  if (!match) {
    return make_error(ErrorCode::kNotFound,
                      "no valid certificate with serial or name '" + options.serial_or_name +
                          "' in " + index_path(dir));
  }
  Revoked revoked;
  revoked.serial_hex = match->value("serial", "");
  revoked.name = match->value("name", "");
  revoked.revoked_at = SystemClock::instance()->now_unix_ms();
  (*match)["status"] = "revoked";
  (*match)["revoked_at"] = revoked.revoked_at;
  (*match)["reason"] = options.reason;
  if (auto s = detail::write_file(index_path(dir), index->dump(2) + "\n", 0644); !s) {
    return s.error();
  }
  if (auto s = write_crl(dir); !s) return s.error();
  kLog.warn("certificate revoked",
            {{"serial", revoked.serial_hex}, {"name", revoked.name}, {"reason", options.reason}});
  return revoked;
}

}  // namespace aisle::pki
