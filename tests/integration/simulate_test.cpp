// `aislectl simulate` against a real agent with the five device adapters (devenv with devices):
// frames of every device type travel through the real transports (TCP, UDP, file tail), are
// decoded without error, and their events, the kiosks' and the web's are accepted.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <sstream>

#include "common/aislectl/devenv.hpp"
#include "common/process.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {
namespace {

// Stops the environment whatever happens in the test.
struct EnvDown {
  std::string dir;
  ~EnvDown() { (void)ctl::devenv_down(dir, {}); }
};

double metric_sum(const std::string& text, const std::string& name, const std::string& filter) {
  std::istringstream lines(text);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    if (!filter.empty() && line.find(filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace

TEST_CASE("the simulator drives every device adapter of a real agent through its transports",
          "[integration][simulate]") {
  TempDir dir("aisle-simulate-test");
  const std::string env_dir = dir.file("env");
  ctl::DevEnvInitOptions init;
  init.devices = true;
  init.device_speed = 10;
  auto env = ctl::devenv_init(env_dir, init);
  REQUIRE(env);
  EnvDown down{env_dir};
  ctl::DevEnvUpOptions up;
  up.bin_dir = AISLE_BINARY_DIR;
  const Status started = ctl::devenv_up(env_dir, up);
  INFO((started ? "" : started.error().message));
  REQUIRE(started);

  const std::string ctl = std::string(AISLE_BINARY_DIR) + "/aislectl";
  const CommandResult simulate =
      run_command({ctl, "simulate", "--env", env_dir, "--speed", "10", "--duration", "12",
                   "--shoppers", "1500", "--seed", "3", "--report", "4"},
                  std::chrono::minutes(2));
  INFO(simulate.output);
  REQUIRE(simulate.exit_code == 0);

  // Decoder timers still owe pickups and zone exits for a few seconds after the last frame.
  const std::string host = "127.0.0.1";
  const int port = std::stoi(env->agents[0].http.substr(env->agents[0].http.rfind(':') + 1));
  httplib::Client agent(host, port);
  std::string metrics;
  bool all = false;
  for (int attempt = 0; attempt < 40 && !all; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto answer = agent.Get("/metrics");
    REQUIRE(answer);
    metrics = answer->body;
    all = true;
    for (const char* adapter :
         {"pos-lanes", "door-counters", "ble-gateway", "rfid-shelves", "weight-shelves"}) {
      all = all && metric_sum(metrics, "aisle_agent_adapter_events_total",
                              std::string("adapter=\"") + adapter + "\"") > 0;
    }
  }
  INFO(metrics.substr(0, 20000));
  for (const char* adapter :
       {"pos-lanes", "door-counters", "ble-gateway", "rfid-shelves", "weight-shelves"}) {
    INFO(adapter);
    const std::string label = std::string("adapter=\"") + adapter + "\"";
    CHECK(metric_sum(metrics, "aisle_agent_adapter_frames_total", label) > 0);
    CHECK(metric_sum(metrics, "aisle_agent_adapter_events_total", label) > 0);
    CHECK(metric_sum(metrics, "aisle_agent_adapter_events_lost_total", label) == 0);
  }
  CHECK(metric_sum(metrics, "aisle_agent_adapter_decode_errors_total", "") == 0);
  CHECK(metric_sum(metrics, "aisle_agent_events_rejected_total", "") == 0);
  // Device events and the kiosks' HTTP events were committed to the outbox.
  const double adapter_events = metric_sum(metrics, "aisle_agent_adapter_events_total", "");
  CHECK(metric_sum(metrics, "aisle_agent_events_accepted_total", "") > adapter_events);
  // The web shop's events reached the collector (the last report line counts them).
  const auto web = simulate.output.rfind(" web ");
  REQUIRE(web != std::string::npos);
  CHECK(std::stoll(simulate.output.substr(web + 5)) > 0);
}

}  // namespace aisle::test
