#include "tests/support/pipeline_env.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/process.hpp"

// The failure listener below needs Catch's reporter interfaces.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

namespace aisle::test {
namespace {

namespace fs = std::filesystem;

// Environments alive in this process, so that a failed assertion can mark them.
std::mutex& live_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<PipelineEnv*>& live_envs() {
  static std::set<PipelineEnv*> envs;
  return envs;
}

// Marks every live environment when an assertion fails, so its destructor prints the logs.
class PipelineEnvFailureListener : public Catch::TestEventListenerBase {
 public:
  using Catch::TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) {
      std::lock_guard lock(live_mutex());
      for (PipelineEnv* env : live_envs()) env->mark_failed();
    }
    return true;
  }
};
CATCH_REGISTER_LISTENER(PipelineEnvFailureListener)

std::string config_file_of(const ctl::DevEnv& env, std::string_view part) {
  if (part == "mosquitto") return env.mosquitto_config;
  if (part == "collector") return env.collector_config;
  return env.dir + "/" + std::string(part) + ".json";
}

}  // namespace

Status edit_json_file(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path);
  nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded()) return make_error(ErrorCode::kInvalidArgument, path + ": not JSON");
  in.close();
  edit(json);
  // Keep the file's mode (collector.json is 0600): rewrite in place.
  std::ofstream out(path, std::ios::trunc);
  out << json.dump(2) << "\n";
  if (!out) return make_error(ErrorCode::kIo, "cannot write " + path);
  return ok_status();
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(poll);
  }
}

std::optional<double> metric_value(const std::string& text, const std::string& series) {
  const bool bare = series.find('{') == std::string::npos;
  std::optional<double> total;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    const bool match = bare ? (name == series || name.rfind(series + "{", 0) == 0) : name == series;
    if (!match) continue;
    total = total.value_or(0) + std::strtod(line.c_str() + space + 1, nullptr);
  }
  return total;
}

bool wait_for_drain(const PipelineEnv& env, std::uint64_t events_stored, std::uint64_t quarantined,
                    std::chrono::milliseconds timeout, std::string* state) {
  std::string last;
  const bool drained = wait_until(
      [&] {
        last.clear();
        bool done = true;
        const HttpResponse status = env.collector().get("/v1/status");
        const nlohmann::json c = status.json();
        if (!c.is_object()) {
          last = "collector: " + status.describe() + "; ";
          return false;
        }
        const auto stored = c.value("events_stored", std::uint64_t{0});
        const auto q = c.value("quarantined", std::uint64_t{0});
        last += "collector stored " + std::to_string(stored) + "/" + std::to_string(events_stored) +
                " quarantined " + std::to_string(q) + "/" + std::to_string(quarantined) + "; ";
        done = stored >= events_stored && q >= quarantined;
        for (std::size_t i = 0; i < env.env().agents.size(); ++i) {
          const HttpResponse answer = env.agent(static_cast<int>(i) + 1).get("/v1/status");
          const nlohmann::json a = answer.json();
          if (!a.is_object()) {
            last += "agent-" + std::to_string(i + 1) + ": " + answer.describe() + "; ";
            done = false;
            continue;
          }
          const auto backlog = a["outbox"].value("events", std::uint64_t{0});
          const auto unacked = a["outbox"].value("batches_unacked", std::uint64_t{0});
          last += "agent-" + std::to_string(i + 1) + " backlog " + std::to_string(backlog) +
                  " unacked batches " + std::to_string(unacked) + " connected " +
                  (a["forwarder"].value("connected", false) ? "yes" : "no") + "; ";
          done = done && backlog == 0 && unacked == 0;
        }
        return done;
      },
      timeout, std::chrono::milliseconds(200));
  if (state) *state = last;
  return drained;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::pair<std::string, std::string>>& env) {
  CommandResult result;
  TempDir temp("aisle-command");
  const std::string log = temp.file("output.log");
  SpawnOptions options;
  options.argv = argv;
  options.env = env;
  options.log_file = log;
  options.new_process_group = false;
  auto child = spawn(options);
  if (!child) {
    result.output = child.error().message;
    return result;
  }
  const bool exited =
      wait_until([&] { return !is_running(*child); }, timeout, std::chrono::milliseconds(20));
  if (!exited) {
    (void)terminate(*child, std::chrono::milliseconds(1000));
    result.output = "timed out\n";
  } else {
    result.exit_code = exit_status(*child).value_or(-1);
  }
  result.output += read_file(log);
  return result;
}

PipelineEnv::PipelineEnv(PipelineEnvOptions options)
    : temp_(std::make_unique<TempDir>("aisle-pipeline")), ready_timeout_(options.ready_timeout) {
  {
    std::lock_guard lock(live_mutex());
    live_envs().insert(this);
  }
  try {
    ctl::DevEnvInitOptions init;
    init.stores = options.stores;
    auto env = ctl::devenv_init(temp_->path().string(), init);
    if (!env) throw std::runtime_error("devenv_init: " + env.error().message);
    env_ = std::move(*env);
    if (auto s = edit_configs(options); !s) throw std::runtime_error(s.error().message);
    if (options.start) {
      if (auto s = up(); !s) throw std::runtime_error("devenv_up: " + s.error().message);
    }
  } catch (...) {
    // The destructor does not run for a throwing constructor: stop what did start.
    if (!env_.dir.empty()) {
      std::cerr << "PipelineEnv: start-up failed\n" << diagnostics() << std::flush;
      (void)ctl::devenv_down(env_.dir, {std::chrono::milliseconds(3000)});
    }
    std::lock_guard lock(live_mutex());
    live_envs().erase(this);
    throw;
  }
}

