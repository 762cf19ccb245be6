// Firmware adapters in the deployed pipeline: an agent process runs a TCP people-counter adapter
// (config `adapters`), a test "device" writes counter lines to its socket, and the footfall
// events arrive at the collector; an undecodable line arrives as a quarantine entry with its raw
// bytes. Lines taken before a SIGTERM are committed before the agent exits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/process.hpp"
#include "tests/support/collector_db.hpp"
#include "tests/support/pipeline_env.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A people counter connected to the agent's TCP adapter.
class CounterDevice {
 public:
  explicit CounterDevice(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~CounterDevice() { ::close(fd_); }
  void send(const std::string& text) const {
    REQUIRE(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(text.size()));
  }

 private:
  int fd_;
};

double agent_metric(const PipelineEnv& env, const std::string& series) {
  return metric_value(env.agent(1).get("/metrics").body, series).value_or(0);
}

std::size_t footfall_count(const PipelineEnv& env) {
  auto db = read_collector_db(env.collector_db());
  if (!db) return 0;
  std::size_t n = 0;
  for (const auto& row : db->events) n += row.type == "footfall" ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("a tcp people counter adapter's footfall reaches the collector, bad lines quarantined",
          "[integration][adapters]") {
  auto port = find_free_port();
  REQUIRE(port.ok());
  PipelineEnv env({.edit_agent = [&](int, json& c) {
    c["adapters"] = json::array(
        {{{"name", "door-main"},
          {"device_id", "pc-door-main"},
          {"transport", {{"type", "tcp"}, {"listen", "127.0.0.1:" + std::to_string(*port)}}},
          {"decoder", {{"type", "people_counter"}}}}});
  }});

  {
    CounterDevice device(*port);
    device.send("2026-11-28T14:05:00Z,door-main,in=3,out=1\r\n");
    device.send("2026-11-28T14:06:00Z,door-main,in=2,out=0\n");
    device.send("this is not a counter line\n");
    device.send("2026-11-28T14:07:00Z,door-main,in=0,out=4\n");
  }
  std::string state;
  REQUIRE(wait_for_drain(env, 3, 1, seconds(30), &state));
  INFO(state);

  auto db = read_collector_db(env.collector_db());
  REQUIRE(db.ok());
  REQUIRE(db->events.size() == 3);
  for (const auto& row : db->events) {
    CHECK(row.type == "footfall");
    CHECK(row.store_id == "store-1");
    CHECK(row.channel == "sensor");
  }
  REQUIRE(db->quarantine.size() == 1);
  CHECK(db->quarantine[0].raw == "this is not a counter line");
  // The collector records the agent's input ("agent:adapter:<name>"); the device's address and
  // line travel in the error messages.
  CHECK(db->quarantine[0].origin.rfind("agent:adapter:", 0) == 0);
  CHECK(db->quarantine[0].reason.rfind("decode:", 0) == 0);
  CHECK_THAT(db->quarantine[0].errors,
             Catch::Contains("tcp:127.0.0.1:") && Catch::Contains(" line 3: "));

  const HttpResponse status = env.agent(1).get("/v1/status");
  REQUIRE(status.status == 200);
  const json adapters = status.json()["adapters"];
  REQUIRE(adapters.size() == 1);
  CHECK(adapters[0]["name"] == "door-main");
  CHECK(adapters[0]["state"] == "running");
  CHECK(adapters[0]["transport"] == "tcp:127.0.0.1:" + std::to_string(*port));
  CHECK(adapters[0]["frames"] == 4);
  CHECK(adapters[0]["events"] == 3);
  CHECK(adapters[0]["decode_errors"] == 1);
  CHECK(agent_metric(env, "aisle_agent_adapter_frames_total{adapter=\"door-main\"}") == 4);
  CHECK(agent_metric(env, "aisle_agent_adapter_events_total{adapter=\"door-main\"}") == 3);

  // Lines the adapter took are committed before the agent exits on SIGTERM, and forwarded by
  // the restarted agent.
  constexpr int kMore = 200;
  {
    CounterDevice device(*port);
    std::string burst;
    for (int i = 0; i < kMore; ++i) {
      burst += "2026-11-28T15:" + std::string(i / 60 < 10 ? "0" : "") + std::to_string(i / 60) +
               ":" + (i % 60 < 10 ? "0" : "") + std::to_string(i % 60) + "Z,door-side,in=1,out=0\n";
    }
    device.send(burst);
    REQUIRE(wait_until(
        [&] {
          return agent_metric(env, "aisle_agent_adapter_frames_total{adapter=\"door-main\"}") >=
                 4 + kMore;
        },
        seconds(10), milliseconds(5)));
  }
  REQUIRE(env.stop("agent-1"));
  REQUIRE(env.up());
  REQUIRE(wait_for_drain(env, 3 + kMore, 1, seconds(30), &state));
  CHECK(footfall_count(env) == 3 + kMore);
}

TEST_CASE("an agent with a bad adapter transport key exits 78 naming the adapter and the key",
          "[integration][adapters]") {
  PipelineEnv env(
      {.edit_agent =
           [](int, json& c) {
             c["adapters"] = json::array(
                 {{{"name", "door-main"},
                   {"transport", {{"type", "tcp"}, {"listen", "127.0.0.1:7001"}, {"max_lines", 5}}},
                   {"decoder", {{"type", "people_counter"}}}}});
           },
       .start = false});
  for (const bool check_only : {true, false}) {
    std::vector<std::string> argv = {std::string(AISLE_BINARY_DIR) + "/aisle-agent", "--config",
                                     env.config_path("agent-1")};
    if (check_only) argv.push_back("--check-config");
    const CommandResult result = run_command(argv);
    INFO(result.output);
    CHECK(result.exit_code == 78);
    CHECK_THAT(result.output,
               Catch::Contains("adapters[0] (door-main): transport.max_lines: unknown key"));
  }
}

}  // namespace aisle::test
