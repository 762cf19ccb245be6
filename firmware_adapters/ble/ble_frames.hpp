// BLE advertisement payload parsing: the AD structures of a legacy advertisement (Bluetooth Core
// Spec Vol 3 Part C §11) and the beacon frames carried in them:
//  - iBeacon (Apple): manufacturer specific data (AD type 0xFF), company id 0x004C little-endian,
//    beacon type 0x02, length 0x15, then proximity UUID (16), major (2, big-endian), minor (2),
//    measured power at 1 m (int8).
//  - Eddystone (Google, github.com/google/eddystone): service data (AD type 0x16) for the 16-bit
//    service UUID 0xFEAA. Frame types UID (0x00: ranging power at 0 m, 10-byte namespace, 6-byte
//    instance, 2 reserved bytes), URL (0x10: ranging power, scheme prefix, encoded URL with
//    expansion codes) and TLM (0x20, unencrypted version 0x00: battery mV, temperature 8.8 fixed
//    point, advertisement count, uptime in 0.1 s). EID (0x30) and others are "unknown".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace aisle::adapters::ble {

enum class BeaconKind : std::uint8_t { kNone, kIBeacon, kEddystoneUid, kEddystoneUrl, kEddystoneTlm };

struct IBeacon {
  std::array<std::uint8_t, 16> uuid{};
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  std::int8_t tx_power_1m = 0;  // measured power at 1 m, dBm
};

struct EddystoneUid {
  std::int8_t tx_power_0m = 0;  // calibrated ranging power at 0 m, dBm
  std::array<std::uint8_t, 10> name_space{};
  std::array<std::uint8_t, 6> instance{};
};

struct EddystoneUrl {
  std::int8_t tx_power_0m = 0;
  std::string url;  // expanded: "https://www.example.com/"
};

struct EddystoneTlm {
  std::uint16_t battery_mv = 0;   // 0 when not supported
  double temperature_c = -128.0;  // -128 (0x8000) when not supported
  std::uint32_t adv_count = 0;
  std::uint32_t uptime_ds = 0;    // 0.1 s units since power-up
};

struct Advertisement {
  BeaconKind kind = BeaconKind::kNone;
  IBeacon ibeacon;
  EddystoneUid uid;
  EddystoneUrl url;
  EddystoneTlm tlm;
};

// Eddystone ranging power is given at 0 m; the 1 m equivalent is 41 dB lower (Eddystone spec:
// "add 41 dBm to the measured RSSI at 1 m").
inline int eddystone_tx_at_1m(int tx_power_0m) { return tx_power_0m - 41; }

// Parses the AD structures of one advertisement (at most 31 bytes legacy, 255 extended). Returns
// an empty string with `out.kind` set (kNone when no beacon frame is present), or what is
// malformed ("AD structure at byte 7 overruns the payload").
std::string parse_advertisement(std::span<const std::uint8_t> payload, Advertisement& out);

// Parses an Eddystone-URL frame body (after the frame type byte) into `out`.
std::string parse_eddystone_url(std::span<const std::uint8_t> body, EddystoneUrl& out);

// "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
std::string uuid_text(const std::array<std::uint8_t, 16>& uuid);

}  // namespace aisle::adapters::ble
