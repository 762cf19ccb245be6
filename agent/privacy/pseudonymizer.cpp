#include "agent/privacy/pseudonymizer.hpp"

#include <fstream>
#include <sstream>

#include "common/crypto.hpp"

namespace aisle::agent::privacy {

Result<Pseudonymizer> Pseudonymizer::from_key_file(const std::string& path,
                                                   std::size_t min_key_bytes,
                                                   PhoneRules phone_rules) {
  const std::string where = "privacy.pseudonymization.key_file " + path + ": ";
  if (path.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "privacy.pseudonymization.key_file: required when pseudonymization is on");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, where + "cannot open the key file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string key = buffer.str();
  while (!key.empty() &&
         (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) {
    key.pop_back();
  }
  if (key.size() < min_key_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      where + "the key is " + std::to_string(key.size()) + " bytes; at least " +
                          std::to_string(min_key_bytes) +
                          " are required (e.g. `openssl rand -hex 32 > " + path + "`)");
  }
  return Pseudonymizer(std::move(key), std::move(phone_rules));
}

Result<std::string> Pseudonymizer::pseudonymize(FieldKind kind, std::string_view raw) const {
  switch (kind) {
    case FieldKind::kEmail: {
      auto email = normalize_email(raw);
      if (!email) return email.error();
      return crypto::hmac_sha256_hex(key_, *email);
    }
    case FieldKind::kPhone: {
      auto phone = normalize_phone(raw, phone_rules_);
      if (!phone) return phone.error();
      return crypto::hmac_sha256_hex(key_, *phone);
    }
    case FieldKind::kText: break;
  }
  const std::string_view text = trim(raw);
  if (text.empty()) return make_error(ErrorCode::kInvalidArgument, "empty after trimming");
  return crypto::hmac_sha256_hex(key_, text);
}

std::string Pseudonymizer::output_identity_type(std::string_view type) {
  if (type == "email") return "email_sha256";
  if (type == "phone") return "phone_sha256";
  return std::string(type);
}

FieldKind Pseudonymizer::identity_kind(std::string_view type) {
  if (type == "email") return FieldKind::kEmail;
  if (type == "phone") return FieldKind::kPhone;
  return FieldKind::kText;
}

}  // namespace aisle::agent::privacy
