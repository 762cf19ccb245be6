// MQTT topic transport against a real local Mosquitto (plain TCP on a free loopback port, as a
// gateway's own broker would run), started and stopped by the test.
#include "firmware_adapters/transports/mqtt_topic_transport.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/mqtt/mqtt_client.hpp"
#include "common/process.hpp"
#include "tests/support/fake_adapter.hpp"
#include "tests/support/process_guard.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::adapters {
namespace {

using namespace std::chrono_literals;

class LocalBroker {
 public:
  LocalBroker() : dir_("aisle-local-broker") {
    auto port = find_free_port();
    REQUIRE(port.ok());
    port_ = *port;
    test::write_file(dir_.file("mosquitto.conf"),
                     "listener " + std::to_string(port_) + " 127.0.0.1\nallow_anonymous true\n");
    start();
  }
  void start() {
    SpawnOptions spawn;
    spawn.argv = {AISLE_MOSQUITTO, "-c", dir_.file("mosquitto.conf")};
    spawn.log_file = dir_.file("mosquitto.log");
    guard_ = test::spawn_guarded(spawn);
    REQUIRE(wait_for_tcp("127.0.0.1", port_, 10s));
  }
  void stop() { REQUIRE(guard_.stop()); }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  void publish(const std::string& topic, const std::string& payload) const {
    mqtt::ClientOptions options;
    options.uri = uri();
    options.client_id = "test-publisher";
    options.persistent_session = false;
    options.protocol = mqtt::Protocol::kV311;
    mqtt::MqttClient client(options);
    REQUIRE(client.connect());
    REQUIRE(client.publish_and_wait(topic, payload, 5s));
    client.disconnect();
  }

 private:
  test::TempDir dir_;
  int port_ = 0;
  test::ProcessGuard guard_;
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("mqtt transport delivers one frame per message and reconnects after a broker restart",
          "[adapters][mqtt]") {
  LocalBroker broker;
  ManualClock clock;
  test::FrameCollector frames;
  MqttTopicOptions options;
  options.uri = broker.uri();
  options.topic = "gateway/+/adverts";
  options.reconnect_backoff_base = 50ms;
  options.reconnect_backoff_max = 200ms;
  MqttTopicTransport transport(options, clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(wait_until([&] { return transport.stats().connected; }));

  broker.publish("gateway/gw-1/adverts", R"({"mac":"AC:23:3F:00:00:01","rssi":-61})");
  broker.publish("other/topic", "not for us");
  REQUIRE(frames.wait_for(1));
  auto all = frames.frames();
  REQUIRE(all[0].bytes == R"({"mac":"AC:23:3F:00:00:01","rssi":-61})");
  REQUIRE(all[0].origin == "mqtt:gateway/gw-1/adverts");
  REQUIRE(all[0].received_at == clock.now_unix_ms());

  broker.stop();
  REQUIRE(wait_until([&] { return !transport.stats().connected; }));
  broker.start();
  REQUIRE(wait_until([&] { return transport.stats().connected; }));
  REQUIRE(transport.stats().reconnects == 1);
  broker.publish("gateway/gw-2/adverts", "second");
  REQUIRE(frames.wait_for(2));
  REQUIRE(frames.lines().back() == "second");
  REQUIRE(frames.size() == 2);

  const auto started = std::chrono::steady_clock::now();
  transport.stop();
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  // "Promptly" means not waiting out a connect timeout or a backoff. Paho C tears its client down
  // in steps of up to 1 s on a loaded machine (measured 1,003 ms once under ctest -j2), so the
  // bound leaves room for one such step.
  REQUIRE(took < 2500ms);
}

TEST_CASE("mqtt transport stops promptly while no broker answers", "[adapters][mqtt]") {
  auto port = find_free_port();
  REQUIRE(port.ok());
  ManualClock clock;
  test::FrameCollector frames;
  MqttTopicOptions options;
  options.uri = "tcp://127.0.0.1:" + std::to_string(*port);
  options.topic = "t";
  MqttTopicTransport transport(options, clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(wait_until([&] { return !transport.stats().last_error.empty(); }));
  REQUIRE_FALSE(transport.stats().connected);
  const auto started = std::chrono::steady_clock::now();
  transport.stop();
  REQUIRE(std::chrono::steady_clock::now() - started < 1s);
}

}  // namespace aisle::adapters
