// UUIDs: event ids are UUIDv7 (RFC 9562), time-ordered so the outbox and the collector's index
// stay append-mostly. Producers may send any RFC 9562 UUID; the edge generates v7 when none is
// given.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace aisle {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  int version() const { return bytes[6] >> 4; }
  // Canonical lowercase 8-4-4-4-12 form.
  std::string to_string() const;
  // The Unix milliseconds embedded in a v7 UUID (undefined for other versions).
  UnixMillis v7_unix_ms() const;

  // Parses the 8-4-4-4-12 hex form (either case). Nullopt when malformed.
  static std::optional<Uuid> parse(std::string_view text);

  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

// Generates UUIDv7 values that are strictly increasing within this process, also for many ids
// in the same millisecond (RFC 9562 §6.2 method 1: rand_a is a 12-bit counter seeded randomly
// each millisecond; on overflow the timestamp is advanced by one). Thread-safe.
class UuidV7Generator {
 public:
  explicit UuidV7Generator(ClockPtr clock = SystemClock::instance());
  Uuid next();

 private:
  struct State;
  ClockPtr clock_;
  std::shared_ptr<State> state_;
};

// Lays out a v7 UUID from its parts: 48 bits of Unix ms, 12 bits of rand_a, 62 bits of rand_b
// (the version and variant bits are set here). Used by the generator and to derive a stable id
// from content, so the same input always maps to the same event_id.
Uuid make_uuid_v7(UnixMillis ms, std::uint16_t rand_a, std::uint64_t rand_b);

// True when `text` is a UUID in canonical 8-4-4-4-12 form (either case).
bool is_uuid_text(std::string_view text);

}  // namespace aisle
