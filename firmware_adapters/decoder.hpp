// Decoder: device frames in, canonical events (or named decode errors) out.
//
// A decoder does no I/O and reads no clock: everything it needs arrives in the Frame (bytes and
// the time the transport took them) or in tick(now). That is what "pure" means here, and it is why
// every decoder is tested with recorded frames and fuzzed. Some devices need memory across frames
// (a CSV header, RSSI smoothing and zone hysteresis, RFID tag presence, shelf weights, door
// occupancy); that state lives in the decoder object and evolves only from frames and ticks, so a
// replay of the same frames gives the same events.
//
// Threading: one adapter runner owns a decoder and calls it from one thread; decoders need no
// locks. Events leave without event_id/received_at (ingest fills them) and without agent_id.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/event.hpp"
#include "common/result.hpp"

namespace aisle::adapters {

// One unit of device input as a transport delivered it: a line (without its terminator), a UDP
// datagram, an MQTT message.
struct Frame {
  std::string bytes;
  UnixMillis received_at = 0;  // transport clock when the frame arrived
  std::string origin;          // "tcp:10.0.0.5:4431", "udp:…", "serial:/dev/ttyUSB0", "file:…"
  std::uint64_t line = 0;      // 1-based line number within its stream or file; 0 when not lines
  // The transport cut this frame at its size limit (max_line_bytes, a datagram larger than the
  // buffer): the runner keeps it as an undecodable frame (reason "oversize") and never decodes it.
  bool truncated = false;
};

// Why a frame produced no (or not all) events. The frame itself is kept by the caller.
struct DecodeError {
  std::string reason;   // short class for metrics and quarantine: "malformed", "unknown_frame",
                        // "out_of_range", "unmapped", "header" ...
  std::string message;  // names what was wrong: the field or column, the line, the limit
};

struct DecodeOutput {
  std::vector<Event> events;
  std::vector<DecodeError> errors;
  void clear() {
    events.clear();
    errors.clear();
  }
};

// Fixed per adapter instance (from the agent's config).
struct DecoderContext {
  std::string store_id;
  std::string device_id;  // the adapter's device, stamped into source.device_id
  // The agent pseudonymizes loyalty_id itself (its privacy.pseudonymization, docs/privacy.md):
  // a POS decoder without its own loyalty_key then hands the trimmed loyalty number to the
  // agent in-process (it is hashed before anything is stored) instead of dropping it.
  bool agent_pseudonymizes_loyalty = false;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Appends the events and errors one frame produces. Never throws on any input.
  virtual void decode(const Frame& frame, DecodeOutput& out) = 0;
  // Time-driven transitions (a beacon zone exit, an RFID tag gone past its threshold). The runner
  // calls it about once a second with the transport clock; decoders without timers ignore it.
  virtual void tick(UnixMillis now, DecodeOutput& out) {
    (void)now;
    (void)out;
  }
};
using DecoderPtr = std::unique_ptr<Decoder>;

// The decoder types this build knows ("pos_jsonl", "pos_csv", "ble_gateway", "people_counter",
// "rfid_shelf", "weight_shelf"), for `--help` and config errors.
std::vector<std::string_view> decoder_types();

// Builds a decoder from the `decoder` object of an adapter's config. An unknown type, an unknown
// option key or a bad value is an error naming the option (config errors are exit 78).
Result<DecoderPtr> make_decoder(std::string_view type, const nlohmann::json& options,
                                const DecoderContext& context);

}  // namespace aisle::adapters
