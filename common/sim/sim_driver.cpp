#include "common/sim/sim_driver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <httplib.h>

#include <thread>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/sim/sim_events.hpp"

namespace aisle::sim {
namespace {

const log::Logger kLog("sim.driver");

bool split_host_port(const std::string& text, std::string& host, int& port) {
  std::string rest = text;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  host = rest.substr(0, colon);
  port = std::atoi(rest.c_str() + colon + 1);
  return port > 0 && port < 65536;
}

sockaddr_in address_of(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  return address;
}

// A device on a TCP line server: one connection, reconnected when it breaks.
class TcpDevice {
 public:
  explicit TcpDevice(std::string endpoint) : endpoint_(std::move(endpoint)) {}
  ~TcpDevice() { close(); }
  bool configured() const { return !endpoint_.empty(); }
  // Writes all of `bytes`; false when the connection cannot be made or broke.
  bool write(const std::string& bytes) {
    if (fd_ < 0 && !connect()) return false;
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        close();
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  bool connect() {
    std::string host;
    int port = 0;
    if (!split_host_port(endpoint_, host, port)) return false;
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    const sockaddr_in address = address_of(host, port);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      close();
      return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::string endpoint_;
  int fd_ = -1;
};

// A serial device as the simulator plays it: the master side of a pseudo-terminal, whose slave
// side is linked at a stable path for the agent's serial transport. The simulator keeps the slave
// open too, so the line stays up while the agent reopens it, and sets it raw (no echo back into
// the master, no line editing). Writes never block: a full line buffer (the agent not reading)
// fails the frames, as a real counter's UART would drop them.
class PtyDevice {
 public:
  explicit PtyDevice(std::string link) : link_(std::move(link)) {}
  ~PtyDevice() {
    if (!slave_path_.empty()) ::unlink(link_.c_str());
    for (int fd : {master_, slave_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  PtyDevice(const PtyDevice&) = delete;
  PtyDevice& operator=(const PtyDevice&) = delete;

  bool configured() const { return !link_.empty(); }

  Status open() {
    if (link_.empty()) return ok_status();
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) {
      return make_error(ErrorCode::kIo, std::string("cannot open a pseudo-terminal: ") +
                                            std::strerror(errno));
    }
    char name[128] = {};
    if (::ptsname_r(master_, name, sizeof name) != 0) {
      return make_error(ErrorCode::kIo, "ptsname: " + std::string(std::strerror(errno)));
    }
    slave_path_ = name;
    slave_ = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave_ < 0) return make_error(ErrorCode::kIo, "cannot open " + slave_path_);
    termios tio{};
    if (::tcgetattr(slave_, &tio) == 0) {
      ::cfmakeraw(&tio);
      ::cfsetispeed(&tio, B9600);
      ::cfsetospeed(&tio, B9600);
      ::tcsetattr(slave_, TCSANOW, &tio);
    }
    ::unlink(link_.c_str());  // a link left by an earlier run points at a pty that is gone
    if (::symlink(name, link_.c_str()) != 0) {
      return make_error(ErrorCode::kIo, "cannot link " + link_ + " -> " + slave_path_ + ": " +
                                            std::strerror(errno));
    }
    return ok_status();
  }

  bool write(const std::string& bytes) {
    if (master_ < 0) return false;
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(master_, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;  // EAGAIN: the line buffer is full
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  std::string link_;
  std::string slave_path_;
  int master_ = -1;
  int slave_ = -1;
};

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

// The sku of a recommended item, whichever member name the answer uses.
std::string item_sku(const nlohmann::json& item) {
  if (item.is_string()) return item.get<std::string>();
  if (!item.is_object()) return "";
  for (const char* key : {"sku", "item_id", "item", "id"}) {
    if (auto it = item.find(key); it != item.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

const nlohmann::json* recommended_items(const nlohmann::json& answer) {
  for (const char* key : {"items", "recommendations", "results"}) {
    if (auto it = answer.find(key); it != answer.end() && it->is_array()) return &*it;
  }
  return nullptr;
}

}  // namespace

struct SimDriver::Impl {
  DriverTargets targets;
  TcpDevice pos, counter;
  PtyDevice counter_serial;
  int udp_fd = -1;
  sockaddr_in udp_address{};
  int rfid_fd = -1, weight_fd = -1;
  std::unique_ptr<httplib::Client> agent, collector;
  mutable std::mutex mutex;
  DriverStats stats;
  std::uint64_t id_counter = 0;

  explicit Impl(DriverTargets t)
      : targets(std::move(t)),
        pos(targets.devices.pos_tcp),
        counter(targets.devices.counter_serial.empty() ? targets.devices.counter_tcp : ""),
        counter_serial(targets.devices.counter_serial) {}
  ~Impl() {
    for (int fd : {udp_fd, rfid_fd, weight_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void count(Sink sink, std::uint64_t sent, std::uint64_t failed, std::uint64_t skipped = 0) {
    std::lock_guard lock(mutex);
    SinkStats& s = stats.sinks[static_cast<int>(sink)];
    s.sent += sent;
    s.failed += failed;
    s.skipped += skipped;
  }

  template <class Device>
  void write_lines(Sink sink, Device& device, const std::string& lines, std::uint64_t n) {
    if (n == 0) return;
    if (!device.configured()) return count(sink, 0, 0, n);
    const bool ok = device.write(lines);
    count(sink, ok ? n : 0, ok ? 0 : n);
  }

  void append(Sink sink, int fd, const std::string& lines, std::uint64_t n) {
    if (n == 0) return;
    if (fd < 0) return count(sink, 0, 0, n);
    std::size_t done = 0;
    while (done < lines.size()) {
      const ssize_t w = ::write(fd, lines.data() + done, lines.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return count(sink, 0, n);
      }
      done += static_cast<std::size_t>(w);
    }
    count(sink, n, 0);
  }

  // Posts NDJSON events; counts accepted and rejected from the answer.
  void post_events(Sink sink, httplib::Client* client, const std::string& key,
                   const std::string& body, std::uint64_t n) {
    if (n == 0) return;
    if (!client) return count(sink, 0, 0, n);
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
    auto result = client->Post("/v1/events", headers, body, "application/x-ndjson");
    std::lock_guard lock(mutex);
    SinkStats& s = stats.sinks[static_cast<int>(sink)];
    if (!result || (result->status != 202 && result->status != 200)) {
      s.failed += n;
      if (result) {
        kLog.warn("events refused", {{"sink", sink_name(sink)}, {"status", result->status},
                                     {"body", result->body.substr(0, 300)}});
      }
      return;
    }
    s.sent += n;
    const nlohmann::json answer = nlohmann::json::parse(result->body, nullptr, false);
    if (answer.is_object()) {
      s.accepted += answer.value("accepted", 0ULL);
      const auto rejected = answer.find("rejected");
      if (rejected != answer.end() && rejected->is_array()) s.rejected += rejected->size();
    }
  }

  void kiosk(const SimOutput& output) {
    const KioskVisit& visit = *output.kiosk;
    std::string body;
    for (const std::string& event : visit.events) body += event + "\n";
    post_events(Sink::kKiosk, agent.get(), "", body, visit.events.size());
    if (!agent) return;
    auto answer = agent->Get("/v1/recommendations?identity=" + url_encode(visit.identity) +
                             "&placement=kiosk_home&n=4");
    if (!answer || answer->status != 200) {
      std::lock_guard lock(mutex);
      if (answer && answer->status == 404) {
        ++stats.recs_not_found;
      } else {
        ++stats.recs_failed;
      }
      return;
    }
    const nlohmann::json recs = nlohmann::json::parse(answer->body, nullptr, false);
    const nlohmann::json* items = recs.is_object() ? recommended_items(recs) : nullptr;
    const std::string rec_id = recs.is_object() ? recs.value("rec_id", "") : "";
    {
      std::lock_guard lock(mutex);
      ++stats.recs_served;
      stats.last_recommendation = recs;
      stats.last_recommendation_identity = visit.identity;
    }
    if (!items || items->empty() || rec_id.empty()) return;
    std::vector<std::string> skus;
    for (const auto& item : *items) {
      if (std::string sku = item_sku(item); !sku.empty()) skus.push_back(sku);
    }
    if (skus.empty()) return;
    const std::string strategy = recs.value("strategy", recs.value("mode", "recommendations"));
    auto id = [&] { return sim_event_id(output.wall_ms, visit.id_seed, ++id_counter * 0x9E3779B97F4A7C15ULL ^ visit.id_seed); };
    body = sim_event_text("kiosk_interaction", id(), output.wall_ms, visit.source, visit.identities,
                          {{"kiosk_id", visit.kiosk_id},
                           {"action", "recommendation_view"},
                           {"rec_id", rec_id},
                           {"placement", "kiosk_home"},
                           {"strategy", strategy},
                           {"skus", skus}}) +
           "\n";
    std::uint64_t n = 1;
    if (visit.click_roll < targets.click_probability) {
      const std::size_t position = visit.pick % skus.size();
      body += sim_event_text("kiosk_interaction", id(), output.wall_ms + 1500, visit.source,
                             visit.identities,
                             {{"kiosk_id", visit.kiosk_id},
                              {"action", "recommendation_click"},
                              {"sku", skus[position]},
                              {"rec_id", rec_id},
                              {"placement", "kiosk_home"},
                              {"strategy", strategy},
                              {"position", position}}) +
              "\n";
      ++n;
      std::lock_guard lock(mutex);
      ++stats.rec_clicks;
    }
    post_events(Sink::kKiosk, agent.get(), "", body, n);
  }
};

SimDriver::SimDriver(DriverTargets targets) : impl_(std::make_unique<Impl>(std::move(targets))) {}
SimDriver::~SimDriver() = default;

Status SimDriver::open() {
  Impl& d = *impl_;
  const DeviceEndpoints& e = d.targets.devices;
  if (!e.ble_udp.empty()) {
    std::string host;
    int port = 0;
    if (!split_host_port(e.ble_udp, host, port)) {
      return make_error(ErrorCode::kInvalidArgument, "--ble: expected udp:HOST:PORT, got " + e.ble_udp);
    }
    d.udp_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    d.udp_address = address_of(host, port);
  }
  auto open_file = [](const std::string& path, int& fd) -> Status {
    if (path.empty()) return ok_status();
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(ErrorCode::kIo, "cannot open " + path + " for appending");
    return ok_status();
  };
  if (auto s = open_file(e.rfid_file, d.rfid_fd); !s) return s;
  if (auto s = d.counter_serial.open(); !s) return s;
  if (auto s = open_file(e.weight_file, d.weight_fd); !s) return s;
  auto client = [](const std::string& url) -> std::unique_ptr<httplib::Client> {
    std::string host;
    int port = 0;
    if (url.empty() || !split_host_port(url, host, port)) return nullptr;
    auto c = std::make_unique<httplib::Client>(host, port);
    c->set_connection_timeout(2);
    c->set_read_timeout(10);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    return c;
  };
  d.agent = client(d.targets.agent_http);
  d.collector = client(d.targets.collector_http);
  return ok_status();
}

void SimDriver::send(std::vector<SimOutput>& outputs) {
  Impl& d = *impl_;
  std::string pos, counter, rfid, weight, web;
  std::uint64_t n_pos = 0, n_counter = 0, n_rfid = 0, n_weight = 0, n_web = 0, ble_sent = 0,
                ble_failed = 0;
  for (const SimOutput& output : outputs) {
    switch (output.sink) {
      case Sink::kPos: pos += output.payload + "\n"; ++n_pos; break;
      case Sink::kCounter: counter += output.payload + "\n"; ++n_counter; break;
      case Sink::kRfid: rfid += output.payload + "\n"; ++n_rfid; break;
      case Sink::kWeight: weight += output.payload + "\n"; ++n_weight; break;
      case Sink::kWeb: web += output.payload + "\n"; ++n_web; break;
      case Sink::kBle:
        if (d.udp_fd < 0) break;
        if (::sendto(d.udp_fd, output.payload.data(), output.payload.size(), 0,
                     reinterpret_cast<const sockaddr*>(&d.udp_address), sizeof d.udp_address) < 0) {
          ++ble_failed;
        } else {
          ++ble_sent;
        }
        break;
      case Sink::kKiosk: d.kiosk(output); break;
    }
  }
  std::uint64_t ble_total = 0;
  for (const SimOutput& output : outputs) ble_total += output.sink == Sink::kBle;
  d.count(Sink::kBle, ble_sent, ble_failed, d.udp_fd < 0 ? ble_total : 0);
  d.write_lines(Sink::kPos, d.pos, pos, n_pos);
  if (d.counter_serial.configured()) {
    d.write_lines(Sink::kCounter, d.counter_serial, counter, n_counter);
  } else {
    d.write_lines(Sink::kCounter, d.counter, counter, n_counter);
  }
  d.append(Sink::kRfid, d.rfid_fd, rfid, n_rfid);
  d.append(Sink::kWeight, d.weight_fd, weight, n_weight);
  d.post_events(Sink::kWeb, d.collector.get(), d.targets.write_key, web, n_web);
  outputs.clear();
}

DriverStats SimDriver::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

void run_simulation(StoreDay& day, SimDriver& driver, const RunOptions& options,
                    const std::atomic<bool>& stop) {
  const ClockPtr clock = SystemClock::instance();
  const UnixMillis end = options.duration.count() > 0
                             ? clock->now_unix_ms() + options.duration.count()
                             : std::numeric_limits<UnixMillis>::max();
  std::vector<SimOutput> outputs;
  while (!stop.load()) {
    const UnixMillis now = std::min(clock->now_unix_ms(), end);
    day.advance_to(now, outputs);
    driver.send(outputs);
    if (now >= end) break;
    std::this_thread::sleep_for(options.step);
  }
}

}  // namespace aisle::sim
