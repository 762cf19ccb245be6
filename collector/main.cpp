// aisle-collector: the central collector daemon. Composition root only — everything else is in
// aisle::collector_core (collector/collector.hpp).
#include <cstring>
#include <iostream>
#include <string>

#include "collector/collector.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/signal_waiter.hpp"
#include "common/systemd_notify.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: aisle-collector --config FILE [--check-config]\n"
    "\n"
    "The Aisle collector: takes agents' batches over MQTT/TLS and web/mobile events over\n"
    "HTTP (127.0.0.1:8780 by default), validates, deduplicates and stores them, quarantines\n"
    "what it cannot accept, and acknowledges each committed batch to its agent.\n"
    "\n"
    "  --config FILE    configuration (JSON with comments; see\n"
    "                   /usr/share/doc/aisle/collector.example.json)\n"
    "  --check-config   validate the configuration and exit (0 valid, 78 invalid)\n"
    "  --version        print the version\n"
    "  --help           this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop gracefully (shutdown_grace), SIGHUP reloads schemas\n"
    "and puts renewed TLS certificates in use (reconnecting).\n"
    "Exit codes: 0 stopped cleanly, 1 runtime failure, 78 configuration error.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::cout << "aisle-collector " << AISLE_VERSION << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "aisle-collector: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (config_path.empty()) {
    std::cerr << "aisle-collector: --config FILE is required\n" << kUsage;
    return aisle::kExitConfig;
  }
  auto config = aisle::collector::load_collector_config(config_path);
  if (!config) {
    std::cerr << "aisle-collector: " << config.error().message << "\n";
    return aisle::kExitConfig;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  aisle::log::set_level(config->log_level);
  aisle::log::set_format(config->log_format);
  const aisle::log::Logger logger("collector.main");

  // Block the signals before any thread starts, so only the main loop receives them.
  aisle::SignalWaiter signals;
  const bool watchdog = config->watchdog;
  auto collector = aisle::collector::Collector::create(std::move(*config));
  if (!collector) {
    logger.error("cannot start", {{"error", collector.error().message}});
    return collector.error().code == aisle::ErrorCode::kInvalidArgument ? aisle::kExitConfig : 1;
  }
  if (auto status = (*collector)->start(); !status) {
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
      (void)(*collector)->reload();
      aisle::systemd::notify_ready();
    }
    (*collector)->tick();
    if (watchdog_interval) aisle::systemd::notify_watchdog();
  }
  aisle::systemd::notify_stopping();
  (*collector)->stop();
  return 0;
}
