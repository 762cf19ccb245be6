#include "firmware_adapters/transports/udp_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/log.hpp"

namespace aisle::adapters {
namespace {

const log::Logger kLog("adapters.udp");

}  // namespace

UdpTransport::UdpTransport(UdpOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

UdpTransport::~UdpTransport() {
  stop();
}

std::string UdpTransport::describe() const {
  const int port = port_.load();
  return "udp:" + (port ? host_ + ":" + std::to_string(port) : options_.listen);
}

Status UdpTransport::start(FrameSink sink) {
  if (thread_.joinable()) return make_error(ErrorCode::kFailedPrecondition, "already started");
  sockaddr_in address{};
  if (!io::parse_ipv4_endpoint(options_.listen, address)) {
    return make_error(ErrorCode::kInvalidArgument, "listen: not host:port: " + options_.listen);
  }
  io::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorCode::kIo, io::errno_message("socket", errno));
  if (options_.receive_buffer_bytes > 0) {
    const int size = static_cast<int>(options_.receive_buffer_bytes);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return make_error(ErrorCode::kUnavailable, io::errno_message("bind " + options_.listen, errno));
  }
  const io::BoundEndpoint bound = io::bound_endpoint(fd.get());
  host_ = bound.host;
  port_ = bound.port;
  socket_ = std::move(fd);
  sink_ = std::move(sink);
  stats_.update([](TransportStats& s) { s.connected = true; });
  kLog.info("listening", {{"address", describe()}});
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void UdpTransport::stop() {
  wakeup_.notify();
  if (thread_.joinable()) thread_.join();
  socket_.reset();
  stats_.update([](TransportStats& s) { s.connected = false; });
}

void UdpTransport::run() {
  // One byte more than the limit, so MSG_TRUNC or a full buffer tells an oversize datagram.
  std::string buffer(options_.max_datagram_bytes + 1, '\0');
  pollfd fds[2] = {{wakeup_.fd(), POLLIN, 0}, {socket_.get(), POLLIN, 0}};
  while (true) {
    const int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno != EINTR) {
      kLog.error("poll failed", {{"error", io::errno_message("poll", errno)}});
      break;
    }
    if (fds[0].revents) break;
    if (!(fds[1].revents & POLLIN)) continue;
    // Drain what is queued; the wakeup is checked between polls, at most one burst later.
    for (int burst = 0; burst < 256; ++burst) {
      sockaddr_in peer{};
      socklen_t length = sizeof peer;
      const ssize_t n = ::recvfrom(socket_.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                   reinterpret_cast<sockaddr*>(&peer), &length);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
          const std::string error = io::errno_message("recvfrom", errno);
          kLog.warn("receive failed", {{"error", error}});
          stats_.update([&](TransportStats& s) { s.last_error = error; });
        }
        break;
      }
      const auto size = static_cast<std::size_t>(n);  // MSG_TRUNC: the datagram's real size
      const bool truncated = size > options_.max_datagram_bytes;
      Frame frame{buffer.substr(0, std::min(size, options_.max_datagram_bytes)),
                  clock_.now_unix_ms(), "udp:" + io::endpoint_string(peer), 0, truncated};
      stats_.count_frame(truncated);
      sink_(std::move(frame));
    }
  }
}

}  // namespace aisle::adapters
