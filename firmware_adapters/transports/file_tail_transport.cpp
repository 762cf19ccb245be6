#include "firmware_adapters/transports/file_tail_transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.hpp"
#include "firmware_adapters/transports/line_framer.hpp"

namespace aisle::adapters {
namespace {

const log::Logger kLog("adapters.file");

// The file currently followed.
struct Followed {
  io::UniqueFd fd;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t offset = 0;
};

}  // namespace

FileTailTransport::FileTailTransport(FileTailOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

FileTailTransport::~FileTailTransport() {
  stop();
}

Status FileTailTransport::start(FrameSink sink) {
  if (thread_.joinable()) return make_error(ErrorCode::kFailedPrecondition, "already started");
  sink_ = std::move(sink);
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void FileTailTransport::stop() {
  wakeup_.notify();
  if (thread_.joinable()) thread_.join();
}

void FileTailTransport::run() {
  const std::string origin = "file:" + options_.path;
  Followed file;
  LineFramer framer(options_.max_line_bytes);
  bool first_open = true;
  bool reported_missing = false;
  std::string buffer(64 * 1024, '\0');
  auto emit = [&](std::string&& line, std::uint64_t number, bool truncated) {
    stats_.count_frame(truncated);
    sink_(Frame{std::move(line), clock_.now_unix_ms(), origin, number, truncated});
  };
  // Reads from the current offset to the end of the file.
  auto drain = [&] {
    while (!wakeup_.notified()) {
      const ssize_t n = ::pread(file.fd.get(), buffer.data(), buffer.size(), file.offset);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          const std::string error = io::errno_message("read " + options_.path, errno);
          stats_.update([&](TransportStats& s) { s.last_error = error; });
        }
        return;
      }
      file.offset += n;
      framer.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), emit);
    }
  };
  auto open_file = [&]() -> bool {
    io::UniqueFd fd(::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
      first_open = false;  // a file that appears later is new: read from its beginning
      if (!reported_missing) {
        const std::string error = io::errno_message("open " + options_.path, errno);
        kLog.warn("file unavailable; waiting for it", {{"error", error}});
        stats_.update([&](TransportStats& s) { s.last_error = error; });
        reported_missing = true;
      }
      return false;
    }
    reported_missing = false;
    file.fd = std::move(fd);
    file.dev = st.st_dev;
    file.ino = st.st_ino;
    file.offset = first_open && options_.start_at_end ? st.st_size : 0;
    framer = LineFramer(options_.max_line_bytes);
    kLog.info("following file", {{"path", options_.path}, {"offset", file.offset}});
    stats_.update([&](TransportStats& s) {
      if (!first_open) ++s.reconnects;
      s.connected = true;
    });
    first_open = false;
    return true;
  };

  while (!wakeup_.notified()) {
    if (!file.fd.valid() && !open_file()) {
      if (wakeup_.wait(options_.poll_interval)) break;
      continue;
    }
    drain();
    struct stat current {};
    if (::fstat(file.fd.get(), &current) == 0 && current.st_size < file.offset) {
      // copytruncate: the same file, emptied. Its pending partial line ended with it.
      kLog.info("file truncated; reading from its beginning",
                {{"path", options_.path}, {"offset", file.offset}, {"size", current.st_size}});
      framer.finish(emit);
      framer = LineFramer(options_.max_line_bytes);
      file.offset = 0;
      stats_.update([](TransportStats& s) { ++s.reconnects; });
      continue;
    }
    struct stat named {};
    const bool renamed = ::stat(options_.path.c_str(), &named) == 0 &&
                         (named.st_ino != file.ino || named.st_dev != file.dev);
    if (renamed) {
      // Rotated by rename: finish the old file (a writer may have added a last line), then
      // follow the new one from its beginning.
      drain();
      framer.finish(emit);
      kLog.info("file rotated; following the new file",
                {{"path", options_.path}, {"lines", framer.lines()}});
      file.fd.reset();
      continue;
    }
    if (wakeup_.wait(options_.poll_interval)) break;
  }
  // A partial last line is left unread at stop: its writer may still be completing it.
  stats_.update([](TransportStats& s) { s.connected = false; });
}

}  // namespace aisle::adapters
