#include "common/aislectl/devenv_command.hpp"

#include <algorithm>
#include <charconv>
#include <iomanip>
#include <iostream>
#include <map>

#include "common/aislectl/devenv.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "common/signal_waiter.hpp"

namespace aisle::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: aislectl devenv init DIR [--stores N] [--tenant T] [--force]\n"
    "       aislectl devenv up DIR [--detach] [--bin-dir D] [--timeout SECONDS]\n"
    "       aislectl devenv down DIR\n"
    "       aislectl devenv status DIR\n"
    "\n"
    "init    writes a complete local setup into DIR: a tenant CA and certificates (pki/),\n"
    "        a Mosquitto config with mutual TLS and per-agent ACL (mosquitto/), collector.json,\n"
    "        agent-<i>.json for stores 1..N (default 1) and env.json (ports, URLs, API keys).\n"
    "        Every port is a free loopback port. --force replaces an existing DIR/env.json\n"
    "        (and its PKI and data) when nothing of it runs.\n"
    "up      starts whatever is not running: mosquitto, then aisle-collector, then the\n"
    "        agents (from --bin-dir, default: this executable's directory; mosquitto from\n"
    "        $AISLE_MOSQUITTO or /usr/sbin/mosquitto), waiting until each is ready (default\n"
    "        --timeout 20 s each). In the foreground until Ctrl-C/SIGTERM, which stops them\n"
    "        all; --detach returns and leaves them running. Logs: DIR/log/<part>.log.\n"
    "down    stops the agents, the collector, then the broker (SIGTERM, SIGKILL after 10 s).\n"
    "status  prints each part's state; exit 0 when all are ready, 3 otherwise.\n";

int usage_error(const std::string& message) {
  std::cerr << "aislectl devenv: " << message << "\n" << kUsage;
  return 2;
}

int fail(const std::string& verb, const Error& error) {
  std::cerr << "aislectl devenv " << verb << ": " << error.message << "\n";
  return 1;
}

bool parse_int(const std::string& text, int& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Splits args after the verb into one positional DIR and flags with values.
struct Parsed {
  std::string dir;
  std::map<std::string, std::string> values;
  std::map<std::string, bool> switches;
};

Result<Parsed> parse(const std::vector<std::string>& args, const std::vector<std::string>& valued,
                     const std::vector<std::string>& switches) {
  Parsed parsed;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (std::find(valued.begin(), valued.end(), a) != valued.end()) {
      if (i + 1 >= args.size())
        return make_error(ErrorCode::kInvalidArgument, a + " needs a value");
      parsed.values[a] = args[++i];
    } else if (std::find(switches.begin(), switches.end(), a) != switches.end()) {
      parsed.switches[a] = true;
    } else if (a.rfind("--", 0) == 0 || !parsed.dir.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "unexpected argument '" + a + "'");
    } else {
      parsed.dir = a;
    }
  }
  if (parsed.dir.empty()) return make_error(ErrorCode::kInvalidArgument, args[0] + " needs DIR");
  return parsed;
}

void print_status(const std::vector<PartState>& parts) {
  std::cout << std::left << std::setw(12) << "PART" << std::setw(10) << "STATE" << std::setw(9)
            << "PID" << std::setw(36) << "ENDPOINT"
            << "LOG\n";
  for (const auto& p : parts) {
    const char* state = !p.pid ? "stopped" : p.ready ? "ready" : "starting";
    std::cout << std::setw(12) << p.name << std::setw(10) << state << std::setw(9)
              << (p.pid ? std::to_string(*p.pid) : "-") << std::setw(36) << p.endpoint << p.log_file
              << "\n";
  }
}

