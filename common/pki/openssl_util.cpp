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

}  // namespace aisle::pki::detail
