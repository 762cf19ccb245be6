// aisle-agent: the store agent daemon. Composition root only — everything else is in
// aisle::agent_core (agent/agent.hpp).
#include <malloc.h>

#include <cstring>
#include <iostream>
#include <string>

#include "agent/agent.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/signal_waiter.hpp"
#include "common/systemd_notify.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: aisle-agent --config FILE [--check-config]\n"
    "\n"
    "The Aisle store agent: takes events from kiosks, POS and devices (HTTP on\n"
    "127.0.0.1:8680 by default, and firmware adapters), buffers them durably in SQLite and\n"
    "forwards them over MQTT/TLS to the collector.\n"
    "\n"
    "  --config FILE    configuration (JSON with comments; see\n"
    "                   /usr/share/doc/aisle/agent.example.json)\n"
    "  --check-config   validate the configuration and exit (0 valid, 78 invalid)\n"
    "  --version        print the version\n"
    "  --help           this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop gracefully (shutdown_grace), SIGHUP reloads schemas\n"
    "and puts renewed TLS certificates in use (reconnecting).\n"
    "Exit codes: 0 stopped cleanly, 1 runtime failure, 78 configuration error.\n";

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each thread that allocates its own arena (up to 8 per core); with 32 HTTP workers,
  // the forwarder and SQLite that is tens of MB of resident, fragmented heap on a gateway where
  // the agent's budget is 60 MB. Two arenas keep contention low at this load.
  mallopt(M_ARENA_MAX, 2);
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::cout << "aisle-agent " << AISLE_VERSION << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "aisle-agent: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (config_path.empty()) {
    std::cerr << "aisle-agent: --config FILE is required\n" << kUsage;
    return aisle::kExitConfig;
  }
  auto config = aisle::agent::load_agent_config(config_path);
  if (!config) {
    std::cerr << "aisle-agent: " << config.error().message << "\n";
    return aisle::kExitConfig;
  }
  if (check_only) {
    if (auto status = aisle::agent::check_adapters(*config); !status) {
      std::cerr << "aisle-agent: " << config_path << ": " << status.error().message << "\n";
      return aisle::kExitConfig;
    }
    if (auto status = aisle::agent::check_privacy(*config); !status) {
      std::cerr << "aisle-agent: " << config_path << ": " << status.error().message << "\n";
      return aisle::kExitConfig;
    }
    std::cout << config_path << ": ok\n";
    return 0;
  }
  aisle::log::set_level(config->log_level);
  aisle::log::set_format(config->log_format);
  const aisle::log::Logger logger("agent.main");

  // Block the signals before any thread starts, so only the main loop receives them.
  aisle::SignalWaiter signals;
  const bool watchdog = config->watchdog;
  auto agent = aisle::agent::Agent::create(std::move(*config));
  if (!agent) {
    logger.error("cannot start", {{"error", agent.error().message}});
    return agent.error().code == aisle::ErrorCode::kInvalidArgument ? aisle::kExitConfig : 1;
  }
  if (auto status = (*agent)->start(); !status) {
    logger.error("cannot start", {{"error", status.error().message}});
    return 1;
  }
  aisle::systemd::notify_ready();
  const auto watchdog_interval = watchdog ? aisle::systemd::watchdog_interval() : std::nullopt;
  const auto tick = watchdog_interval ? std::min(*watchdog_interval, std::chrono::milliseconds(1000))
                                      : std::chrono::milliseconds(1000);
  while (true) {
    const aisle::SignalEvent event = signals.wait(tick);
    if (event == aisle::SignalEvent::kTerminate) break;
    if (event == aisle::SignalEvent::kReload) {
      aisle::systemd::notify("RELOADING=1");
      (void)(*agent)->reload();
      aisle::systemd::notify_ready();
    }
    (*agent)->tick();
    if (watchdog_interval) aisle::systemd::notify_watchdog();
  }
  aisle::systemd::notify_stopping();
  (*agent)->stop();
  return 0;
}
