#include "firmware_adapters/transports/tcp_line_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "common/log.hpp"
#include "firmware_adapters/transports/line_framer.hpp"

namespace aisle::adapters {
namespace {

const log::Logger kLog("adapters.tcp");

struct Connection {
  io::UniqueFd fd;
  std::string origin;
  LineFramer framer;
  std::chrono::steady_clock::time_point last_read;
};

}  // namespace

TcpLineTransport::TcpLineTransport(TcpLineOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

TcpLineTransport::~TcpLineTransport() {
  stop();
}

std::string TcpLineTransport::describe() const {
  const int port = port_.load();
  return "tcp:" + (port ? host_ + ":" + std::to_string(port) : options_.listen);
}

Status TcpLineTransport::start(FrameSink sink) {
  if (thread_.joinable()) return make_error(ErrorCode::kFailedPrecondition, "already started");
  sockaddr_in address{};
  if (!io::parse_ipv4_endpoint(options_.listen, address)) {
    return make_error(ErrorCode::kInvalidArgument, "listen: not host:port: " + options_.listen);
  }
  io::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorCode::kIo, io::errno_message("socket", errno));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return make_error(ErrorCode::kUnavailable, io::errno_message("bind " + options_.listen, errno));
  }
  if (::listen(fd.get(), 64) != 0) {
    return make_error(ErrorCode::kIo, io::errno_message("listen " + options_.listen, errno));
  }
  const io::BoundEndpoint bound = io::bound_endpoint(fd.get());
  host_ = bound.host;
  port_ = bound.port;
  listener_ = std::move(fd);
  sink_ = std::move(sink);
  stats_.update([](TransportStats& s) { s.connected = true; });
  kLog.info("listening", {{"address", describe()}});
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void TcpLineTransport::stop() {
  wakeup_.notify();
  if (thread_.joinable()) thread_.join();
  listener_.reset();
  stats_.update([](TransportStats& s) { s.connected = false; });
}

void TcpLineTransport::run() {
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<pollfd> fds;
  std::string buffer(64 * 1024, '\0');

  auto close_connection = [&](std::size_t i, const char* why) {
    Connection& c = *connections[i];
    c.framer.finish([&](std::string&& line, std::uint64_t number, bool truncated) {
      stats_.count_frame(truncated);
      sink_(Frame{std::move(line), clock_.now_unix_ms(), c.origin, number, truncated});
    });
    kLog.info("connection closed",
              {{"peer", c.origin}, {"reason", why}, {"lines", c.framer.lines()}});
    connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
  };

  while (true) {
    fds.clear();
    fds.push_back({wakeup_.fd(), POLLIN, 0});
    fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto& c : connections) fds.push_back({c->fd.get(), POLLIN, 0});
    int timeout = -1;
    if (options_.idle_timeout.count() > 0) timeout = 1000;
    const int rc = ::poll(fds.data(), fds.size(), timeout);
    if (rc < 0 && errno != EINTR) {
      kLog.error("poll failed", {{"error", io::errno_message("poll", errno)}});
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      sockaddr_in peer{};
      socklen_t length = sizeof peer;
      io::UniqueFd client(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &length,
                                    SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (client.valid()) {
        const std::string origin = "tcp:" + io::endpoint_string(peer);
        if (connections.size() >= options_.max_connections) {
          kLog.warn("connection refused: max_connections reached",
                    {{"peer", origin}, {"max_connections", options_.max_connections}});
          stats_.update([](TransportStats& s) { s.last_error = "max_connections reached"; });
        } else {
          kLog.info("connection accepted", {{"peer", origin}});
          stats_.update([](TransportStats& s) { ++s.connections; });
          connections.push_back(std::make_unique<Connection>(
              Connection{std::move(client), origin, LineFramer(options_.max_line_bytes),
                         std::chrono::steady_clock::now()}));
        }
      }
    }
    // Walk backwards so closing a connection does not shift the ones still to visit.
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t k = connections.size(); k-- > 0;) {
      const std::size_t slot = k + 2;
      Connection& c = *connections[k];
      if (slot < fds.size() && fds[slot].revents) {
        const ssize_t n = ::read(c.fd.get(), buffer.data(), buffer.size());
        if (n > 0) {
          c.last_read = now;
          c.framer.feed(
              std::string_view(buffer.data(), static_cast<std::size_t>(n)),
              [&](std::string&& line, std::uint64_t number, bool truncated) {
                stats_.count_frame(truncated);
                sink_(Frame{std::move(line), clock_.now_unix_ms(), c.origin, number, truncated});
              });
        } else if (n == 0) {
          close_connection(k, "peer closed");
        } else if (errno != EAGAIN && errno != EINTR) {
          const std::string error = io::errno_message("read", errno);
          stats_.update([&](TransportStats& s) { s.last_error = error; });
          close_connection(k, "read error");
        }
      } else if (options_.idle_timeout.count() > 0 && now - c.last_read > options_.idle_timeout) {
        close_connection(k, "idle timeout");
      }
    }
  }
  for (std::size_t k = connections.size(); k-- > 0;) close_connection(k, "stopping");
}

}  // namespace aisle::adapters
