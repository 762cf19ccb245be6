// LineFramer: cuts a byte stream (TCP connection, serial port, file) into lines, one line = one
// frame. LF and CRLF both end a line (the CR is removed). A line longer than max_line_bytes is
// delivered once, cut to max_line_bytes and marked truncated; the rest of it, up to its
// terminator, is discarded and counted. Nothing is dropped silently.
//
// Not thread-safe: one framer per stream, fed by the transport's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace aisle::adapters {

class LineFramer {
 public:
  // (line without terminator, 1-based line number, truncated)
  using Emit = std::function<void(std::string&& line, std::uint64_t number, bool truncated)>;

  explicit LineFramer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Appends bytes; emits every line they complete.
  void feed(std::string_view bytes, const Emit& emit);
  // End of stream (peer closed, file rotated away): emits a pending unterminated line, if any.
  void finish(const Emit& emit);
  // Forgets the pending partial line without emitting it (used nowhere data can be lost).
  void reset();

  std::uint64_t lines() const { return lines_; }
  // Bytes discarded after the cut of oversize lines.
  std::uint64_t discarded_bytes() const { return discarded_bytes_; }
  bool has_partial() const { return !pending_.empty() || skipping_; }

 private:
  void emit_line(const Emit& emit, bool truncated);

  std::size_t max_line_bytes_;
  std::string pending_;
  bool skipping_ = false;  // inside an oversize line already delivered truncated
  std::uint64_t lines_ = 0;
  std::uint64_t discarded_bytes_ = 0;
};

}  // namespace aisle::adapters
