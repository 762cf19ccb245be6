#include "firmware_adapters/transports/tcp_line_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/support/fake_adapter.hpp"

namespace aisle::adapters {
namespace {

using namespace std::chrono_literals;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
}

TcpLineOptions loopback(std::size_t max_line_bytes = 64) {
  TcpLineOptions options;
  options.listen = "127.0.0.1:0";
  options.max_line_bytes = max_line_bytes;
  return options;
}

}  // namespace

TEST_CASE("tcp transport takes lines from several device connections at once", "[adapters][tcp]") {
  ManualClock clock;
  test::FrameCollector frames;
  TcpLineTransport transport(loopback(), clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(transport.port() > 0);
  REQUIRE(transport.describe() == "tcp:127.0.0.1:" + std::to_string(transport.port()));

  const int a = connect_to(transport.port());
  const int b = connect_to(transport.port());
  send_all(a, "2026-11-28T14:05:00Z,door-main,in=3,out=1\r\n2026-11-28T14:06");
  send_all(b, "b-line-1\n");
  REQUIRE(frames.wait_for(2));
  send_all(a, ":00Z,door-main,in=1,out=0\n");
  REQUIRE(frames.wait_for(3));
  ::close(a);
  ::close(b);

  auto all = frames.frames();
  std::vector<std::string> from_a;
  for (const auto& f : all) {
    REQUIRE(f.received_at == clock.now_unix_ms());
    REQUIRE(f.origin.rfind("tcp:127.0.0.1:", 0) == 0);
    REQUIRE_FALSE(f.truncated);
    if (f.bytes.rfind("2026", 0) == 0) from_a.push_back(f.bytes + "#" + std::to_string(f.line));
  }
  REQUIRE(from_a == std::vector<std::string>{"2026-11-28T14:05:00Z,door-main,in=3,out=1#1",
                                             "2026-11-28T14:06:00Z,door-main,in=1,out=0#2"});
  transport.stop();
  const TransportStats stats = transport.stats();
  REQUIRE(stats.frames == 3);
  REQUIRE(stats.connections == 2);
}

TEST_CASE("tcp transport delivers an oversize line cut and marked, then the next line whole",
          "[adapters][tcp]") {
  ManualClock clock;
  test::FrameCollector frames;
  TcpLineTransport transport(loopback(16), clock);
  REQUIRE(transport.start(frames.sink()));
  const int fd = connect_to(transport.port());
  send_all(fd, std::string(100, 'x') + "\nshort\n");
  REQUIRE(frames.wait_for(2));
  const auto all = frames.frames();
  REQUIRE(all[0].bytes == std::string(16, 'x'));
  REQUIRE(all[0].truncated);
  REQUIRE(all[1].bytes == "short");
  REQUIRE_FALSE(all[1].truncated);
  REQUIRE(transport.stats().oversize == 1);
  ::close(fd);
}

TEST_CASE("tcp transport delivers an unterminated last line when the device disconnects",
          "[adapters][tcp]") {
  ManualClock clock;
  test::FrameCollector frames;
  TcpLineTransport transport(loopback(), clock);
  REQUIRE(transport.start(frames.sink()));
  const int fd = connect_to(transport.port());
  send_all(fd, "first\nlast-without-newline");
  ::close(fd);
  REQUIRE(frames.wait_for(2));
  REQUIRE(frames.lines() == std::vector<std::string>{"first", "last-without-newline"});
}

TEST_CASE("tcp transport stop interrupts an idle connection at once", "[adapters][tcp]") {
  ManualClock clock;
  test::FrameCollector frames;
  TcpLineTransport transport(loopback(), clock);
  REQUIRE(transport.start(frames.sink()));
  const int fd = connect_to(transport.port());
  std::this_thread::sleep_for(50ms);
  const auto started = std::chrono::steady_clock::now();
  transport.stop();
  REQUIRE(std::chrono::steady_clock::now() - started < 200ms);
  char byte = 0;
  REQUIRE(::recv(fd, &byte, 1, 0) == 0);  // the server side closed
  ::close(fd);
  transport.stop();  // idempotent
}

TEST_CASE("tcp transport refuses a busy port at start", "[adapters][tcp]") {
  ManualClock clock;
  test::FrameCollector frames;
  TcpLineTransport first(loopback(), clock);
  REQUIRE(first.start(frames.sink()));
  TcpLineOptions same = loopback();
  same.listen = "127.0.0.1:" + std::to_string(first.port());
  TcpLineTransport second(same, clock);
  const Status status = second.start(frames.sink());
  REQUIRE_FALSE(status);
  REQUIRE_THAT(status.error().message, Catch::Contains("bind 127.0.0.1:"));
}

TEST_CASE("tcp transport closes connections beyond max_connections", "[adapters][tcp]") {
  ManualClock clock;
  test::FrameCollector frames;
  TcpLineOptions options = loopback();
  options.max_connections = 1;
  TcpLineTransport transport(options, clock);
  REQUIRE(transport.start(frames.sink()));
  const int a = connect_to(transport.port());
  send_all(a, "kept\n");
  REQUIRE(frames.wait_for(1));
  const int b = connect_to(transport.port());
  char byte = 0;
  REQUIRE(::recv(b, &byte, 1, 0) == 0);
  REQUIRE(transport.stats().last_error == "max_connections reached");
  ::close(a);
  ::close(b);
}

}  // namespace aisle::adapters
