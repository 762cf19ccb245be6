// make_transport(): the `transport` object of an adapter's config -> a Transport. Every key is
// checked: an unknown key or a bad value is an error naming it ("transport.baud: ...").
#include <set>
#include <string>

#include "common/config.hpp"
#include "firmware_adapters/transport.hpp"
#include "firmware_adapters/transports/file_tail_transport.hpp"
#include "firmware_adapters/transports/io.hpp"
#include "firmware_adapters/transports/mqtt_topic_transport.hpp"
#include "firmware_adapters/transports/serial_transport.hpp"
#include "firmware_adapters/transports/tcp_line_transport.hpp"
#include "firmware_adapters/transports/udp_transport.hpp"

namespace aisle::adapters {
namespace {

using nlohmann::json;

// Reads typed values from one transport object; the first problem is kept and named.
class Reader {
 public:
  explicit Reader(const json& config) : config_(config) {}

  bool check_keys(const std::set<std::string>& allowed) {
    for (const auto& [key, value] : config_.items()) {
      if (key != "type" && !allowed.count(key)) {
        return fail(key, "unknown key (known: " + join(allowed) + ")");
      }
    }
    return true;
  }
  std::string string(const std::string& key, const std::string& fallback, bool required = false) {
    auto it = config_.find(key);
    if (it == config_.end()) {
      if (required) fail(key, "required");
      return fallback;
    }
    if (!it->is_string() || it->get<std::string>().empty()) {
      fail(key, "must be a non-empty string");
      return fallback;
    }
    return it->get<std::string>();
  }
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) {
    auto it = config_.find(key);
    if (it == config_.end()) return fallback;
    if (!it->is_number_integer() || it->get<std::int64_t>() < min ||
        it->get<std::int64_t>() > max) {
      fail(key, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
      return fallback;
    }
    return it->get<std::int64_t>();
  }
  std::size_t size(const std::string& key, std::size_t fallback, std::size_t min, std::size_t max) {
    auto it = config_.find(key);
    if (it == config_.end()) return fallback;
    const auto bytes = parse_size_bytes(*it);
    if (!bytes || *bytes < static_cast<std::int64_t>(min) ||
        *bytes > static_cast<std::int64_t>(max)) {
      fail(key, "must be a size (bytes or \"64KiB\") in " + std::to_string(min) + ".." +
                    std::to_string(max) + " bytes");
      return fallback;
    }
    return static_cast<std::size_t>(*bytes);
  }
  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback,
                                     std::chrono::milliseconds min) {
    auto it = config_.find(key);
    if (it == config_.end()) return fallback;
    const auto ms = parse_duration_ms(*it);
    if (!ms || *ms < min.count()) {
      fail(key, "must be a duration (milliseconds or \"250ms\", \"5s\") >= " +
                    std::to_string(min.count()) + "ms");
      return fallback;
    }
    return std::chrono::milliseconds(*ms);
  }
  bool boolean(const std::string& key, bool fallback) {
    auto it = config_.find(key);
    if (it == config_.end()) return fallback;
    if (!it->is_boolean()) {
      fail(key, "must be true or false");
      return fallback;
    }
    return it->get<bool>();
  }
  // One of `choices`; returns its index.
  std::size_t choice(const std::string& key, const std::vector<std::string>& choices,
                     std::size_t fallback) {
    auto it = config_.find(key);
    if (it == config_.end()) return fallback;
    for (std::size_t i = 0; it->is_string() && i < choices.size(); ++i) {
      if (it->get<std::string>() == choices[i]) return i;
    }
    fail(key, "must be one of " + join({choices.begin(), choices.end()}));
    return fallback;
  }
  bool fail(const std::string& key, const std::string& message) {
    if (error_.empty()) error_ = "transport." + key + ": " + message;
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  static std::string join(const std::set<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
  }
  const json& config_;
  std::string error_;
};

constexpr std::size_t kMaxLine = 16 * 1024 * 1024;

Result<TransportPtr> make_tcp(Reader& r, const Clock& clock) {
  r.check_keys({"listen", "max_line_bytes", "max_connections", "idle_timeout"});
  TcpLineOptions o;
  o.listen = r.string("listen", o.listen, true);
  sockaddr_in address{};
  if (r.error().empty() && !io::parse_ipv4_endpoint(o.listen, address)) {
    r.fail("listen", "not host:port with an IPv4 host: '" + o.listen + "'");
  }
  o.max_line_bytes = r.size("max_line_bytes", o.max_line_bytes, 16, kMaxLine);
  o.max_connections = static_cast<std::size_t>(r.integer("max_connections", 32, 1, 4096));
  o.idle_timeout = r.duration("idle_timeout", o.idle_timeout, std::chrono::milliseconds(0));
  if (!r.error().empty()) return make_error(ErrorCode::kInvalidArgument, r.error());
  return TransportPtr(std::make_unique<TcpLineTransport>(std::move(o), clock));
}

Result<TransportPtr> make_udp(Reader& r, const Clock& clock) {
  r.check_keys({"listen", "max_datagram_bytes", "receive_buffer_bytes"});
  UdpOptions o;
  o.listen = r.string("listen", o.listen, true);
  sockaddr_in address{};
  if (r.error().empty() && !io::parse_ipv4_endpoint(o.listen, address)) {
    r.fail("listen", "not host:port with an IPv4 host: '" + o.listen + "'");
  }
  o.max_datagram_bytes = r.size("max_datagram_bytes", o.max_datagram_bytes, 16, 65507);
  o.receive_buffer_bytes = r.size("receive_buffer_bytes", 0, 0, 64 * 1024 * 1024);
  if (!r.error().empty()) return make_error(ErrorCode::kInvalidArgument, r.error());
  return TransportPtr(std::make_unique<UdpTransport>(std::move(o), clock));
}

Result<TransportPtr> make_serial(Reader& r, const Clock& clock) {
  r.check_keys({"device", "baud", "data_bits", "parity", "stop_bits", "flow_control", "raw",
                "max_line_bytes", "reopen_backoff_base", "reopen_backoff_max"});
  SerialOptions o;
  o.device = r.string("device", "", true);
  o.baud = static_cast<int>(r.integer("baud", o.baud, 50, 4000000));
  if (r.error().empty() && !is_supported_baud(o.baud)) {
    r.fail("baud",
           "not a standard rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, "
           "230400, 460800, 921600 ... 4000000): " +
               std::to_string(o.baud));
  }
  o.data_bits = static_cast<int>(r.integer("data_bits", o.data_bits, 5, 8));
  o.parity = static_cast<Parity>(r.choice("parity", {"none", "even", "odd"}, 0));
  o.stop_bits = static_cast<int>(r.integer("stop_bits", o.stop_bits, 1, 2));
  o.flow_control =
      static_cast<FlowControl>(r.choice("flow_control", {"none", "rtscts", "xonxoff"}, 0));
  o.raw = r.boolean("raw", o.raw);
  o.max_line_bytes = r.size("max_line_bytes", o.max_line_bytes, 16, kMaxLine);
  o.reopen_backoff_base =
      r.duration("reopen_backoff_base", o.reopen_backoff_base, std::chrono::milliseconds(10));
  o.reopen_backoff_max =
      r.duration("reopen_backoff_max", o.reopen_backoff_max, std::chrono::milliseconds(10));
  if (r.error().empty() && o.reopen_backoff_max < o.reopen_backoff_base) {
    r.fail("reopen_backoff_max", "must be >= reopen_backoff_base");
  }
  if (!r.error().empty()) return make_error(ErrorCode::kInvalidArgument, r.error());
  return TransportPtr(std::make_unique<SerialTransport>(std::move(o), clock));
}

Result<TransportPtr> make_file(Reader& r, const Clock& clock) {
  r.check_keys({"path", "start_at", "max_line_bytes", "poll_interval"});
  FileTailOptions o;
  o.path = r.string("path", "", true);
  o.start_at_end = r.choice("start_at", {"end", "beginning"}, 0) == 0;
  o.max_line_bytes = r.size("max_line_bytes", o.max_line_bytes, 16, kMaxLine);
  o.poll_interval = r.duration("poll_interval", o.poll_interval, std::chrono::milliseconds(10));
  if (!r.error().empty()) return make_error(ErrorCode::kInvalidArgument, r.error());
  return TransportPtr(std::make_unique<FileTailTransport>(std::move(o), clock));
}

Result<TransportPtr> make_mqtt(Reader& r, const Clock& clock) {
  r.check_keys({"uri", "topic", "client_id", "reconnect_backoff_base", "reconnect_backoff_max"});
  MqttTopicOptions o;
  o.uri = r.string("uri", o.uri);
  if (r.error().empty() && o.uri.rfind("tcp://", 0) != 0 && o.uri.rfind("mqtt://", 0) != 0) {
    r.fail("uri", "must be tcp://host:port (a local broker without TLS): '" + o.uri + "'");
  }
  o.topic = r.string("topic", "", true);
  o.client_id = r.string("client_id", "");
  o.reconnect_backoff_base =
      r.duration("reconnect_backoff_base", o.reconnect_backoff_base, std::chrono::milliseconds(10));
  o.reconnect_backoff_max =
      r.duration("reconnect_backoff_max", o.reconnect_backoff_max, std::chrono::milliseconds(10));
  if (!r.error().empty()) return make_error(ErrorCode::kInvalidArgument, r.error());
  return TransportPtr(std::make_unique<MqttTopicTransport>(std::move(o), clock));
}

}  // namespace

Result<TransportPtr> make_transport(const nlohmann::json& config, const Clock& clock) {
  if (!config.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "transport: must be an object");
  }
  auto type = config.find("type");
  if (type == config.end() || !type->is_string()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "transport.type: required (tcp, udp, serial, file, mqtt)");
  }
  Reader reader(config);
  const std::string name = type->get<std::string>();
  if (name == "tcp") return make_tcp(reader, clock);
  if (name == "udp") return make_udp(reader, clock);
  if (name == "serial") return make_serial(reader, clock);
  if (name == "file") return make_file(reader, clock);
  if (name == "mqtt") return make_mqtt(reader, clock);
  return make_error(ErrorCode::kInvalidArgument,
                    "transport.type: unknown '" + name + "' (tcp, udp, serial, file, mqtt)");
}

}  // namespace aisle::adapters
