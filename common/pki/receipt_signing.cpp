#include "common/pki/receipt_signing.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>

#include "common/pki/openssl_util.hpp"
#include "common/pki/pki.hpp"

namespace aisle::pki {
namespace {

// A certificate PEM carried in a receipt: a single P-256 or RSA-4096 certificate is 1-3 KiB.
constexpr std::size_t kMaxCertificatePemBytes = 16 * 1024;
// A base64 signature: ECDSA P-256 DER is at most 72 bytes, RSA-8192 1024 bytes.
constexpr std::size_t kMaxSignatureBase64Bytes = 2048;

using detail::BioPtr;
using detail::Deleter;
using detail::name_entry;
using detail::PkeyPtr;
using detail::ssl_error;
using detail::X509Ptr;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;


Error invalid(std::string what) {
  ERR_clear_error();
  return make_error(ErrorCode::kInvalidArgument, "erasure receipt: " + std::move(what));
}

Result<X509Ptr> parse_certificate(std::string_view pem) {
  if (pem.size() > kMaxCertificatePemBytes) {
    return invalid("certificate is " + std::to_string(pem.size()) + " bytes, limit " +
                   std::to_string(kMaxCertificatePemBytes));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ssl_error(ErrorCode::kInternal, "BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return invalid("'certificate' is not a PEM certificate");
  return cert;
}

Status check_chain(X509* cert, const std::string& ca_cert_path, const std::string& crl_path) {
  StorePtr store(X509_STORE_new());
  if (!store) return ssl_error(ErrorCode::kInternal, "X509_STORE_new");
  BioPtr probe(BIO_new_file(ca_cert_path.c_str(), "r"));
  if (!probe) {
    ERR_clear_error();
    return make_error(ErrorCode::kNotFound, "cannot open CA certificate " + ca_cert_path);
  }
  if (X509_STORE_load_file(store.get(), ca_cert_path.c_str()) != 1) {
    return ssl_error(ErrorCode::kInvalidArgument, "not a PEM CA certificate: " + ca_cert_path);
  }
  if (!crl_path.empty()) {
    // A missing CRL is an error, not "nothing revoked": it would silently accept a revoked key.
    BioPtr crl_probe(BIO_new_file(crl_path.c_str(), "r"));
    if (!crl_probe) {
      ERR_clear_error();
      return make_error(ErrorCode::kNotFound, "cannot open CRL " + crl_path);
    }
    if (X509_STORE_load_file(store.get(), crl_path.c_str()) != 1) {
      return ssl_error(ErrorCode::kInvalidArgument, "not a PEM CRL: " + crl_path);
    }
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    return ssl_error(ErrorCode::kInternal, "X509_STORE_CTX_init");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    return invalid(std::string("certificate does not chain to the CA: ") +
                   X509_verify_cert_error_string(error));
  }
  return ok_status();
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return make_error(ErrorCode::kInvalidArgument, "base64: length is not a multiple of 4");
  }
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=' && i + 2 >= text.size()) {
      ++padding;
    } else if (!alphabet || padding > 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "base64: unexpected character at offset " + std::to_string(i));
    }
  }
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return make_error(ErrorCode::kInvalidArgument, "base64: cannot decode");
  // EVP_DecodeBlock counts the padding as zero bytes.
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

Result<std::string> sign_receipt(std::string_view text, const std::string& key_pem_path) {
  BioPtr bio(BIO_new_file(key_pem_path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return make_error(ErrorCode::kNotFound, "cannot open key " + key_pem_path);
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return ssl_error(ErrorCode::kInvalidArgument, "not a PEM private key: " + key_pem_path);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size()) != 1) {
    return ssl_error(ErrorCode::kInvalidArgument, "cannot sign with " + key_pem_path);
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot sign with " + key_pem_path);
  }
  signature.resize(size);  // DER ECDSA signatures vary in length
  return base64_encode(signature);
}

Result<std::string> read_certificate_pem(const std::string& cert_pem_path) {
  BioPtr bio(BIO_new_file(cert_pem_path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return make_error(ErrorCode::kNotFound, "cannot open certificate " + cert_pem_path);
  }
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return ssl_error(ErrorCode::kInvalidArgument, "not a PEM certificate: " + cert_pem_path);
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot encode certificate");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  if (size < 0) return ssl_error(ErrorCode::kInternal, "BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(size));
}

Status verify_receipt(const wire::ErasureReceipt& receipt, const std::string& ca_cert_path,
                      const std::string& crl_path) {
  auto cert = parse_certificate(receipt.certificate);
  if (!cert) return cert.error();
  if (receipt.signature.size() > kMaxSignatureBase64Bytes) {
    return invalid("signature is longer than " + std::to_string(kMaxSignatureBase64Bytes) +
                   " characters");
  }
  auto signature = base64_decode(receipt.signature);
  if (!signature) return invalid("'signature': " + signature.error().message);

  // The certificate first: a signature by a key nobody vouches for means nothing.
  if (auto status = check_chain(cert->get(), ca_cert_path, crl_path); !status) return status;
  const X509_NAME* subject = X509_get_subject_name(cert->get());
  const std::string common_name = name_entry(subject, NID_commonName);
  const std::string expected = agent_common_name(receipt.store_id, receipt.agent_id);
  if (common_name != expected) {
    return invalid("certificate CN '" + common_name + "' is not '" + expected +
                   "': the receipt was not signed by the agent it names");
  }
  const std::string organization = name_entry(subject, NID_organizationName);
  if (organization != receipt.tenant) {
    return invalid("certificate O '" + organization + "' is not the receipt's tenant '" +
                   receipt.tenant + "'");
  }

  EVP_PKEY* key = X509_get0_pubkey(cert->get());
  if (key == nullptr) return invalid("certificate without a usable public key");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const std::string text = wire::signed_text(receipt);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return ssl_error(ErrorCode::kInternal, "EVP_DigestVerifyInit");
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
      reinterpret_cast<const unsigned char*>(text.data()), text.size());
  if (rc != 1)
    return invalid("bad signature: the receipt's content does not match what was signed");
  return ok_status();
}

}  // namespace aisle::pki
