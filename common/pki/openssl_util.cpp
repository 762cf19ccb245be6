#include "common/pki/openssl_util.hpp"

#include <openssl/err.h>

namespace aisle::pki::detail {

Error ssl_error(ErrorCode code, const std::string& what) {
  std::string message = what;
  while (const unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    message += ": ";
    message += buffer;
  }
  return make_error(code, message);
}

std::string name_entry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace aisle::pki::detail
