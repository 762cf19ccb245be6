#include "common/http/http_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "common/http/guarded_server.hpp"
#include "common/log.hpp"

namespace aisle::http {
namespace {

const log::Logger kLog("http");

std::string escape_json_string(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// The StreamWriter over httplib's DataSink for one call of the content provider.
class SinkWriter final : public StreamWriter {
 public:
  SinkWriter(httplib::DataSink& sink, const std::atomic<bool>& stopping)
      : sink_(sink), stopping_(stopping) {}
  bool write(std::string_view bytes) override {
    if (failed_) return false;
    // httplib ends the body on an empty write: skip those.
    if (bytes.empty()) return true;
    if (!sink_.write(bytes.data(), bytes.size())) failed_ = true;
    return !failed_;
  }
  bool open() const override { return !stopping_.load() && !failed_; }
  bool failed() const { return failed_; }

 private:
  httplib::DataSink& sink_;
  const std::atomic<bool>& stopping_;
  bool failed_ = false;
};

}  // namespace

std::string Request::param(const std::string& name) const {
  if (!query) return "";
  auto it = query->find(name);
  return it == query->end() ? "" : it->second;
}

bool Request::has_param(const std::string& name) const {
  return query && query->find(name) != query->end();
}

Response Response::json(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.body = body;
  return r;
}

Response Response::error(int status, const std::string& message) {
  return json(status, "{\"error\":" + escape_json_string(message) + "}\n");
}

struct HttpServer::Impl {
  ServerOptions options;
  metrics::Registry& metrics;
  std::string component;
  // An httplib::SSLServer when TLS is configured; `tls_error` (declared first: make_server fills
  // it during construction) says why it could not be set up.
  std::string tls_error;
  // owned_server when it is plain HTTP (declared before it: make_server sets it).
  GuardedServer* guarded_server = nullptr;
  std::unique_ptr<httplib::Server> owned_server;
  httplib::Server& server;
  std::thread thread;
  metrics::Histogram* duration = nullptr;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> active_streams{0};
  std::size_t max_streams = 0;
  metrics::Gauge* streams_gauge = nullptr;
  metrics::Counter* streams_refused = nullptr;

  // Holds one of the max_streams places while the streamed response exists.
  struct StreamSlot {
    Impl& impl;
    explicit StreamSlot(Impl& i) : impl(i) { impl.streams_gauge->inc(); }
    ~StreamSlot() {
      impl.active_streams.fetch_sub(1);
      impl.streams_gauge->dec();
    }
  };
  std::shared_ptr<StreamSlot> acquire_stream() {
    std::size_t current = active_streams.load();
    while (current < max_streams) {
      if (active_streams.compare_exchange_weak(current, current + 1)) {
        return std::make_shared<StreamSlot>(*this);
      }
    }
    return nullptr;
  }

  Impl(ServerOptions o, metrics::Registry& m, std::string c)
      : options(std::move(o)),
        metrics(m),
        component(std::move(c)),
        owned_server(make_server(options, tls_error)),
        server(*owned_server) {}

