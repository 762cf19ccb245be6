// `devenv up|down|status`: the environment's processes, tracked through pid files so that any
// aislectl invocation (or test) can find, restart and stop what another one started.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/aislectl/devenv.hpp"
#include "common/log.hpp"
#include "common/process.hpp"

namespace aisle::ctl {
namespace {

namespace fs = std::filesystem;
using Millis = std::chrono::milliseconds;

const log::Logger logger("ctl.devenv");

constexpr const char* kLoopback = "127.0.0.1";
constexpr const char* kHealthPath = "/healthz";
constexpr std::size_t kLogTailLines = 25;

// One process of the environment and how to tell it is ready.
struct Part {
  std::string name;
  std::vector<std::string> argv;
  std::string config;  // its config file: also what identifies it in /proc/<pid>/cmdline
  std::string pid_file;
  std::string log_file;
  int port = 0;
  bool http = false;  // ready = GET /healthz answers 200; otherwise = the port accepts TCP

  std::string endpoint() const {
    return std::string(http ? "http://" : "tcp://") + kLoopback + ":" + std::to_string(port) +
           (http ? kHealthPath : "");
  }
};

int port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(url.c_str() + colon + 1);
}

std::string default_bin_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

std::string default_mosquitto() {
  const char* env = std::getenv("AISLE_MOSQUITTO");
  return env && *env ? env : "/usr/sbin/mosquitto";
}

// In start order: broker, collector, agents.
std::vector<Part> parts_of(const DevEnv& env, const DevEnvUpOptions& options) {
  // Absolute: the daemons are started from another working directory, so a relative
  // `--build-dir build` (what `make demo` passes) would not resolve there.
  const std::string bin =
      options.bin_dir.empty() ? default_bin_dir() : fs::absolute(options.bin_dir).string();
  const std::string mosquitto = options.mosquitto.empty() ? default_mosquitto() : options.mosquitto;
  auto make = [&](std::string name, std::vector<std::string> argv, std::string config, int port,
                  bool http) {
    Part p;
    p.pid_file = env.dir + "/run/" + name + ".pid";
    p.log_file = env.dir + "/log/" + name + ".log";
    p.name = std::move(name);
    p.argv = std::move(argv);
    p.config = std::move(config);
    p.port = port;
    p.http = http;
    return p;
  };
  std::vector<Part> parts;
  parts.push_back(make("mosquitto", {mosquitto, "-c", env.mosquitto_config}, env.mosquitto_config,
                       env.mqtt_port, false));
  parts.push_back(make("collector", {bin + "/aisle-collector", "--config", env.collector_config},
                       env.collector_config, port_of(env.collector_http), true));
  for (const auto& agent : env.agents) {
    parts.push_back(make(agent.agent_id, {bin + "/aisle-agent", "--config", agent.config},
                         agent.config, port_of(agent.http), true));
  }
  return parts;
}

bool probe(const Part& part, Millis timeout) {
  if (!part.http) return tcp_accepts(kLoopback, part.port, timeout);
  auto status = http_get_status(kLoopback, part.port, kHealthPath, timeout);
  return status && *status == 200;
}

Error not_ready(const Part& part, const std::string& why) {
  std::string message = part.name + " did not come up: " + why + "\n--- last lines of " +
                        part.log_file + " ---\n" + tail_file(part.log_file, kLogTailLines);
  return make_error(ErrorCode::kUnavailable, std::move(message));
}

// Waits until `part` (running as `pid`) is ready; stops it when it is not.
Status await_ready(const Part& part, pid_t pid, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (!is_running(pid)) {
      const auto code = exit_status(pid);
      std::error_code ec;
      fs::remove(part.pid_file, ec);
      return not_ready(part, code ? "exited with status " + std::to_string(*code) : "exited");
    }
    if (probe(part, Millis(500))) return ok_status();
    if (std::chrono::steady_clock::now() >= deadline) {
      (void)terminate(pid, Millis(3000));
      std::error_code ec;
      fs::remove(part.pid_file, ec);
      return not_ready(part, "not ready at " + part.endpoint() + " after " +
                                 std::to_string(timeout.count()) + " ms (stopped it)");
    }
    std::this_thread::sleep_for(Millis(100));
  }
}

Status start_part(const Part& part, const std::string& dir, Millis timeout) {
  if (auto pid = live_pid_from_file(part.pid_file, part.config)) {
    logger.info("already running", {{"part", part.name}, {"pid", *pid}});
    return await_ready(part, *pid, timeout);
  }
  if (part.argv[0].find('/') != std::string::npos && ::access(part.argv[0].c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kNotFound,
                      part.name + ": " + part.argv[0] + " is missing or not executable" +
                          (part.name == "mosquitto" ? " (set $AISLE_MOSQUITTO)" : " (--bin-dir)"));
  }
  SpawnOptions spawn_options;
  spawn_options.argv = part.argv;
  spawn_options.log_file = part.log_file;
  spawn_options.working_dir = dir;
  auto pid = spawn(spawn_options);
  if (!pid) return make_error(pid.error().code, part.name + ": " + pid.error().message);
  if (auto s = write_pid_file(part.pid_file, *pid); !s) {
    (void)terminate(*pid, Millis(3000));
    return s;
  }
  if (auto s = await_ready(part, *pid, timeout); !s) return s;
  logger.info("ready", {{"part", part.name}, {"pid", *pid}, {"endpoint", part.endpoint()}});
  return ok_status();
}

}  // namespace

Status devenv_up(const std::string& dir, const DevEnvUpOptions& options) {
  auto env = read_devenv(dir);
  if (!env) return env.error();
  for (const auto& part : parts_of(*env, options)) {
    if (auto s = start_part(part, env->dir, options.ready_timeout); !s) return s;
  }
  return ok_status();
}

Status devenv_down(const std::string& dir, const DevEnvDownOptions& options) {
  auto env = read_devenv(dir);
  if (!env) return env.error();
  auto parts = parts_of(*env, {});
  Status result = ok_status();
  // Agents first (newest first), so they stop before the collector they send to, then the broker.
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (auto pid = live_pid_from_file(it->pid_file, it->config)) {
      if (auto s = terminate(*pid, options.grace); !s) {
        result = make_error(s.error().code, it->name + ": " + s.error().message);
        continue;  // keep its pid file: it is still there
      }
      logger.info("stopped", {{"part", it->name}, {"pid", *pid}});
    }
    std::error_code ec;
    fs::remove(it->pid_file, ec);
  }
  return result;
}

Result<std::vector<PartState>> devenv_status(const std::string& dir) {
  auto env = read_devenv(dir);
  if (!env) return env.error();
  std::vector<PartState> states;
  for (const auto& part : parts_of(*env, {})) {
    PartState state;
    state.name = part.name;
    state.endpoint = part.endpoint();
    state.log_file = part.log_file;
    if (auto pid = live_pid_from_file(part.pid_file, part.config)) {
      state.pid = *pid;
      state.ready = probe(part, Millis(1000));
    }
    states.push_back(std::move(state));
  }
  return states;
}

}  // namespace aisle::ctl
