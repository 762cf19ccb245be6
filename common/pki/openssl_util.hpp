// OpenSSL ownership and errors, shared by the PKI code (certificates, receipt signatures): every
// OpenSSL object lives in a unique_ptr with its own free function, and a failure carries the
// library's error queue in its message.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"

namespace aisle::pki::detail {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;

// `what`, then OpenSSL's thread-local error queue (drained), as one message.
Error ssl_error(ErrorCode code, const std::string& what);

// The UTF-8 text of the first `nid` entry (NID_commonName, NID_organizationName) of a name; ""
// when absent.
std::string name_entry(const X509_NAME* name, int nid);

// The CA directory's files (pki.cpp): PEM certificate and key readers, an atomic file write
// (temporary file, fsync, rename, explicit mode) and the certificate index (index.json).
Result<X509Ptr> load_cert(const std::string& path);
Result<PkeyPtr> load_key(const std::string& path);
Status write_file(const std::string& path, const std::string& content, mode_t mode);
Result<nlohmann::json> read_index(const std::string& dir);

}  // namespace aisle::pki::detail
