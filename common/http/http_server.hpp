// HttpServer: the one place cpp-httplib's server is adapted. Both daemons serve their APIs
// through it, with the same hardening: body limit (413), header/read/write timeouts against slow
// clients, TCP_NODELAY (httplib leaves Nagle on: ~44 ms per request otherwise), a sized worker
// pool, and per-route request metrics.
//
// Slow clients do not hold worker threads: connections wait for a complete request head in one
// poller thread, and heads, bodies and connection counts are bounded (GuardedServer).
//
// Handlers run on the server's worker threads; they must be thread-safe.
//
// A handler may answer with a streamed body (Response::stream: Server-Sent Events, long polls):
// the producer keeps the request's worker thread for as long as the stream lasts, so concurrent
// streams are capped (ServerOptions::max_streams, kept below `threads`); one more is answered
// 503 at once. Each chunk is written under the write timeout: a client that stops reading is
// cut off after it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port (see HttpServer::port())
  int threads = 32;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{5000};   // longest silence while reading a body
  std::chrono::milliseconds write_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};  // keep-alive connections idle longer close
  std::size_t max_keep_alive_requests = 10000;
  // Against slow and hostile clients (plain HTTP; common/http/guarded_server.hpp). Cut-offs are
  // counted in aisle_<component>_http_rejected_total{reason}.
  std::size_t max_connections = 512;      // open at once; one more is answered 503
  std::size_t max_header_bytes = 65536;   // request line + headers; over: 431
  std::chrono::milliseconds header_timeout{10000};   // first byte to end of head; over: 408
  std::chrono::milliseconds request_timeout{60000};  // end of head to end of body; over: 408
  // Streamed responses at once (each holds a worker thread); at most threads - 1, so plain
  // requests always keep a thread. Beyond: 503 with Retry-After.
  std::size_t max_streams = 8;
  // HTTPS when both are set (TLS 1.2 or newer). With client_ca_file, clients must also present a
  // certificate issued by that CA (mutual TLS).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  bool tls() const { return !tls_cert_file.empty() && !tls_key_file.empty(); }
};

// A request as handlers see it. Views are valid for the duration of the handler call.
struct Request {
  std::string_view method;
  std::string_view path;
  std::string_view body;
  std::string remote_addr;
  std::vector<std::string> path_params;  // regex captures of the route pattern
  const std::multimap<std::string, std::string>* query = nullptr;
  std::function<std::string(const std::string&)> header;  // "" when absent; case-insensitive

  std::string param(const std::string& name) const;  // first query value or ""
  bool has_param(const std::string& name) const;
};

// What a streaming producer writes to (see Response::stream).
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends the bytes now, as one chunk (empty bytes are ignored). False when the client is gone
  // or did not take them within the write timeout; the producer then returns false.
  virtual bool write(std::string_view bytes) = 0;
  // False once the server is stopping; the producer then returns false.
  virtual bool open() const = 0;
};
// Called again and again on the request's worker thread until it returns false (end of the
// body). Each call should return within a few hundred milliseconds (wait with a timeout), so
// that stop() is not held up by an idle stream.
using StreamProducer = std::function<bool(StreamWriter&)>;

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is produced by this (chunked transfer encoding) and `body` is ignored.
  StreamProducer stream;

  static Response json(int status, const std::string& body);
  // {"error": message} with the status; the shape every error answer has.
  static Response error(int status, const std::string& message);
};

using Handler = std::function<Response(const Request&)>;

class HttpServer {
 public:
  // `component` names the metrics: aisle_<component>_http_requests_total{route,code}, ...
  HttpServer(ServerOptions options, metrics::Registry& metrics, std::string component);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes are ECMAScript regexes over the path ("/v1/quarantine/(\\d+)"); `route` is the
  // low-cardinality label used in metrics ("/v1/quarantine/{id}").
  void get(const std::string& pattern, const std::string& route, Handler handler);
  void post(const std::string& pattern, const std::string& route, Handler handler);
  void put(const std::string& pattern, const std::string& route, Handler handler);
  void del(const std::string& pattern, const std::string& route, Handler handler);

  // Binds and starts serving on a background thread. Fails (kUnavailable) when the address
  // cannot be bound.
  Status start();
  int port() const { return bound_port_; }
  // Stops accepting, lets in-flight requests finish, joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int bound_port_ = 0;
};

// "host:port" -> (host, port); false when malformed.
bool parse_listen_address(std::string_view text, std::string& host, int& port);

}  // namespace aisle::http