int run_init(const std::vector<std::string>& args) {
  auto parsed = parse(args, {"--stores", "--tenant"}, {"--force"});
  if (!parsed) return usage_error(parsed.error().message);
  DevEnvInitOptions options;
  if (auto it = parsed->values.find("--stores"); it != parsed->values.end()) {
    if (!parse_int(it->second, options.stores)) return usage_error("--stores needs a number");
  }
  if (auto it = parsed->values.find("--tenant"); it != parsed->values.end()) {
    options.tenant = it->second;
  }
  options.force = parsed->switches.count("--force") > 0;
  log::set_level(log::Level::kWarn);  // the summary below says what was created
  auto env = devenv_init(parsed->dir, options);
  if (!env) {
    return env.error().code == ErrorCode::kInvalidArgument ? usage_error(env.error().message)
                                                           : fail("init", env.error());
  }
  std::cout << "devenv for tenant " << env->tenant << " in " << env->dir << "\n"
            << "  broker     " << env->mqtt << "\n"
            << "  collector  " << env->collector_http << "\n";
  for (const auto& a : env->agents) {
    std::cout << "  " << std::left << std::setw(10) << a.agent_id << " " << a.http << " ("
              << a.store_id << ")\n";
  }
  std::cout << "  keys, ports and paths: " << env->dir << "/env.json\n"
            << "next: aislectl devenv up " << env->dir << "\n";
  return 0;
}

// Foreground: waits for SIGINT/SIGTERM, reporting parts that exit on their own meanwhile.
void supervise(const std::string& dir, SignalWaiter& signals) {
  std::map<std::string, int> watched;
  if (auto parts = devenv_status(dir)) {
    for (const auto& p : *parts) {
      if (p.pid) watched[p.name] = *p.pid;
    }
  }
  std::cout << "devenv up; Ctrl-C stops it (`aislectl devenv status " << dir << "`)\n"
            << std::flush;
  while (signals.wait(std::chrono::milliseconds(1000)) != SignalEvent::kTerminate) {
    for (auto it = watched.begin(); it != watched.end();) {
      if (is_running(it->second)) {
        ++it;
        continue;
      }
      std::cerr << "aislectl devenv: " << it->first << " (pid " << it->second << ") exited; see "
                << dir << "/log/" << it->first << ".log\n";
      it = watched.erase(it);
    }
  }
}

int run_up(const std::vector<std::string>& args) {
  auto parsed = parse(args, {"--bin-dir", "--timeout"}, {"--detach"});
  if (!parsed) return usage_error(parsed.error().message);
  DevEnvUpOptions options;
  if (auto it = parsed->values.find("--bin-dir"); it != parsed->values.end()) {
    options.bin_dir = it->second;
  }
  if (auto it = parsed->values.find("--timeout"); it != parsed->values.end()) {
    int seconds = 0;
    if (!parse_int(it->second, seconds) || seconds <= 0) {
      return usage_error("--timeout needs a positive number of seconds");
    }
    options.ready_timeout = std::chrono::seconds(seconds);
  }
  const bool detach = parsed->switches.count("--detach") > 0;
  if (detach) {
    if (auto s = devenv_up(parsed->dir, options); !s) return fail("up", s.error());
    if (auto parts = devenv_status(parsed->dir)) print_status(*parts);
    return 0;
  }
  // Blocked before anything starts, so a Ctrl-C during start-up still stops what was started.
  SignalWaiter signals;
  if (auto s = devenv_up(parsed->dir, options); !s) {
    const int code = fail("up", s.error());
    (void)devenv_down(parsed->dir);
    return code;
  }
  if (auto parts = devenv_status(parsed->dir)) print_status(*parts);
  supervise(parsed->dir, signals);
  std::cout << "stopping\n" << std::flush;
  if (auto s = devenv_down(parsed->dir); !s) return fail("down", s.error());
  return 0;
}

int run_down(const std::vector<std::string>& args) {
  auto parsed = parse(args, {}, {});
  if (!parsed) return usage_error(parsed.error().message);
  if (auto s = devenv_down(parsed->dir); !s) return fail("down", s.error());
  return 0;
}

int run_status(const std::vector<std::string>& args) {
  auto parsed = parse(args, {}, {});
  if (!parsed) return usage_error(parsed.error().message);
  auto parts = devenv_status(parsed->dir);
  if (!parts) return fail("status", parts.error());
  print_status(*parts);
  for (const auto& p : *parts) {
    if (!p.ready) return 3;
  }
  return 0;
}

}  // namespace

int run_devenv_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string& verb = args[0];
  if (verb == "init") return run_init(args);
  if (verb == "up") return run_up(args);
  if (verb == "down") return run_down(args);
  if (verb == "status") return run_status(args);
  return usage_error("unknown subcommand '" + verb + "'");
}

}  // namespace aisle::ctl
