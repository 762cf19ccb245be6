// Fault: slow and hostile HTTP clients (slowloris, huge headers, endless or lying bodies, deeply
// nested JSON, more connections than workers) are cut off by the limits and timeouts of
// common/http/guarded_server.hpp — with 408/413/431/503 where HTTP allows, counted in
// aisle_<component>_http_rejected_total{reason} — while a normal client keeps getting answers
// with bounded latency. The attacks use raw POSIX sockets; the normal client is httplib's.
//
// First against an in-process HttpServer with short limits (each limit precisely), then against
// the real agent and collector processes with their default configuration.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/http/http_server.hpp"
#include "common/metrics.hpp"
#include "tests/support/pipeline_env.hpp"

namespace aisle::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// One raw TCP connection to 127.0.0.1:port, closed on destruction.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False once the server closed or reset the connection (or it never connected).
  bool send(std::string_view bytes) {
    while (fd_ >= 0 && !bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
  }
  // Reads until the server closes the connection or `timeout` passes; what arrived.
  std::string read_until_closed(milliseconds timeout) {
    std::string out;
    const auto deadline = Clock::now() + timeout;
    char buffer[4096];
    while (fd_ >= 0) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed_by_server() const { return closed_; }
  // Something (an answer, or the close) is there to be read.
  bool readable() const {
    pollfd pfd{fd_, POLLIN, 0};
    return fd_ >= 0 && ::poll(&pfd, 1, 0) > 0;
  }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

// "HTTP/1.1 431 ..." -> 431; 0 when there is no status line.
int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// Latencies of `count` GET `path` by a normal (httplib) client, one after the other; a failed
// request counts as 10 s.
std::vector<double> normal_latencies(int port, const std::string& path, int count, int* failures) {
  std::vector<double> seconds_taken;
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(seconds(5));
  client.set_read_timeout(seconds(5));
  for (int i = 0; i < count; ++i) {
    const auto started = Clock::now();
    auto result = client.Get(path.c_str());
    const double took = std::chrono::duration<double>(Clock::now() - started).count();
    const bool ok = result && result->status == 200;
    if (!ok && failures) ++*failures;
    seconds_taken.push_back(ok ? took : 10.0);
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::sort(seconds_taken.begin(), seconds_taken.end());
  return seconds_taken;
}

double p99(const std::vector<double>& sorted) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(0.99 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// Slowloris: `count` connections that each send a request line and then one header byte every
// `gap`, for as long as the server lets them. Runs on its own thread until stop().
class Slowloris {
 public:
  Slowloris(int port, int count, milliseconds gap) {
    thread_ = std::thread([this, port, count, gap] {
      std::vector<std::unique_ptr<RawConnection>> connections;
      for (int i = 0; i < count; ++i) {
        auto c = std::make_unique<RawConnection>(port);
        if (c->connected() && c->send("GET /healthz HTTP/1.1\r\nHost: x\r\n")) ++opened_;
        connections.push_back(std::move(c));
      }
      while (!stop_.load()) {
        for (auto& c : connections) {
          if (c && !c->send("X")) c.reset();  // cut off by the server
        }
        std::this_thread::sleep_for(gap);
      }
    });
  }
  ~Slowloris() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int opened() const { return opened_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> opened_{0};
  std::thread thread_;
};

// An in-process server with short limits: GET /ping, POST /echo (answers the body size).
struct SmallServer {
  metrics::Registry metrics;
  std::unique_ptr<http::HttpServer> server;
  std::atomic<int> echo_calls{0};

  explicit SmallServer(http::ServerOptions options = small_options()) {
    server = std::make_unique<http::HttpServer>(options, metrics, "test");
    server->get("/ping", "/ping", [](const http::Request&) {
      return http::Response::json(200, "{\"pong\":true}\n");
    });
    server->post("/echo", "/echo", [this](const http::Request& r) {
      ++echo_calls;
      return http::Response::json(200, "{\"bytes\":" + std::to_string(r.body.size()) + "}\n");
    });
    REQUIRE(server->start());
  }
  static http::ServerOptions small_options() {
    http::ServerOptions o;
    o.threads = 4;
    o.max_connections = 100;
    o.max_header_bytes = 16 * 1024;
    o.max_body_bytes = 64 * 1024;
    o.header_timeout = milliseconds(1500);
    o.request_timeout = milliseconds(2000);
    o.read_timeout = milliseconds(1000);
    o.idle_timeout = milliseconds(3000);
    return o;
  }
  int port() const { return server->port(); }
  double rejected(const std::string& reason) const {
    return metrics.value("aisle_test_http_rejected_total", {{"reason", reason}});
  }
};

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

}  // namespace

TEST_CASE("slowloris connections are cut off after header_timeout while normal clients are served",
          "[fault][http]") {
  SmallServer s;
  // Far more slow connections than worker threads (4).
  Slowloris attack(s.port(), 60, milliseconds(300));
  REQUIRE(wait_until([&] { return attack.opened() == 60; }, seconds(5)));
  int failures = 0;
  const auto latencies = normal_latencies(s.port(), "/ping", 20, &failures);
  INFO("p99 " << p99(latencies) << " s, failures " << failures);
  CHECK(failures == 0);
  CHECK(p99(latencies) < 1.0);
  // Every slow connection is answered 408 and closed once its head is overdue.
  REQUIRE(wait_until([&] { return s.rejected("header_timeout") >= 60; }, seconds(10)));
  // ...and closed for good after the linger (their sender keeps writing into the void).
  CHECK(wait_until([&] { return s.metrics.value("aisle_test_http_connections_open") == 0; },
                   seconds(5)));
}

TEST_CASE("a slow head gets 408 and a silent connection is closed after header_timeout",
          "[fault][http]") {
  SmallServer s;
  RawConnection slow(s.port());
  RawConnection silent(s.port());
  REQUIRE(slow.send("POST /echo HTTP/1.1\r\nHost: x\r\n"));
  const std::string answer = slow.read_until_closed(seconds(5));
  CHECK(status_of(answer) == 408);
  CHECK(answer.find("header_timeout") != std::string::npos);
  CHECK(slow.closed_by_server());
  CHECK(silent.read_until_closed(seconds(5)).empty());
  CHECK(silent.closed_by_server());
  CHECK(s.rejected("header_timeout") == 2);
}

TEST_CASE("a request head of 1 MiB is answered 431 before it is all read", "[fault][http]") {
  SmallServer s;
  RawConnection huge(s.port());
  std::string head = "GET /ping HTTP/1.1\r\nHost: x\r\n";
  while (head.size() < (1u << 20)) head += "X-Filler-" + std::to_string(head.size()) + ": y\r\n";
  head += "\r\n";
  // The server stops reading at the limit: the send may fail part way (reset), the answer is
  // there first.
  (void)huge.send(head);
  const std::string answer = huge.read_until_closed(seconds(5));
  CHECK(status_of(answer) == 431);
  CHECK(answer.find("max_header_bytes (16384)") != std::string::npos);
  CHECK(s.rejected("headers_too_large") == 1);
  int failures = 0;
  CHECK(p99(normal_latencies(s.port(), "/ping", 5, &failures)) < 1.0);
  CHECK(failures == 0);
}

TEST_CASE("endless and lying bodies are cut off with 413 or 408", "[fault][http]") {
  SmallServer s;
  SECTION("a declared Content-Length over the limit is refused before the body is read") {
    RawConnection c(s.port());
    REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776\r\n\r\n"));
    (void)c.send(std::string(8192, 'a'));
    const std::string answer = c.read_until_closed(seconds(5));
    CHECK(status_of(answer) == 413);
    CHECK(answer.find("Connection: close") != std::string::npos);
    CHECK(c.closed_by_server());
    CHECK(s.rejected("body_too_large") == 1);
  }
  SECTION("a chunked body that never ends is cut off at max_body_bytes plus framing") {
    RawConnection c(s.port());
    REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string piece = chunk(std::string(4096, 'b'));
    std::size_t sent = 0;
    while (sent < 4u << 20 && !c.readable() && c.send(piece)) sent += piece.size();
    INFO("sent " << sent << " bytes before the answer arrived (socket buffers hold megabytes)");
    const std::string answer = c.read_until_closed(seconds(5));
    CHECK(status_of(answer) == 413);
    CHECK(answer.find("max_body_bytes (65536)") != std::string::npos);
    CHECK(s.rejected("body_too_large") == 1);
    CHECK(s.echo_calls == 0);  // the handler never saw it
  }
  SECTION("a body that stops short of its Content-Length gets 408 after read_timeout") {
    RawConnection c(s.port());
    REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789"));
    const auto started = Clock::now();
    const std::string answer = c.read_until_closed(seconds(5));
    CHECK(status_of(answer) == 408);
    CHECK(Clock::now() - started < seconds(3));
    CHECK(s.rejected("body_timeout") == 1);
  }
  SECTION("a body trickled one byte a second is cut off at request_timeout") {
    RawConnection c(s.port());
    REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const auto started = Clock::now();
    std::string answer;
    for (int i = 0; i < 10 && answer.empty(); ++i) {
      (void)c.send(chunk("z"));
      answer = c.read_until_closed(milliseconds(600));
    }
    CHECK(status_of(answer) == 408);
    CHECK(Clock::now() - started < milliseconds(3500));
    CHECK(s.rejected("body_timeout") == 1);
  }
  // Whatever was cut off, the server still answers.
  int failures = 0;
  CHECK(p99(normal_latencies(s.port(), "/ping", 5, &failures)) < 1.0);
  CHECK(failures == 0);
}

TEST_CASE(
    "idle connections beyond the worker pool do not block others and one beyond max_connections "
    "gets 503",
    "[fault][http]") {
  http::ServerOptions options = SmallServer::small_options();
  options.header_timeout = seconds(20);  // the idle connections stay for the whole test
  SmallServer s(options);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 98; ++i) idle.push_back(std::make_unique<RawConnection>(s.port()));
  REQUIRE(wait_until([&] { return s.metrics.value("aisle_test_http_connections_open") == 98; },
                     seconds(5)));
  // 98 of 100 places taken by silent clients, 4 workers: normal clients still get answers.
  int failures = 0;
  const auto latencies = normal_latencies(s.port(), "/ping", 20, &failures);
  CHECK(failures == 0);
  CHECK(p99(latencies) < 1.0);
  {
    RawConnection holder_99(s.port());
    RawConnection holder_100(s.port());
    REQUIRE(wait_until([&] { return s.metrics.value("aisle_test_http_connections_open") == 100; },
                       seconds(5)));
    RawConnection one_more(s.port());
    const std::string answer = one_more.read_until_closed(seconds(3));
    CHECK(status_of(answer) == 503);
    CHECK(answer.find("max_connections 100") != std::string::npos);
    CHECK(s.rejected("too_many_connections") == 1);
  }
  // Pipelined and keep-alive requests still work on a normal connection (once the two places
  // are free again).
  REQUIRE(wait_until([&] { return s.metrics.value("aisle_test_http_connections_open") == 98; },
                     seconds(5)));
  RawConnection keep(s.port());
  REQUIRE(
      keep.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n"
                "Connection: close\r\n\r\n"));
  const std::string both = keep.read_until_closed(seconds(3));
  CHECK(both.find("HTTP/1.1 200") != std::string::npos);
  CHECK(both.find("HTTP/1.1 200", both.find("HTTP/1.1 200") + 1) != std::string::npos);
}

TEST_CASE(
    "the agent and the collector stay responsive under slowloris and huge headers and nested JSON",
    "[fault][http][agent][collector]") {
  PipelineEnv env;
  const HttpClient agent = env.agent(1);
  const HttpClient collector = env.collector();
  for (const auto& [name, port] : {std::pair{std::string("agent"), agent.port()},
                                   std::pair{std::string("collector"), collector.port()}}) {
    INFO(name);
    const HttpClient& client = name == "agent" ? agent : collector;
    {
      // More slow connections than the default 32 workers.
      Slowloris attack(port, 80, seconds(1));
      REQUIRE(wait_until([&] { return attack.opened() == 80; }, seconds(5)));
      int failures = 0;
      const auto latencies = normal_latencies(port, "/healthz", 20, &failures);
      INFO("p99 of 20 requests during slowloris " << p99(latencies) << " s");
      CHECK(failures == 0);
      CHECK(p99(latencies) < 1.0);
    }
    RawConnection huge(port);
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    while (head.size() < (1u << 20)) head += "X-Filler-" + std::to_string(head.size()) + ": y\r\n";
    (void)huge.send(head + "\r\n");
    CHECK(status_of(huge.read_until_closed(seconds(5))) == 431);

    // 100k '[' (unclosed); 30k '[' closed again, and an event whose property nests 30k deep
    // (both under the 64 KiB record limit, so the depth limit is what refuses them): refused as
    // a bad body (4xx) or as a rejected record (202, nothing accepted), never parsed by
    // unbounded recursion.
    httplib::Client json_client("127.0.0.1", port);
    json_client.set_read_timeout(seconds(10));
    httplib::Headers headers;
    if (name == "collector") headers.emplace("Authorization", "Bearer " + env.env().write_key);
    const std::string deep = std::string(30000, '[') + std::string(30000, ']');
    for (const std::string& body :
         {std::string(100000, '['), deep,
          "{\"event_id\":\"018f0000-0000-7000-8000-000000000000\",\"properties\":{\"x\":" + deep +
              "}}\n"}) {
      const auto nested = json_client.Post("/v1/events", headers, body, "application/json");
      REQUIRE(nested);
      INFO("nested JSON answer " << nested->status << " " << nested->body.substr(0, 300));
      const auto answer = nlohmann::json::parse(nested->body, nullptr, false);
      const bool refused_whole = nested->status >= 400 && nested->status < 500;
      const bool record_rejected = nested->status == 202 && answer.is_object() &&
                                   answer.value("accepted", -1) == 0 &&
                                   answer["rejected"].size() == 1;
      CHECK((refused_whole || record_rejected));
    }

    const std::string metrics = client.get("/metrics").body;
    const std::string family = "aisle_" + name + "_http_rejected_total";
    CHECK(metric_value(metrics, family + "{reason=\"headers_too_large\"}").value_or(0) == 1);
    CHECK(client.get("/healthz").status == 200);
  }
}

}  // namespace aisle::test
