// Serial transport against a real pseudo-terminal pair (openpty): the transport opens the slave
// side through a symlink, as it would /dev/serial/by-id/...; the test plays the device on the
// master side. Unplugging is closing the master; replugging is a new pair behind the same link.
#include "firmware_adapters/transports/serial_transport.hpp"

#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "tests/support/fake_adapter.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::adapters {
namespace {

using namespace std::chrono_literals;

// One pseudo-terminal: `master` is the device's end, `slave_path` the TTY the agent opens.
struct Pty {
  int master = -1;
  int slave = -1;
  std::string slave_path;
  Pty() {
    char name[128] = {};
    REQUIRE(::openpty(&master, &slave, name, nullptr, nullptr) == 0);
    slave_path = name;
  }
  ~Pty() { unplug(); }
  void write(const std::string& bytes) const {
    REQUIRE(::write(master, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  void unplug() {
    if (master >= 0) ::close(master);
    if (slave >= 0) ::close(slave);
    master = slave = -1;
  }
};

void link_device(const std::string& link, const std::string& target) {
  std::filesystem::remove(link);
  std::filesystem::create_symlink(target, link);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

SerialOptions options_for(const std::string& device) {
  SerialOptions options;
  options.device = device;
  options.reopen_backoff_base = 10ms;
  options.reopen_backoff_max = 50ms;
  return options;
}

}  // namespace

TEST_CASE("serial transport sets the port from config and reads lines in raw mode",
          "[adapters][serial]") {
  test::TempDir dir("aisle-serial");
  Pty pty;
  const std::string link = dir.file("ttyCOUNTER");
  link_device(link, pty.slave_path);
  ManualClock clock;
  test::FrameCollector frames;
  SerialOptions options = options_for(link);
  options.baud = 19200;
  options.data_bits = 7;
  options.parity = Parity::kEven;
  options.stop_bits = 2;
  SerialTransport transport(options, clock);
  REQUIRE(transport.describe() == "serial:" + link + "@19200,7E2");
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(wait_until([&] { return transport.stats().connected; }));

  termios tio{};
  REQUIRE(::tcgetattr(pty.slave, &tio) == 0);
  REQUIRE(::cfgetispeed(&tio) == B19200);
  REQUIRE(::cfgetospeed(&tio) == B19200);
  REQUIRE((tio.c_cflag & CSTOPB) != 0);           // a pty keeps neither CSIZE nor PARENB: see below
  REQUIRE((tio.c_lflag & (ICANON | ECHO)) == 0);  // raw: no line discipline, no echo

  pty.write("2026-11-28T14:05:00Z,door-main,in=3,out=1\r\n2026-11-28T14:06:00Z,door");
  pty.write("-main,in=0,out=2\n");
  REQUIRE(frames.wait_for(2));
  const auto all = frames.frames();
  REQUIRE(all[0].bytes == "2026-11-28T14:05:00Z,door-main,in=3,out=1");
  REQUIRE(all[1].bytes == "2026-11-28T14:06:00Z,door-main,in=0,out=2");
  REQUIRE(all[1].line == 2);
  REQUIRE(all[0].origin == "serial:" + link);

  const auto started = std::chrono::steady_clock::now();
  transport.stop();
  REQUIRE(std::chrono::steady_clock::now() - started < 200ms);
}

TEST_CASE("serial termios carries data bits, parity, stop bits and flow control",
          "[adapters][serial]") {
  termios tio{};
  SerialOptions options;
  options.baud = 115200;
  options.data_bits = 7;
  options.parity = Parity::kOdd;
  options.stop_bits = 2;
  options.flow_control = FlowControl::kRtsCts;
  configure_termios(tio, options);
  REQUIRE((tio.c_cflag & CSIZE) == CS7);
  REQUIRE((tio.c_cflag & PARENB) != 0);
  REQUIRE((tio.c_cflag & PARODD) != 0);
  REQUIRE((tio.c_cflag & CSTOPB) != 0);
  REQUIRE((tio.c_cflag & CRTSCTS) != 0);
  REQUIRE((tio.c_cflag & (CLOCAL | CREAD)) == (CLOCAL | CREAD));
  REQUIRE(::cfgetispeed(&tio) == B115200);
  REQUIRE((tio.c_lflag & (ICANON | ECHO | ISIG)) == 0);

  options.data_bits = 8;
  options.parity = Parity::kNone;
  options.stop_bits = 1;
  options.flow_control = FlowControl::kXonXoff;
  options.raw = false;
  configure_termios(tio, options);
  REQUIRE((tio.c_cflag & CSIZE) == CS8);
  REQUIRE((tio.c_cflag & (PARENB | CSTOPB | CRTSCTS)) == 0);
  REQUIRE((tio.c_iflag & IXON) != 0);
  REQUIRE((tio.c_lflag & ICANON) != 0);  // canonical input, still without echo
  REQUIRE((tio.c_lflag & ECHO) == 0);
}

TEST_CASE("serial transport survives an unplug: it reopens the device with backoff",
          "[adapters][serial]") {
  test::TempDir dir("aisle-serial");
  const std::string link = dir.file("ttyUSB-by-id");
  auto first = std::make_unique<Pty>();
  link_device(link, first->slave_path);
  ManualClock clock;
  test::FrameCollector frames;
  SerialTransport transport(options_for(link), clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(wait_until([&] { return transport.stats().connected; }));

  first->write("before-unplug\npartial");
  REQUIRE(frames.wait_for(1));
  std::this_thread::sleep_for(20ms);
  first->unplug();  // USB cable out
  REQUIRE(wait_until([&] { return !transport.stats().connected; }));
  REQUIRE(frames.wait_for(2));  // the pending partial line is delivered, not dropped
  REQUIRE_FALSE(transport.stats().last_error.empty());
  std::this_thread::sleep_for(100ms);  // a few failed reopen attempts

  Pty second;  // plugged back in: a new node behind the same stable link
  link_device(link, second.slave_path);
  REQUIRE(wait_until([&] { return transport.stats().connected; }));
  second.write("after-replug\n");
  REQUIRE(frames.wait_for(3));
  REQUIRE(frames.lines() == std::vector<std::string>{"before-unplug", "partial", "after-replug"});
  // At least the reopen of the new node. The old pty node can outlive its master for a moment,
  // so a reopen may land on it once more before it fails for good (seen once under ctest -j2).
  REQUIRE(transport.stats().reconnects >= 1);
  transport.stop();
}

TEST_CASE("serial transport waits for a device missing at start, and stops promptly meanwhile",
          "[adapters][serial]") {
  test::TempDir dir("aisle-serial");
  const std::string link = dir.file("ttyLATE");
  ManualClock clock;
  test::FrameCollector frames;
  SerialTransport transport(options_for(link), clock);
  REQUIRE(transport.start(frames.sink()));
  std::this_thread::sleep_for(60ms);
  REQUIRE_FALSE(transport.stats().connected);
  REQUIRE_THAT(transport.stats().last_error, Catch::Contains("No such file"));

  Pty pty;
  link_device(link, pty.slave_path);
  REQUIRE(wait_until([&] { return transport.stats().connected; }));
  pty.write("hello\n");
  REQUIRE(frames.wait_for(1));
  REQUIRE(transport.stats().reconnects == 0);
  transport.stop();

  SerialTransport missing(options_for(dir.file("never-there")), clock);
  REQUIRE(missing.start(frames.sink()));
  std::this_thread::sleep_for(30ms);
  const auto started = std::chrono::steady_clock::now();
  missing.stop();
  REQUIRE(std::chrono::steady_clock::now() - started < 200ms);
}

}  // namespace aisle::adapters
