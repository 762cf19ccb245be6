#include "firmware_adapters/pos/loyalty_pseudonymizer.hpp"

#include <openssl/evp.h>

#include <array>

namespace aisle::adapters::pos {

struct LoyaltyPseudonymizer::State {
  EVP_MD_CTX* inner = nullptr;  // SHA-256 after (key ^ ipad)
  EVP_MD_CTX* outer = nullptr;  // SHA-256 after (key ^ opad)
  EVP_MD_CTX* work = nullptr;
  bool ok = false;
};

LoyaltyPseudonymizer::LoyaltyPseudonymizer(std::string_view key) : state_(std::make_unique<State>()) {
  constexpr std::size_t kBlock = 64;
  std::array<unsigned char, kBlock> block{};
  if (key.size() > kBlock) {
    unsigned int size = 0;
    if (EVP_Digest(key.data(), key.size(), block.data(), &size, EVP_sha256(), nullptr) != 1) return;
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<unsigned char, kBlock> ipad{}, opad{};
  for (std::size_t k = 0; k < kBlock; ++k) {
    ipad[k] = block[k] ^ 0x36;
    opad[k] = block[k] ^ 0x5c;
  }
  state_->inner = EVP_MD_CTX_new();
  state_->outer = EVP_MD_CTX_new();
  state_->work = EVP_MD_CTX_new();
  state_->ok = state_->inner && state_->outer && state_->work &&
               EVP_DigestInit_ex(state_->inner, EVP_sha256(), nullptr) == 1 &&
               EVP_DigestUpdate(state_->inner, ipad.data(), kBlock) == 1 &&
               EVP_DigestInit_ex(state_->outer, EVP_sha256(), nullptr) == 1 &&
               EVP_DigestUpdate(state_->outer, opad.data(), kBlock) == 1;
}

LoyaltyPseudonymizer::~LoyaltyPseudonymizer() {
  EVP_MD_CTX_free(state_->inner);
  EVP_MD_CTX_free(state_->outer);
  EVP_MD_CTX_free(state_->work);
}

bool LoyaltyPseudonymizer::pseudonymize(std::string_view number, std::string& out_hex) {
  if (!state_->ok) return false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_MD_CTX_copy_ex(state_->work, state_->inner) != 1 ||
      EVP_DigestUpdate(state_->work, number.data(), number.size()) != 1 ||
      EVP_DigestFinal_ex(state_->work, digest, &size) != 1 ||
      EVP_MD_CTX_copy_ex(state_->work, state_->outer) != 1 ||
      EVP_DigestUpdate(state_->work, digest, size) != 1 ||
      EVP_DigestFinal_ex(state_->work, digest, &size) != 1) {
    return false;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out_hex.clear();
  for (unsigned int k = 0; k < size; ++k) {
    out_hex.push_back(kHex[digest[k] >> 4]);
    out_hex.push_back(kHex[digest[k] & 0xF]);
  }
  return true;
}

}  // namespace aisle::adapters::pos
