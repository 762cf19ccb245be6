#include "firmware_adapters/transports/serial_transport.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/backoff.hpp"
#include "common/log.hpp"
#include "firmware_adapters/transports/line_framer.hpp"

namespace aisle::adapters {
namespace {

const log::Logger kLog("adapters.serial");

constexpr std::pair<int, speed_t> kBauds[] = {
    {1200, B1200},       {2400, B2400},       {4800, B4800},       {9600, B9600},
    {19200, B19200},     {38400, B38400},     {57600, B57600},     {115200, B115200},
    {230400, B230400},   {460800, B460800},   {500000, B500000},   {576000, B576000},
    {921600, B921600},   {1000000, B1000000}, {1500000, B1500000}, {2000000, B2000000},
    {3000000, B3000000}, {4000000, B4000000}};

speed_t baud_constant(int baud) {
  for (const auto& [rate, constant] : kBauds) {
    if (rate == baud) return constant;
  }
  return B0;
}

char parity_letter(Parity parity) {
  return parity == Parity::kEven ? 'E' : parity == Parity::kOdd ? 'O' : 'N';
}

}  // namespace

bool is_supported_baud(int baud) {
  return baud_constant(baud) != B0;
}

void configure_termios(termios& tio, const SerialOptions& options) {
  if (options.raw) {
    ::cfmakeraw(&tio);
  } else {
    tio.c_lflag |= ICANON;
    tio.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK | ECHONL | ISIG | IEXTEN);
    tio.c_iflag |= ICRNL;
    tio.c_oflag &= ~static_cast<tcflag_t>(OPOST);
  }
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~static_cast<tcflag_t>(CSIZE);
  switch (options.data_bits) {
    case 5: tio.c_cflag |= CS5; break;
    case 6: tio.c_cflag |= CS6; break;
    case 7: tio.c_cflag |= CS7; break;
    default: tio.c_cflag |= CS8; break;
  }
  tio.c_cflag &= ~static_cast<tcflag_t>(PARENB | PARODD);
  if (options.parity != Parity::kNone) tio.c_cflag |= PARENB;
  if (options.parity == Parity::kOdd) tio.c_cflag |= PARODD;
  if (options.stop_bits == 2) {
    tio.c_cflag |= CSTOPB;
  } else {
    tio.c_cflag &= ~static_cast<tcflag_t>(CSTOPB);
  }
  tio.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS);
  tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  if (options.flow_control == FlowControl::kRtsCts) tio.c_cflag |= CRTSCTS;
  if (options.flow_control == FlowControl::kXonXoff) tio.c_iflag |= IXON | IXOFF;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  const speed_t speed = baud_constant(options.baud);
  ::cfsetispeed(&tio, speed);
  ::cfsetospeed(&tio, speed);
}

SerialTransport::SerialTransport(SerialOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

SerialTransport::~SerialTransport() {
  stop();
}

std::string SerialTransport::describe() const {
  return "serial:" + options_.device + "@" + std::to_string(options_.baud) + "," +
         std::to_string(options_.data_bits) + parity_letter(options_.parity) +
         std::to_string(options_.stop_bits);
}

Status SerialTransport::start(FrameSink sink) {
  if (thread_.joinable()) return make_error(ErrorCode::kFailedPrecondition, "already started");
  if (!is_supported_baud(options_.baud)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "baud: unsupported rate " + std::to_string(options_.baud));
  }
  sink_ = std::move(sink);
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void SerialTransport::stop() {
  wakeup_.notify();
  if (thread_.joinable()) thread_.join();
}

Result<io::UniqueFd> SerialTransport::open_device() const {
  io::UniqueFd fd(::open(options_.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    return make_error(ErrorCode::kUnavailable, io::errno_message("open " + options_.device, errno));
  }
  termios tio{};
  if (::tcgetattr(fd.get(), &tio) != 0) {
    return make_error(ErrorCode::kIo, io::errno_message("tcgetattr " + options_.device, errno));
  }
  configure_termios(tio, options_);
  if (::tcsetattr(fd.get(), TCSANOW, &tio) != 0) {
    return make_error(ErrorCode::kIo, io::errno_message("tcsetattr " + options_.device, errno));
  }
  return fd;
}

bool SerialTransport::read_until_lost(int fd) {
  LineFramer framer(options_.max_line_bytes);
  const std::string origin = "serial:" + options_.device;
  auto emit = [&](std::string&& line, std::uint64_t number, bool truncated) {
    stats_.count_frame(truncated);
    sink_(Frame{std::move(line), clock_.now_unix_ms(), origin, number, truncated});
  };
  std::string buffer(16 * 1024, '\0');
  pollfd fds[2] = {{wakeup_.fd(), POLLIN, 0}, {fd, POLLIN, 0}};
  std::string lost;
  bool stopping = false;
  while (lost.empty()) {
    const int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      lost = io::errno_message("poll", errno);
      break;
    }
    if (fds[0].revents) {
      stopping = true;
      break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      // Read what is left even on POLLHUP: the last bytes before an unplug still count.
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n > 0) {
        framer.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), emit);
      } else if (n == 0) {
        lost = "hang-up";
      } else if (errno != EAGAIN && errno != EINTR) {
        lost = io::errno_message("read", errno);
      } else if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
        lost = "hang-up";
      }
    }
  }
  framer.finish(emit);
  if (!stopping) {
    kLog.warn("device lost; reopening with backoff",
              {{"device", options_.device}, {"error", lost}, {"lines", framer.lines()}});
    stats_.update([&](TransportStats& s) {
      s.connected = false;
      s.last_error = lost;
    });
  }
  return stopping;
}

void SerialTransport::run() {
  Backoff backoff(options_.reopen_backoff_base, options_.reopen_backoff_max);
  bool opened_before = false;
  bool reported = false;  // one warning per outage, not one per attempt
  while (!wakeup_.notified()) {
    auto fd = open_device();
    if (!fd) {
      if (!reported) {
        kLog.warn("device unavailable; retrying with backoff",
                  {{"device", options_.device}, {"error", fd.error().message}});
        reported = true;
      }
      stats_.update([&](TransportStats& s) { s.last_error = fd.error().message; });
      const auto delay = std::max(backoff.next(), std::chrono::milliseconds(20));
      if (wakeup_.wait(delay)) break;
      continue;
    }
    backoff.reset();
    reported = false;
    kLog.info("device open", {{"device", describe()}});
    stats_.update([&](TransportStats& s) {
      s.connected = true;
      if (opened_before) ++s.reconnects;
    });
    opened_before = true;
    if (read_until_lost(fd->get())) break;
    // Give a replugged device's node a moment to settle before the first attempt.
    if (wakeup_.wait(std::max(backoff.next(), std::chrono::milliseconds(20)))) break;
  }
  stats_.update([](TransportStats& s) { s.connected = false; });
}

}  // namespace aisle::adapters
