#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "firmware_adapters/transport.hpp"

namespace aisle::adapters {
namespace {

using nlohmann::json;

std::string error_of(const json& config) {
  ManualClock clock;
  auto transport = make_transport(config, clock);
  REQUIRE_FALSE(transport.ok());
  REQUIRE(transport.error().code == ErrorCode::kInvalidArgument);
  return transport.error().message;
}

}  // namespace

TEST_CASE("make_transport builds every transport type from its config", "[adapters][factory]") {
  ManualClock clock;
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"type", "tcp"},
        {"listen", "127.0.0.1:7001"},
        {"max_line_bytes", "8KiB"},
        {"max_connections", 4},
        {"idle_timeout", "5m"}},
       "tcp:127.0.0.1:7001"},
      {{{"type", "udp"}, {"listen", "0.0.0.0:7002"}, {"max_datagram_bytes", 1500}},
       "udp:0.0.0.0:7002"},
      {{{"type", "serial"},
        {"device", "/dev/ttyUSB0"},
        {"baud", 115200},
        {"data_bits", 7},
        {"parity", "odd"},
        {"stop_bits", 2},
        {"flow_control", "rtscts"},
        {"raw", false},
        {"reopen_backoff_base", "100ms"},
        {"reopen_backoff_max", "5s"}},
       "serial:/dev/ttyUSB0@115200,7O2"},
      {{{"type", "file"},
        {"path", "/var/log/pos/export.csv"},
        {"start_at", "beginning"},
        {"poll_interval", "1s"}},
       "file:/var/log/pos/export.csv"},
      {{{"type", "mqtt"}, {"uri", "tcp://127.0.0.1:1883"}, {"topic", "gateway/+/adverts"}},
       "mqtt:tcp://127.0.0.1:1883/gateway/+/adverts"},
  };
  for (const auto& [config, description] : cases) {
    INFO(config.dump());
    auto transport = make_transport(config, clock);
    REQUIRE(transport.ok());
    REQUIRE((*transport)->describe() == description);
  }
}

TEST_CASE("make_transport names the key of an unknown option or a bad value",
          "[adapters][factory]") {
  REQUIRE_THAT(error_of({{"listen", "127.0.0.1:1"}}),
               Catch::StartsWith("transport.type: required"));
  REQUIRE_THAT(error_of({{"type", "carrier-pigeon"}}),
               Catch::StartsWith("transport.type: unknown 'carrier-pigeon'"));
  REQUIRE_THAT(error_of({{"type", "tcp"}, {"listen", "127.0.0.1:7001"}, {"lsiten", "x"}}),
               Catch::StartsWith("transport.lsiten: unknown key"));
  REQUIRE_THAT(error_of({{"type", "tcp"}}), Catch::StartsWith("transport.listen: required"));
  REQUIRE_THAT(error_of({{"type", "tcp"}, {"listen", "nowhere"}}),
               Catch::StartsWith("transport.listen: not host:port"));
  REQUIRE_THAT(
      error_of({{"type", "tcp"}, {"listen", "127.0.0.1:7001"}, {"max_line_bytes", "lots"}}),
      Catch::StartsWith("transport.max_line_bytes: must be a size"));
  REQUIRE_THAT(error_of({{"type", "serial"}, {"device", "/dev/ttyS0"}, {"baud", 12345}}),
               Catch::StartsWith("transport.baud: not a standard rate"));
  REQUIRE_THAT(error_of({{"type", "serial"}, {"device", "/dev/ttyS0"}, {"parity", "mark"}}),
               Catch::StartsWith("transport.parity: must be one of"));
  REQUIRE_THAT(error_of({{"type", "serial"}, {"device", "/dev/ttyS0"}, {"data_bits", 9}}),
               Catch::StartsWith("transport.data_bits: must be an integer in 5..8"));
  REQUIRE_THAT(error_of({{"type", "serial"}, {"device", "/dev/ttyS0"}, {"raw", "yes"}}),
               Catch::StartsWith("transport.raw: must be true or false"));
  REQUIRE_THAT(error_of({{"type", "file"}, {"path", "/x"}, {"start_at", "middle"}}),
               Catch::StartsWith("transport.start_at: must be one of"));
  REQUIRE_THAT(error_of({{"type", "file"}, {"path", "/x"}, {"poll_interval", "soon"}}),
               Catch::StartsWith("transport.poll_interval: must be a duration"));
  REQUIRE_THAT(error_of({{"type", "mqtt"}, {"uri", "ssl://broker:8883"}, {"topic", "t"}}),
               Catch::StartsWith("transport.uri: must be tcp://"));
  REQUIRE_THAT(error_of(json::array()), Catch::StartsWith("transport: must be an object"));
}

}  // namespace aisle::adapters
