// FileTailTransport: follows a log file the way `tail -F` does (POS exports, gateway logs); every
// line is one frame.
//
// - start_at "end" skips what the file holds when the adapter starts; "beginning" reads it all.
//   It applies to a file that exists when the adapter starts: a file that appears later, or
//   replaces it after a rotation, is read from its beginning.
// - Rotation by rename (logrotate's default): when the path names a new file, the old one is read
//   to its end (its last unterminated line included), then the new one from its beginning. While
//   the path is missing the old file keeps being read.
// - Rotation by copytruncate: when the file becomes shorter than the offset read so far, reading
//   restarts at its beginning. Lines written between logrotate's copy and its truncate are lost
//   by that method itself, and a file refilled past the old offset between two polls is not
//   recognised as truncated (as with tail -F).
// - No line is delivered twice within a run. The offset is not persisted: after an agent restart
//   start_at applies again.
//
// One thread polls the file every poll_interval; stop() wakes it through an eventfd and joins.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "firmware_adapters/transport.hpp"
#include "firmware_adapters/transports/io.hpp"

namespace aisle::adapters {

struct FileTailOptions {
  std::string path;
  bool start_at_end = true;  // config "start_at": "end" | "beginning"
  std::size_t max_line_bytes = 64 * 1024;
  std::chrono::milliseconds poll_interval{250};
};

class FileTailTransport final : public Transport {
 public:
  FileTailTransport(FileTailOptions options, const Clock& clock);
  ~FileTailTransport() override;

  Status start(FrameSink sink) override;
  void stop() override;
  std::string describe() const override { return "file:" + options_.path; }
  TransportStats stats() const override { return stats_.snapshot(); }

 private:
  void run();

  FileTailOptions options_;
  const Clock& clock_;
  FrameSink sink_;
  io::Wakeup wakeup_;
  std::thread thread_;
  io::StatsBox stats_;
};

}  // namespace aisle::adapters