  // Plain HTTP: the GuardedServer (slow-client protection); TLS: httplib's SSLServer.
  std::unique_ptr<httplib::Server> make_server(const ServerOptions& o, std::string& error) {
    if (!o.tls()) {
      GuardLimits limits;
      limits.threads = static_cast<std::size_t>(std::max(1, o.threads));
      limits.max_connections = o.max_connections;
      limits.max_header_bytes = o.max_header_bytes;
      limits.max_body_bytes = o.max_body_bytes;
      limits.header_timeout = o.header_timeout;
      limits.request_timeout = o.request_timeout;
      limits.read_timeout = o.read_timeout;
      limits.write_timeout = o.write_timeout;
      limits.idle_timeout = o.idle_timeout;
      limits.max_keep_alive_requests = o.max_keep_alive_requests;
      auto& open = metrics.gauge("aisle_" + component + "_http_connections_open",
                                 "HTTP connections open (waiting for a request or being served)");
      auto guarded = std::make_unique<GuardedServer>(
          limits,
          [this](RejectReason reason) {
            metrics
                .counter("aisle_" + component + "_http_rejected_total",
                         "HTTP connections or requests cut off by a limit or timeout",
                         {{"reason", std::string(reject_reason_name(reason))}})
                .inc();
          },
          [&open](std::ptrdiff_t delta) { open.inc(static_cast<double>(delta)); });
      guarded_server = guarded.get();
      return guarded;
    }
    auto tls = std::make_unique<httplib::SSLServer>(
        o.tls_cert_file.c_str(), o.tls_key_file.c_str(),
        o.tls_client_ca_file.empty() ? nullptr : o.tls_client_ca_file.c_str());
    if (!tls->is_valid()) {
      error = "cannot load TLS certificate " + o.tls_cert_file + " / key " + o.tls_key_file +
              (o.tls_client_ca_file.empty() ? "" : " / client CA " + o.tls_client_ca_file);
    } else if (SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION) != 1) {
      error = "cannot require TLS 1.2 or newer";
    }
    return tls;
  }

  httplib::Server::Handler wrap(const std::string& route, Handler handler) {
    return [this, route, handler = std::move(handler)](const httplib::Request& in,
                                                       httplib::Response& out) {
      const auto started = std::chrono::steady_clock::now();
      Request request;
      request.method = in.method;
      request.path = in.path;
      request.body = in.body;
      request.remote_addr = in.remote_addr;
      for (std::size_t i = 1; i < in.matches.size(); ++i) {
        request.path_params.push_back(in.matches[i].str());
      }
      request.query = &in.params;
      request.header = [&in](const std::string& name) { return in.get_header_value(name); };
      Response response = handler(request);
      std::shared_ptr<StreamSlot> slot;
      if (response.stream) {
        slot = acquire_stream();
        if (!slot) {
          streams_refused->inc();
          response = Response::error(503, "too many streaming clients (limit " +
                                              std::to_string(max_streams) + "); retry later");
          response.headers.emplace_back("Retry-After", "5");
        }
      }
      out.status = response.status;
      for (auto& [name, value] : response.headers) out.set_header(name, value);
      if (slot) {
        out.set_chunked_content_provider(
            response.content_type,
            [this, slot, producer = std::move(response.stream)](std::size_t,
                                                                httplib::DataSink& sink) {
              SinkWriter writer(sink, stopping);
              const bool more = !stopping.load() && producer(writer);
              if (writer.failed()) return false;  // the client is gone: cancel
              if (!more) sink.done();
              return true;
            });
      } else {
        out.set_content(std::move(response.body), response.content_type);
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics
          .counter("aisle_" + component + "_http_requests_total", "HTTP requests by route and code",
                   {{"route", route}, {"code", std::to_string(response.status)}})
          .inc();
      metrics
          .histogram("aisle_" + component + "_http_request_duration_seconds",
                     "HTTP request handling time by route", metrics::latency_buckets_seconds(),
                     {{"route", route}})
          .observe(seconds);
    };
  }
};

HttpServer::HttpServer(ServerOptions options, metrics::Registry& metrics, std::string component)
    : impl_(std::make_unique<Impl>(std::move(options), metrics, std::move(component))) {
  auto& server = impl_->server;
  const auto& o = impl_->options;
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(o.max_body_bytes);
  server.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(o.read_timeout));
  server.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(o.write_timeout));
  server.set_keep_alive_timeout(
      std::max<time_t>(1, std::chrono::duration_cast<std::chrono::seconds>(o.idle_timeout).count()));
  server.set_keep_alive_max_count(o.max_keep_alive_requests);
  const int threads = o.threads;
  impl_->max_streams = std::min<std::size_t>(
      o.max_streams, static_cast<std::size_t>(std::max(1, threads - 1)));
  impl_->streams_gauge = &impl_->metrics.gauge("aisle_" + impl_->component + "_http_streams_active",
                                               "Streamed HTTP responses in progress");
  impl_->streams_refused = &impl_->metrics.counter(
      "aisle_" + impl_->component + "_http_streams_refused_total",
      "Streamed HTTP requests answered 503 because max_streams were in progress");
  // The GuardedServer brings its own workers.
  if (!impl_->guarded_server) {
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  }
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        // Last resort: a handler threw. Answer 500 and log; the server keeps running.
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        kLog.error("handler threw", {{"path", req.path}, {"error", what}});
        res.status = 500;
        res.set_content("{\"error\":\"internal error\"}\n", "application/json");
      });
  server.set_error_handler([o](const httplib::Request&, httplib::Response& res) {
    // A body cut off by the guard reaches here as httplib's 400: say what happened.
    if (const RejectReason* failure = GuardedServer::current_body_failure()) {
      const bool too_large = *failure == RejectReason::kBodyTooLarge;
      res.status = too_large ? 413 : 408;
      res.set_content(
          too_large ? "{\"error\":\"request body exceeds max_body_bytes (" +
                          std::to_string(o.max_body_bytes) + ")\"}\n"
                    : "{\"error\":\"request body not received within request_timeout (" +
                          std::to_string(o.request_timeout.count()) + " ms) or read_timeout (" +
                          std::to_string(o.read_timeout.count()) + " ms)\"}\n",
          "application/json");
      return;
    }
    // httplib's own errors (413 over the body limit, 404 no route, 400 bad request line).
    if (!res.body.empty()) return;
    const char* message = res.status == 413   ? "request body exceeds the configured limit"
                          : res.status == 404 ? "no such endpoint"
                          : res.status == 405 ? "method not allowed"
                          : res.status == 414 ? "request line too long"
                                              : "bad request";
    res.set_content(std::string("{\"error\":\"") + message + "\"}\n", "application/json");
  });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::get(const std::string& pattern, const std::string& route, Handler handler) {
  impl_->server.Get(pattern, impl_->wrap(route, std::move(handler)));
}
void HttpServer::post(const std::string& pattern, const std::string& route, Handler handler) {
  impl_->server.Post(pattern, impl_->wrap(route, std::move(handler)));
}
void HttpServer::put(const std::string& pattern, const std::string& route, Handler handler) {
  impl_->server.Put(pattern, impl_->wrap(route, std::move(handler)));
}
void HttpServer::del(const std::string& pattern, const std::string& route, Handler handler) {
  impl_->server.Delete(pattern, impl_->wrap(route, std::move(handler)));
}

