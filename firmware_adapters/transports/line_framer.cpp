#include "firmware_adapters/transports/line_framer.hpp"

#include <algorithm>

namespace aisle::adapters {

void LineFramer::emit_line(const Emit& emit, bool truncated) {
  if (!pending_.empty() && pending_.back() == '\r' && !truncated) pending_.pop_back();
  ++lines_;
  std::string line;
  line.swap(pending_);
  emit(std::move(line), lines_, truncated);
}

void LineFramer::feed(std::string_view bytes, const Emit& emit) {
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, newline);
    if (skipping_) {
      discarded_bytes_ += chunk.size();
    } else {
      // +1: room for a CR that belongs to a CRLF terminator, not to the line.
      const std::size_t room = max_line_bytes_ + 1 - std::min(pending_.size(), max_line_bytes_ + 1);
      const std::size_t take = std::min(room, chunk.size());
      pending_.append(chunk.substr(0, take));
      // A line of exactly max_line_bytes followed by CR is not oversize: the CR may be the
      // first half of a CRLF split between two reads.
      const bool over = pending_.size() > max_line_bytes_ &&
                        !(take == chunk.size() && pending_.size() == max_line_bytes_ + 1 &&
                          pending_.back() == '\r');
      if (over) {
        discarded_bytes_ += pending_.size() - max_line_bytes_ + (chunk.size() - take);
        pending_.resize(max_line_bytes_);
        emit_line(emit, true);
        skipping_ = true;
      }
    }
    if (newline == std::string_view::npos) return;
    if (skipping_) {
      skipping_ = false;
    } else {
      emit_line(emit, false);
    }
    bytes.remove_prefix(newline + 1);
  }
}

void LineFramer::finish(const Emit& emit) {
  if (!skipping_ && !pending_.empty()) {
    // An unterminated last line; a lone trailing CR is part of a cut CRLF.
    emit_line(emit, false);
  }
  skipping_ = false;
  pending_.clear();
}

void LineFramer::reset() {
  pending_.clear();
  skipping_ = false;
}

}  // namespace aisle::adapters
