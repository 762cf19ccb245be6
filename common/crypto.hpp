// Small cryptographic helpers over OpenSSL: digests for API keys and pseudonymization,
// constant-time comparison, random tokens.
#pragma once

#include <string>
#include <string_view>

namespace aisle::crypto {

// Lowercase hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view data);
// Lowercase hex HMAC-SHA256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Compares without early exit, so timing does not reveal how much of a secret matched.
bool constant_time_equals(std::string_view a, std::string_view b);
// `bytes` random bytes from the OS CSPRNG, hex-encoded (2 * bytes characters).
std::string random_hex(std::size_t bytes);

}  // namespace aisle::crypto
