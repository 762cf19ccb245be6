#include "common/process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "tests/support/process_guard.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle {
namespace {

using namespace std::chrono_literals;

SpawnOptions shell(const std::string& script, const std::string& log_file = "") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.log_file = log_file;
  return o;
}

// A listening socket on a free loopback port, closed at scope end.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd); }
  int fd = -1;
  int port = 0;
};

}  // namespace

TEST_CASE("a spawned child writes stdout and stderr to its log and its exit status is kept",
          "[unit][process]") {
  test::TempDir dir;
  const std::string log = dir.file("log/child.log");
  auto pid = spawn(shell("echo out; echo err >&2; echo \"$AISLE_X\"; exit 3", log));
  REQUIRE(pid.ok());
  SpawnOptions with_env = shell("echo \"$AISLE_X\" in $(pwd)", log);
  with_env.env = {{"AISLE_X", "hello"}};
  with_env.working_dir = dir.path().string();

  while (is_running(*pid)) std::this_thread::sleep_for(10ms);
  CHECK(exit_status(*pid) == 3);
  auto second = spawn(with_env);
  REQUIRE(second.ok());
  while (is_running(*second)) std::this_thread::sleep_for(10ms);
  CHECK(test::read_file(log) == "out\nerr\n\nhello in " + dir.path().string() + "\n");
}

TEST_CASE("spawning a missing program is a not-found error", "[unit][process]") {
  SpawnOptions o;
  o.argv = {"/nonexistent/aisle-daemon"};
  auto pid = spawn(o);
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.error().code == ErrorCode::kNotFound);
}

TEST_CASE("terminate escalates to SIGKILL when SIGTERM is ignored", "[unit][process]") {
  auto graceful = spawn(shell("exec sleep 30"));
  auto stubborn = spawn(shell("trap '' TERM; while true; do sleep 0.05; done"));
  REQUIRE(graceful.ok());
  REQUIRE(stubborn.ok());
  std::this_thread::sleep_for(100ms);  // let the shell install its trap

  REQUIRE(terminate(*graceful, 5s).ok());
  CHECK_FALSE(is_running(*graceful));
  CHECK(exit_status(*graceful) == 128 + SIGTERM);

  const auto start = std::chrono::steady_clock::now();
  REQUIRE(terminate(*stubborn, 300ms).ok());
  CHECK_FALSE(is_running(*stubborn));
  CHECK(exit_status(*stubborn) == 128 + SIGKILL);
  CHECK(std::chrono::steady_clock::now() - start >= 300ms);
}

TEST_CASE("kill9 stops a process at once and a guard stops what it owns", "[unit][process]") {
  auto pid = spawn(shell("exec sleep 30"));
  REQUIRE(pid.ok());
  REQUIRE(kill9(*pid).ok());
  CHECK_FALSE(is_running(*pid));

  pid_t guarded = -1;
  {
    test::ProcessGuard guard = test::spawn_guarded(shell("exec sleep 30"));
    guarded = guard.pid();
    CHECK(guard.running());
  }
  CHECK_FALSE(is_running(guarded));
}

TEST_CASE("a pid file names a live process only while its command line matches",
          "[unit][process]") {
  test::TempDir dir;
  const std::string pid_file = dir.file("run/sleeper.pid");
  auto pid = spawn(shell("exec sleep 30 # marker-" + std::to_string(::getpid())));
  REQUIRE(pid.ok());
  test::ProcessGuard guard(*pid);
  REQUIRE(write_pid_file(pid_file, *pid).ok());
  REQUIRE(read_pid_file(pid_file).ok());
  CHECK(*read_pid_file(pid_file) == *pid);

  // Once `exec` has replaced the shell, the command line is "sleep 30", without the marker.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((!cmdline_contains(*pid, "sleep") || cmdline_contains(*pid, "marker-")) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK_FALSE(live_pid_from_file(pid_file, "marker-").has_value());
  CHECK(live_pid_from_file(pid_file, "sleep") == *pid);

  REQUIRE(guard.stop().ok());
  CHECK_FALSE(live_pid_from_file(pid_file, "sleep").has_value());  // stale
  CHECK(read_pid_file(dir.file("run/none.pid")).error().code == ErrorCode::kNotFound);
}

TEST_CASE("free ports are distinct and bindable", "[unit][process]") {
  std::set<int> ports;
  for (int i = 0; i < 20; ++i) {
    auto port = find_free_port();
    REQUIRE(port.ok());
    CHECK(*port > 0);
    ports.insert(*port);
  }
  CHECK(ports.size() == 20);
}

TEST_CASE("readiness probes see a listening port and time out on a closed one", "[unit][process]") {
  auto closed = find_free_port();
  REQUIRE(closed.ok());
  CHECK_FALSE(tcp_accepts("127.0.0.1", *closed, 200ms));
  const auto status = wait_for_tcp("127.0.0.1", *closed, 200ms);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kDeadlineExceeded);

  Listener listener;
  CHECK(tcp_accepts("127.0.0.1", listener.port, 1s));
  CHECK(wait_for_tcp("127.0.0.1", listener.port, 1s).ok());
}

TEST_CASE("wait_for_http_ok waits for a 200 answer", "[unit][process]") {
  Listener listener;
  std::thread server([&] {
    // Two connections: first a 503, then a 200.
    for (const char* answer : {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}) {
      const int client = ::accept(listener.fd, nullptr, nullptr);
      if (client < 0) return;
      char buffer[1024];
      (void)::recv(client, buffer, sizeof buffer, 0);
      (void)::send(client, answer, std::char_traits<char>::length(answer), MSG_NOSIGNAL);
      ::close(client);
    }
  });
  auto first = http_get_status("127.0.0.1", listener.port, "/healthz", 2s);
  REQUIRE(first.ok());
  CHECK(*first == 503);
  CHECK(wait_for_http_ok("127.0.0.1", listener.port, "/healthz", 5s).ok());
  server.join();
}

TEST_CASE("tail_file returns the last lines", "[unit][process]") {
  test::TempDir dir;
  test::write_file(dir.file("log"), "1\n2\n3\n4\n");
  CHECK(tail_file(dir.file("log"), 2) == "3\n4\n");
  CHECK(tail_file(dir.file("missing"), 2).empty());
}

}  // namespace aisle
