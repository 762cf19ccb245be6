// Signing and checking erasure receipts (common/wire/privacy.hpp, ErasureReceipt).
//
// An agent signs wire::signed_text(receipt) with the private key of its mTLS client certificate
// (EC P-256 from `aislectl pki`, RSA also accepted) using SHA-256: ECDSA signatures are DER, RSA
// signatures PKCS#1 v1.5; either is carried base64 (standard alphabet, padded, no newlines). The
// collector checks a receipt against the tenant CA: the signature, the certificate's chain and
// validity (now) for TLS client use, and that the certificate names the agent the receipt claims
// (CN "agent:<store_id>:<agent_id>", O = tenant, as `aislectl pki issue` writes them).
//
// Thread-safe (no shared state). Each call reads its key or CA file: erasures are rare.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::pki {

// Signs `text` with the PEM private key at `key_pem_path`; returns the base64 signature.
// kNotFound / kIo when the file cannot be read, kInvalidArgument when it holds no usable key.
Result<std::string> sign_receipt(std::string_view text, const std::string& key_pem_path);

// Reads a PEM certificate file and returns it as text (checked to hold one certificate), for the
// receipt's `certificate` field.
Result<std::string> read_certificate_pem(const std::string& cert_pem_path);

// Checks `receipt` as described above. kInvalidArgument naming the first failed check ("bad
// signature", "certificate does not chain to the CA: ...", "certificate CN ... is not ...");
// kNotFound / kIo when the CA file cannot be read. With `crl_path` (the CA's CRL,
// pki::crl_path) a revoked certificate fails the chain check ("certificate revoked"), and so does
// a CRL past its nextUpdate; a CRL that cannot be read is kNotFound, never "nothing revoked".
Status verify_receipt(const wire::ErasureReceipt& receipt, const std::string& ca_cert_path,
                      const std::string& crl_path = "");

// Base64 (standard alphabet, padded) used for signatures; decode refuses anything else.
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace aisle::pki
