#include "common/uuid.hpp"

#include <mutex>
#include <random>

namespace aisle {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_dash_position(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

std::string Uuid::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (is_dash_position(pos)) ++pos;
    out[pos++] = kHex[bytes[i] >> 4];
    out[pos++] = kHex[bytes[i] & 0xF];
  }
  return out;
}

UnixMillis Uuid::v7_unix_ms() const {
  UnixMillis ms = 0;
  for (size_t i = 0; i < 6; ++i) ms = (ms << 8) | bytes[i];
  return ms;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid uuid;
  size_t byte = 0;
  for (size_t pos = 0; pos < 36;) {
    if (is_dash_position(pos)) {
      if (text[pos] != '-') return std::nullopt;
      ++pos;
      continue;
    }
    const int hi = hex_value(text[pos]);
    const int lo = hex_value(text[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    uuid.bytes[byte++] = static_cast<std::uint8_t>(hi << 4 | lo);
    pos += 2;
  }
  return uuid;
}

bool is_uuid_text(std::string_view text) { return Uuid::parse(text).has_value(); }

Uuid make_uuid_v7(UnixMillis ms, std::uint16_t rand_a, std::uint64_t rand_b) {
  Uuid uuid;
  for (int i = 5; i >= 0; --i) {
    uuid.bytes[static_cast<size_t>(i)] = static_cast<std::uint8_t>(ms & 0xFF);
    ms >>= 8;
  }
  uuid.bytes[6] = static_cast<std::uint8_t>(0x70 | ((rand_a >> 8) & 0x0F));
  uuid.bytes[7] = static_cast<std::uint8_t>(rand_a & 0xFF);
  uuid.bytes[8] = static_cast<std::uint8_t>(0x80 | (rand_b & 0x3F));
  rand_b >>= 6;
  for (size_t i = 9; i < 16; ++i) {
    uuid.bytes[i] = static_cast<std::uint8_t>(rand_b & 0xFF);
    rand_b >>= 8;
  }
  return uuid;
}

struct UuidV7Generator::State {
  std::mutex mutex;
  std::mt19937_64 random{std::random_device{}()};
  UnixMillis last_ms = 0;
  std::uint16_t counter = 0;  // 12 bits used
};

UuidV7Generator::UuidV7Generator(ClockPtr clock)
    : clock_(std::move(clock)), state_(std::make_shared<State>()) {}

Uuid UuidV7Generator::next() {
  UnixMillis ms = clock_->now_unix_ms();
  std::uint64_t rand_b;
  std::uint16_t counter;
  {
    std::lock_guard lock(state_->mutex);
    // A wall clock that stepped back must not make ids go backwards: keep the last timestamp.
    if (ms <= state_->last_ms) {
      ms = state_->last_ms;
      if (++state_->counter > 0xFFF) {
        ++ms;  // counter exhausted: borrow the next millisecond
        state_->counter = static_cast<std::uint16_t>(state_->random() & 0x3FF);
      }
    } else {
      // Seed with headroom (top bit clear) so bursts within one millisecond rarely overflow.
      state_->counter = static_cast<std::uint16_t>(state_->random() & 0x7FF);
    }
    state_->last_ms = ms;
    counter = state_->counter;
    rand_b = state_->random();
  }
  return make_uuid_v7(ms, counter, rand_b);
}

}  // namespace aisle
