// BLE gateway decoder: the JSON-lines output of a BLE scanning gateway -> `beacon_proximity`
// (transition enter/exit) and `dwell` events, with RSSI smoothing and zone hysteresis.
//
// One scanned advertisement per frame:
//   {"ts":"2026-11-28T14:05:00.120Z","mac":"C4:7C:8D:6A:11:02","rssi":-61,
//    "data":"0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00010002C5"}
// (`timestamp` for `ts` and `rawData`/`raw` for `data` are accepted too). `data` is the hex of the
// advertisement's AD structures. iBeacon and Eddystone-UID frames name a beacon; the `zones`
// option maps beacons to zones:
//   {"ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2": "coffee-aisle",
//    "eddystone:edd1ebeac04e5defa017:0123456789ab": {"zone_id": "tills", "zone_type": "checkout_queue"}}
// Other advertisements (phones, Eddystone-URL/-TLM, unmapped beacons) are counted and dropped
// without an error: a gateway hears far more than the store's beacons.
//
// Per beacon: RSSI is smoothed by an EWMA (alpha). The beacon enters its zone when the smoothed
// RSSI stays >= enter_rssi for min_enter_ms, and exits when it stays < exit_rssi for
// min_exit_ms, or from tick() when it has not been heard for lost_ms. enter_rssi > exit_rssi is
// the hysteresis band: a shopper standing at the edge does not flap. Timers run on the transport
// clock (Frame::received_at, tick(now)); event times are device times (ts, else received_at).
// Distance: log-distance path loss, d = 10 ^ ((tx_1m - rssi) / (10 n)).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "firmware_adapters/ble/ble_frames.hpp"
#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/decoder_support.hpp"

namespace aisle::adapters {

struct BleZone {
  std::string zone_id;
  std::string zone_type;  // empty, or a dwell zone_type ("aisle", "checkout_queue", ...)
};

struct BleGatewayOptions {
  std::map<std::string, BleZone, std::less<>> zones;  // binary beacon key -> zone (<= 4096)
  double alpha = 0.3;              // EWMA weight of the newest RSSI (0 < alpha <= 1)
  double enter_rssi = -75;         // dBm
  double exit_rssi = -85;          // dBm, < enter_rssi
  std::int64_t min_enter_ms = 2000;
  std::int64_t min_exit_ms = 5000;
  std::int64_t lost_ms = 10000;    // not heard this long: exit (from tick)
  double path_loss_exponent = 2.0; // n: 2 in free space, 2.5..4 indoors
  std::size_t max_beacons = 1024;  // tracked beacons; the least recently heard is evicted
  std::size_t max_line_bytes = 2048;
};

Result<BleGatewayOptions> parse_ble_gateway_options(const nlohmann::json& options);

struct BleGatewayStats {
  std::uint64_t not_beacon = 0;  // advertisements without an iBeacon / Eddystone-UID frame
  std::uint64_t unmapped = 0;    // beacons not in `zones`
  std::uint64_t beacons_evicted = 0;
};

class BleGatewayDecoder final : public Decoder {
 public:
  BleGatewayDecoder(BleGatewayOptions options, DecoderContext context);

  void decode(const Frame& frame, DecodeOutput& out) override;
  void tick(UnixMillis now, DecodeOutput& out) override;

  const BleGatewayStats& stats() const { return stats_; }
  std::size_t tracked_beacons() const { return beacons_.size(); }

 private:
  struct Track {
    const BleZone* zone = nullptr;
    ble::Advertisement adv;  // identity and tx power of the last frame
    double smoothed = 0;
    int tx_1m = -59;
    bool inside = false;
    UnixMillis candidate_rx = -1;   // since when the RSSI is across the threshold (transport)
    UnixMillis candidate_dev = 0;   // the same moment on the device clock
    UnixMillis entered_dev = 0;
    UnixMillis last_rx = 0;
    UnixMillis last_dev = 0;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void step(Track& track, double rssi, UnixMillis rx, UnixMillis dev, DecodeOutput& out);
  void emit_transition(const Track& track, const char* transition, UnixMillis at, DecodeOutput& out);
  void emit_exit(Track& track, UnixMillis exited_dev, DecodeOutput& out);
  void evict_oldest(const Frame& frame, DecodeOutput& out);

  BleGatewayOptions options_;
  DecoderContext context_;
  std::unordered_map<std::string, Track, Hash, std::equal_to<>> beacons_;
  BleGatewayStats stats_;
  std::vector<detail::FlatMember> members_;
  std::vector<std::uint8_t> payload_;
  ble::Advertisement adv_;
};

// The binary key of a beacon ('I' + 16 + 2 + 2 bytes, or 'E' + 10 + 6 bytes) from the text form
// used in the `zones` option; empty when malformed.
std::string ble_beacon_key(std::string_view text);

}  // namespace aisle::adapters