PipelineEnv::~PipelineEnv() {
  {
    std::lock_guard lock(live_mutex());
    live_envs().erase(this);
  }
  if (failed_) {
    std::cerr << "==== PipelineEnv " << env_.dir << ": a check failed; logs follow ====\n"
              << diagnostics() << std::flush;
  }
  if (auto s = ctl::devenv_down(env_.dir, {std::chrono::milliseconds(5000)}); !s) {
    std::cerr << "PipelineEnv: devenv_down: " << s.error().message << "\n";
  }
}

Status PipelineEnv::edit_configs(const PipelineEnvOptions& options) {
  if (options.edit_collector) {
    if (auto s = edit_json_file(env_.collector_config, options.edit_collector); !s) return s;
  }
  if (options.edit_agent) {
    for (std::size_t i = 0; i < env_.agents.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      auto edit = [&](nlohmann::json& json) { options.edit_agent(index, json); };
      if (auto s = edit_json_file(env_.agents[i].config, edit); !s) return s;
    }
  }
  return ok_status();
}

Status PipelineEnv::up() {
  ctl::DevEnvUpOptions up;
  up.bin_dir = AISLE_BINARY_DIR;
  up.mosquitto = AISLE_MOSQUITTO;
  up.ready_timeout = ready_timeout_;
  return ctl::devenv_up(env_.dir, up);
}

Status PipelineEnv::down() {
  return ctl::devenv_down(env_.dir, {std::chrono::milliseconds(5000)});
}

std::optional<pid_t> PipelineEnv::pid(std::string_view part) const {
  return live_pid_from_file(env_.dir + "/run/" + std::string(part) + ".pid",
                            config_file_of(env_, part));
}

Status PipelineEnv::kill9(std::string_view part) {
  auto p = pid(part);
  if (!p) return make_error(ErrorCode::kNotFound, std::string(part) + " is not running");
  return aisle::kill9(*p);
}

Status PipelineEnv::stop(std::string_view part, std::chrono::milliseconds grace) {
  auto p = pid(part);
  if (!p) return make_error(ErrorCode::kNotFound, std::string(part) + " is not running");
  return aisle::terminate(*p, grace);
}

Status PipelineEnv::signal(std::string_view part, int sig) {
  auto p = pid(part);
  if (!p) return make_error(ErrorCode::kNotFound, std::string(part) + " is not running");
  if (::kill(*p, sig) != 0) return make_error(ErrorCode::kInternal, "kill failed");
  return ok_status();
}

Status PipelineEnv::start_part(std::string_view part) {
  if (pid(part)) return ok_status();
  std::string url;
  std::string binary;
  if (part == "collector") {
    url = env_.collector_http;
    binary = "aisle-collector";
  } else {
    for (const auto& agent : env_.agents) {
      if (agent.agent_id == part) url = agent.http;
    }
    binary = "aisle-agent";
  }
  if (url.empty()) return make_error(ErrorCode::kNotFound, "no daemon " + std::string(part));
  SpawnOptions options;
  options.argv = {std::string(AISLE_BINARY_DIR) + "/" + binary, "--config", config_path(part)};
  options.log_file = log_path(part);
  options.working_dir = env_.dir;
  auto child = spawn(options);
  if (!child) return child.error();
  if (auto s = write_pid_file(env_.dir + "/run/" + std::string(part) + ".pid", *child); !s) {
    (void)terminate(*child, std::chrono::milliseconds(3000));
    return s;
  }
  const HttpClient client(url);
  return wait_for_http_ok(client.host(), client.port(), "/healthz", ready_timeout_);
}

std::string PipelineEnv::config_path(std::string_view part) const {
  return config_file_of(env_, part);
}

std::string PipelineEnv::log_path(std::string_view part) const {
  return env_.dir + "/log/" + std::string(part) + ".log";
}

std::string PipelineEnv::agent_db(int index) const {
  return env_.dir + "/data/agent-" + std::to_string(index) + ".db";
}

HttpClient PipelineEnv::agent(int index) const {
  return HttpClient(env_.agents.at(static_cast<std::size_t>(index - 1)).http);
}
HttpClient PipelineEnv::collector() const {
  return HttpClient(env_.collector_http);
}
HttpClient PipelineEnv::collector_admin() const {
  return HttpClient(env_.collector_http, env_.admin_key);
}
HttpClient PipelineEnv::collector_writer() const {
  return HttpClient(env_.collector_http, env_.write_key);
}

std::string PipelineEnv::diagnostics(std::size_t lines_per_log) const {
  std::string out;
  std::error_code ec;
  std::vector<fs::path> logs;
  for (const auto& entry : fs::directory_iterator(env_.dir + "/log", ec)) {
    logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  for (const auto& log : logs) {
    out += "--- last lines of " + log.string() + " ---\n" + tail_file(log.string(), lines_per_log) +
           "\n";
  }
  return out;
}

std::function<void(int, nlohmann::json&)> fast_agent_timers(const std::string& ack_timeout) {
  return [ack_timeout](int, nlohmann::json& config) {
    config["forwarder"]["ack_timeout"] = ack_timeout;
    config["forwarder"]["backoff_max"] = "2s";
    config["shutdown_grace"] = "2s";
  };
}

}  // namespace aisle::test
