#include "firmware_adapters/transports/udp_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/support/fake_adapter.hpp"

namespace aisle::adapters {
namespace {

using namespace std::chrono_literals;

void send_datagram(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&address),
                   sizeof address) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

}  // namespace

TEST_CASE("udp transport delivers one frame per datagram, newlines and all", "[adapters][udp]") {
  ManualClock clock;
  test::FrameCollector frames;
  UdpOptions options;
  options.listen = "127.0.0.1:0";
  UdpTransport transport(options, clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(transport.port() > 0);
  send_datagram(transport.port(), R"({"mac":"AC:23:3F:00:00:01","rssi":-61})");
  send_datagram(transport.port(), "two\nlines");
  REQUIRE(frames.wait_for(2));
  const auto all = frames.frames();
  REQUIRE(all[0].bytes == R"({"mac":"AC:23:3F:00:00:01","rssi":-61})");
  REQUIRE(all[1].bytes == "two\nlines");
  REQUIRE(all[0].origin.rfind("udp:127.0.0.1:", 0) == 0);
  REQUIRE(all[0].line == 0);
  REQUIRE(all[0].received_at == clock.now_unix_ms());
}

TEST_CASE("udp transport delivers a datagram over the limit cut and marked", "[adapters][udp]") {
  ManualClock clock;
  test::FrameCollector frames;
  UdpOptions options;
  options.listen = "127.0.0.1:0";
  options.max_datagram_bytes = 32;
  UdpTransport transport(options, clock);
  REQUIRE(transport.start(frames.sink()));
  send_datagram(transport.port(), std::string(32, 'a'));
  send_datagram(transport.port(), std::string(1000, 'b'));
  REQUIRE(frames.wait_for(2));
  const auto all = frames.frames();
  REQUIRE_FALSE(all[0].truncated);
  REQUIRE(all[1].truncated);
  REQUIRE(all[1].bytes == std::string(32, 'b'));
  REQUIRE(transport.stats().oversize == 1);
}

TEST_CASE("udp transport stop returns at once while waiting for datagrams", "[adapters][udp]") {
  ManualClock clock;
  test::FrameCollector frames;
  UdpOptions options;
  options.listen = "127.0.0.1:0";
  UdpTransport transport(options, clock);
  REQUIRE(transport.start(frames.sink()));
  std::this_thread::sleep_for(30ms);
  const auto started = std::chrono::steady_clock::now();
  transport.stop();
  REQUIRE(std::chrono::steady_clock::now() - started < 200ms);
  REQUIRE_FALSE(transport.stats().connected);
}

}  // namespace aisle::adapters
