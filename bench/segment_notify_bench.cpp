// segment_notify_bench: the notification part of "event commit -> segment_entered on the agent's
// downlink" (issue 5: p99 <= 50 ms at 5,000 changes/s for the whole path). Measures the time
// from ChangeFanout::on_change() (where the segment engine hands over a change) to the change
// decoded by an MQTT subscriber holding the agent's identity, through the fanout's downlink
// queue, AgentDownlink's per-agent batching, the collector's Paho client and a loopback mutual-TLS
// Mosquitto configured as `aislectl devenv` configures it.
//
//   segment_notify_bench [seconds=10] [changes_per_second=5000]
//
// Runs twice: with the default 5 ms linger (batches per agent) and with no linger (one message
// per change), to show what batching buys.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "collector/segments/notify/agent_downlink.hpp"
#include "collector/segments/notify/change_fanout.hpp"
#include "common/aislectl/devenv.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/mqtt/mqtt_client.hpp"
#include "common/process.hpp"
#include "common/wire/segment_change_wire.hpp"
#include "common/wire/topics.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace aisle;

mqtt::ClientOptions client_options(const std::string& config_file, const std::string& client_id) {
  std::ifstream in(config_file);
  const json config = json::parse(in, nullptr, true, /*ignore_comments=*/true);
  mqtt::ClientOptions o;
  o.uri = config["mqtt"]["uri"];
  o.ca_file = config["mqtt"]["ca_file"];
  o.cert_file = config["mqtt"]["cert_file"];
  o.key_file = config["mqtt"]["key_file"];
  o.client_id = client_id;
  o.persistent_session = false;
  return o;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

struct RunResult {
  long sent = 0;
  long received = 0;
  long messages = 0;
  double p50 = 0, p99 = 0, max = 0;
};

RunResult run(const ctl::DevEnv& env, int seconds, int rate, std::chrono::milliseconds linger) {
  const long total = static_cast<long>(seconds) * rate;
  std::vector<Clock::time_point> handed(static_cast<std::size_t>(total));
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<std::size_t>(total));
  std::mutex mutex;
  std::atomic<long> received{0};
  std::atomic<long> messages{0};

  // The agent's side: a subscriber on its downlink.
  mqtt::MqttClient agent(client_options(env.agents[0].config, "bench-agent"));
  agent.on_message([&](mqtt::Message&& m) {
    const auto now = Clock::now();
    auto changes = wire::decode_segment_changes(m.payload, {4 << 20, 100000, 256});
    if (!changes) return;
    ++messages;
    const std::lock_guard lock(mutex);
    for (const auto& c : *changes) {
      const long n = std::stol(c.change_id.substr(2));
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - handed[n]).count());
      ++received;
    }
  });
  if (auto s = agent.connect(); !s) {
    std::fprintf(stderr, "agent connect: %s\n", s.error().message.c_str());
    std::exit(1);
  }
  const wire::AgentAddress address{env.tenant, env.agents[0].store_id, env.agents[0].agent_id};
  if (auto s = agent.subscribe(wire::downlink_topic(address, "segment")); !s) {
    std::fprintf(stderr, "subscribe: %s\n", s.error().message.c_str());
    std::exit(1);
  }

  // The collector's side: its client behind the downlink channel behind the fanout.
  mqtt::MqttClient collector(client_options(env.collector_config, "bench-collector"));
  if (auto s = collector.connect(); !s) {
    std::fprintf(stderr, "collector connect: %s\n", s.error().message.c_str());
    std::exit(1);
  }
  metrics::Registry metrics;
  collector::segments::AgentDownlink downlink(
      {env.tenant, 100, 1},
      [&](const std::string& topic, const std::string& payload, int) {
        return collector.publish(topic, payload);
      },
      metrics);
  collector::segments::ChangeFanout fanout(metrics);
  fanout.add_channel({"downlink", 10000, 512, linger}, downlink);
  fanout.start();

  collector::segments::SegmentChange change;
  change.kind = collector::segments::SegmentChangeKind::kEntered;
  change.segment_id = "espresso_intent";
  change.version = 1;
  change.reason = "event";
  change.store_id = address.store_id;
  change.agent_id = address.agent_id;
  const auto started = Clock::now();
  const auto per_ms = std::max(1, rate / 1000);
  long n = 0;
  for (long tick = 0; n < total; ++tick) {
    std::this_thread::sleep_until(started + std::chrono::milliseconds(tick));
    for (int i = 0; i < per_ms && n < total; ++i, ++n) {
      change.change_id = "b-" + std::to_string(n);
      change.profile_id = "profile-" + std::to_string(n % 100000);
      change.trigger_event_id = change.change_id;
      change.at = SystemClock::instance()->now_unix_ms();
      handed[n] = Clock::now();
      fanout.on_change(change);
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (received < total && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  fanout.stop();
  collector.disconnect();
  agent.disconnect();
  RunResult r;
  r.sent = total;
  r.received = received;
  r.messages = messages;
  const std::lock_guard lock(mutex);
  r.p50 = percentile(latencies_ms, 0.50);
  r.p99 = percentile(latencies_ms, 0.99);
  r.max = latencies_ms.empty() ? 0 : *std::max_element(latencies_ms.begin(), latencies_ms.end());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int rate = argc > 2 ? std::atoi(argv[2]) : 5000;
  log::set_level(log::Level::kWarn);
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("segment-notify-bench-" + std::to_string(getpid())))
          .string();
  auto env = ctl::devenv_init(dir, {});
  if (!env) {
    std::fprintf(stderr, "devenv init: %s\n", env.error().message.c_str());
    return 1;
  }
  // Only the broker of the environment is needed.
  SpawnOptions broker;
  const char* mosquitto = std::getenv("AISLE_MOSQUITTO");
  broker.argv = {mosquitto ? mosquitto : "/usr/sbin/mosquitto", "-c", env->mosquitto_config};
  broker.log_file = dir + "/log/mosquitto.log";
  auto pid = spawn(broker);
  if (!pid || !wait_for_tcp("127.0.0.1", env->mqtt_port, std::chrono::seconds(10))) {
    std::fprintf(stderr, "mosquitto did not start (see %s)\n", broker.log_file.c_str());
    return 1;
  }
  std::printf("segment_notify_bench: on_change() -> fanout -> AgentDownlink -> Paho -> TLS "
              "Mosquitto (loopback) -> subscriber; %d changes/s for %d s, one agent\n",
              rate, seconds);
  for (const auto linger : {std::chrono::milliseconds(5), std::chrono::milliseconds(0)}) {
    const RunResult r = run(*env, seconds, rate, linger);
    std::printf("  linger %2lld ms: %ld/%ld changes received in %ld messages; latency p50 %.2f ms, "
                "p99 %.2f ms, max %.2f ms\n",
                static_cast<long long>(linger.count()), r.received, r.sent, r.messages, r.p50,
                r.p99, r.max);
  }
  (void)terminate(*pid, std::chrono::seconds(5));
  std::filesystem::remove_all(dir);
  return 0;
}