Status HttpServer::start() {
  auto& server = impl_->server;
  const auto& o = impl_->options;
  if (!impl_->tls_error.empty()) {
    return make_error(ErrorCode::kInvalidArgument, impl_->tls_error);
  }
  if (o.port == 0) {
    bound_port_ = server.bind_to_any_port(o.host);
    if (bound_port_ <= 0) {
      return make_error(ErrorCode::kUnavailable, "cannot bind " + o.host + ":0");
    }
  } else {
    if (!server.bind_to_port(o.host, o.port)) {
      return make_error(ErrorCode::kUnavailable,
                        "cannot bind " + o.host + ":" + std::to_string(o.port) +
                            " (address in use or not permitted)");
    }
    bound_port_ = o.port;
  }
  if (impl_->guarded_server) impl_->guarded_server->widen_backlog();
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return ok_status();
}

void HttpServer::stop() {
  if (!impl_) return;
  if (impl_->thread.joinable()) {
    impl_->stopping = true;  // streaming producers return, so their worker threads are freed
    impl_->server.stop();
    impl_->thread.join();
  }
  if (impl_->guarded_server) impl_->guarded_server->shutdown();
}

bool parse_listen_address(std::string_view text, std::string& host, int& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  host = std::string(text.substr(0, colon));
  port = 0;
  for (const char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
    if (port > 65535) return false;
  }
  return colon + 1 < text.size();
}

}  // namespace aisle::http
