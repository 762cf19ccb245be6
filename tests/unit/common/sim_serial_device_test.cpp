// The simulator's serial door counter: a pseudo-terminal linked at a stable path, the endpoint
// spelling in the devenv's state, and the agent's transport config for it.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "common/clock.hpp"
#include "common/sim/agent_devices.hpp"
#include "common/sim/catalog.hpp"
#include "common/sim/sim_driver.hpp"
#include "firmware_adapters/transport.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::sim {
namespace {

namespace fs = std::filesystem;

// Reads from `fd` until `want` bytes arrived or 2 s passed.
std::string read_some(int fd, std::size_t want) {
  std::string got;
  for (int round = 0; round < 40 && got.size() < want; ++round) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buffer[256];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

TEST_CASE("a serial door counter endpoint survives the devenv state and rejects relative paths",
          "[sim]") {
  DeviceEndpoints e{"127.0.0.1:1", "", "127.0.0.1:3", "/r", "/w", "/env/devices/door.tty"};
  const nlohmann::json json = device_endpoints_to_json(e);
  CHECK(json.at("counter") == "serial:/env/devices/door.tty");
  auto back = device_endpoints_from_json(json);
  REQUIRE(back);
  CHECK(back->counter_serial == "/env/devices/door.tty");
  CHECK(back->counter_tcp.empty());

  nlohmann::json relative = json;
  relative["counter"] = "serial:door.tty";
  auto refused = device_endpoints_from_json(relative);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("devices.counter") != std::string::npos);
}

TEST_CASE("the agent's door counter adapter is a serial transport when the endpoint is serial",
          "[sim]") {
  const Catalog catalog = build_catalog({});
  const nlohmann::json adapters = agent_adapters_config(
      catalog, {"127.0.0.1:1", "", "127.0.0.1:3", "/r", "/w", "/tmp/door.tty"}, "k", 10);
  const nlohmann::json* counter = nullptr;
  for (const auto& adapter : adapters) {
    if (adapter.at("name") == kCounterAdapter) counter = &adapter;
  }
  REQUIRE(counter != nullptr);
  CHECK(counter->at("transport").at("type") == "serial");
  CHECK(counter->at("transport").at("device") == "/tmp/door.tty");
  auto transport = adapters::make_transport(counter->at("transport"), *SystemClock::instance());
  INFO((transport ? "" : transport.error().message));
  CHECK(transport);
}

TEST_CASE("the simulator writes door counts to a pseudo-terminal linked at the endpoint path",
          "[sim]") {
  test::TempDir dir("aisle-sim-pty");
  const std::string link = dir.file("door-counter.tty");
  DriverTargets targets;
  targets.devices.counter_serial = link;
  {
    SimDriver driver(targets);
    REQUIRE(driver.open());
    REQUIRE(fs::is_symlink(link));
    CHECK(fs::read_symlink(link).string().rfind("/dev/pts/", 0) == 0);

    // The agent's side: open the link as its serial transport would.
    const int device = ::open(link.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(device >= 0);
    std::vector<SimOutput> outputs(2);
    outputs[0].sink = Sink::kCounter;
    outputs[0].payload = "2026-11-29T10:00:00Z,door-1,in=3,out=1";
    outputs[1].sink = Sink::kCounter;
    outputs[1].payload = "2026-11-29T10:01:00Z,door-2,in=0,out=2";
    // send() consumes the outputs.
    const std::string expected = outputs[0].payload + "\n" + outputs[1].payload + "\n";
    driver.send(outputs);
    CHECK(read_some(device, expected.size()) == expected);
    ::close(device);
    const DriverStats stats = driver.stats();
    CHECK(stats.sinks[static_cast<int>(Sink::kCounter)].sent == 2);
    CHECK(stats.sinks[static_cast<int>(Sink::kCounter)].failed == 0);
  }
  // The device is unplugged with the simulator: the link goes, the agent waits for it.
  CHECK_FALSE(fs::exists(fs::symlink_status(link)));
}

}  // namespace
}  // namespace aisle::sim
