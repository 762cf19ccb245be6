// PipelineEnv: a whole Aisle installation for one integration or fault test — a TLS Mosquitto
// with the production ACL, a collector process and one agent process per store, on free ports
// in a temporary directory (the in-process `aislectl devenv`, common/aislectl/devenv.hpp).
//
//   aisle::test::PipelineEnv env({.stores = 2,
//                                 .edit_agent = [](int, nlohmann::json& c) {
//                                   c["forwarder"]["ack_timeout"] = "2s"; }});
//   env.kill9("agent-1");
//   REQUIRE(env.up());          // restarts what is missing
//
// The destructor always stops every process (devenv_down) and removes the directory, also when
// an assertion failed. When any assertion fails while an environment is alive, the destructor
// first prints the tail of every log (DIR/log/*.log) to stderr: `ctest --output-on-failure`
// shows what the daemons said.
//
// Drive one instance from the test's thread (the Producer threads only talk HTTP).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/aislectl/devenv.hpp"
#include "common/result.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {

struct PipelineEnvOptions {
  int stores = 1;
  // Applied to the generated collector.json / agent-<i>.json (i is 1-based) before the first
  // start. Keys as in collector/config_schema.json and agent/config_schema.json.
  std::function<void(nlohmann::json&)> edit_collector{};
  std::function<void(int, nlohmann::json&)> edit_agent{};
  // Start everything in the constructor (otherwise call up()).
  bool start = true;
  std::chrono::milliseconds ready_timeout{30000};
};

class PipelineEnv {
 public:
  // Creates (and by default starts) the environment; throws std::runtime_error with the logs'
  // tails when it cannot (after stopping whatever did start).
  explicit PipelineEnv(PipelineEnvOptions options = {});
  ~PipelineEnv();
  PipelineEnv(const PipelineEnv&) = delete;
  PipelineEnv& operator=(const PipelineEnv&) = delete;

  const ctl::DevEnv& env() const { return env_; }
  const std::string& dir() const { return env_.dir; }

  // Starts every part that is not running (devenv_up) and waits until each is ready.
  Status up();
  // Stops everything (devenv_down); the destructor does it too.
  Status down();

  // Parts: "mosquitto", "collector", "agent-<i>".
  std::optional<pid_t> pid(std::string_view part) const;
  bool running(std::string_view part) const { return pid(part).has_value(); }
  // SIGKILL without warning, and wait until the process is gone.
  Status kill9(std::string_view part);
  // SIGTERM (SIGKILL after `grace`), and wait until it is gone.
  Status stop(std::string_view part,
              std::chrono::milliseconds grace = std::chrono::milliseconds(10000));
  // Sends `signal` (e.g. SIGHUP) to the running part.
  Status signal(std::string_view part, int signal);
  // Starts one daemon ("collector" or "agent-<i>") alone, as devenv_up would (same command
  // line, log and pid file), without starting what comes before it — e.g. an agent while the
  // broker is down — and waits until GET /healthz answers 200.
  Status start_part(std::string_view part);

  std::string config_path(std::string_view part) const;
  std::string log_path(std::string_view part) const;
  std::string collector_db() const { return env_.dir + "/data/collector.db"; }
  std::string agent_db(int index) const;

  // API clients: the agent (1-based), the collector without a key, with the admin key, with
  // the web write key.
  HttpClient agent(int index) const;
  HttpClient collector() const;
  HttpClient collector_admin() const;
  HttpClient collector_writer() const;

  // The tail of every log file, for failure messages.
  std::string diagnostics(std::size_t lines_per_log = 40) const;

  // Set by the failure listener: some assertion failed while this environment was alive.
  void mark_failed() { failed_ = true; }

 private:
  Status edit_configs(const PipelineEnvOptions& options);

  std::unique_ptr<TempDir> temp_;
  ctl::DevEnv env_;
  std::chrono::milliseconds ready_timeout_;
  bool failed_ = false;
};

// Waits until the collector reports at least `events_stored` events and `quarantined`
// quarantine entries (GET /v1/status) and every agent's outbox is empty (nothing pending, no
// batch unacknowledged). `state` (optional) receives the last observed figures.
bool wait_for_drain(const PipelineEnv& env, std::uint64_t events_stored, std::uint64_t quarantined,
                    std::chrono::milliseconds timeout, std::string* state = nullptr);

// The result of running a program to completion.
struct CommandResult {
  int exit_code = -1;  // 128 + N when killed by signal N; -1 when it could not run or timed out
  std::string output;  // stdout and stderr, interleaved
};
// Runs `argv` (argv[0] a path) and waits for it; `env` is added to the environment.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(30000),
                          const std::vector<std::pair<std::string, std::string>>& env = {});

// Reads and rewrites a JSON config file (the generated ones hold no comments).
Status edit_json_file(const std::string& path, const std::function<void(nlohmann::json&)>& edit);

// Polls `condition` every `poll` until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(100));

// One sample from Prometheus text: the value of `series` written exactly as rendered (e.g.
// `aisle_collector_batches_total{outcome="duplicate"}`), or, for a bare metric name, the sum of
// all its series. nullopt when absent.
std::optional<double> metric_value(const std::string& prometheus_text, const std::string& series);

// An edit_agent for fault tests: short forwarder timers, so recovery takes seconds rather than the
// production minutes.
std::function<void(int, nlohmann::json&)> fast_agent_timers(const std::string& ack_timeout = "3s");

}  // namespace aisle::test
