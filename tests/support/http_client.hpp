// HttpClient: a small blocking HTTP/1.1 client for integration and fault tests (one request per
// connection, `Connection: close`), so the tests talk to the agents' and the collector's APIs the
// way any producer would, without depending on how the daemons' HTTP library was configured.
//
// Not thread-safe to share an instance's mutable settings while requests run; copies are cheap,
// and const requests from several threads on one instance are fine (each opens its own socket).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace aisle::test {

struct HttpResponse {
  int status = 0;     // 0: no HTTP answer (connection refused or reset, timeout); see `error`
  std::string error;  // transport error when status == 0
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  bool answered() const { return status != 0; }
  // The body parsed as JSON; a discarded value when it is not JSON.
  nlohmann::json json() const;
  std::string header(const std::string& lowercase_name) const;
  // "status 202: {...}" or "no answer: connection refused", for assertion messages.
  std::string describe(std::size_t max_body = 500) const;
};

class HttpClient {
 public:
  // `base_url` is "http://host:port" (no path). `bearer`: sent as `Authorization: Bearer ...`
  // when not empty.
  explicit HttpClient(const std::string& base_url, std::string bearer = {});

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  void set_bearer(std::string bearer) { bearer_ = std::move(bearer); }

  HttpResponse get(const std::string& path_and_query) const;
  HttpResponse post(const std::string& path, const std::string& body,
                    const std::string& content_type = "application/json") const;
  // Any method; `extra_headers` are sent as given (e.g. a wrong Authorization).
  HttpResponse request(const std::string& method, const std::string& path, const std::string& body,
                       const std::string& content_type,
                       const std::vector<std::pair<std::string, std::string>>& extra_headers,
                       bool with_bearer = true) const;

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  std::string host_;
  int port_ = 0;
  std::string bearer_;
  std::chrono::milliseconds timeout_{30000};
};

}  // namespace aisle::test
