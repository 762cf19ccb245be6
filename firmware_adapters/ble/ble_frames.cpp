#include "firmware_adapters/ble/ble_frames.hpp"

#include <algorithm>

namespace aisle::adapters::ble {

namespace {

constexpr std::uint8_t kAdServiceData16 = 0x16;
constexpr std::uint8_t kAdManufacturer = 0xFF;

constexpr std::array<const char*, 4> kUrlSchemes = {"http://www.", "https://www.", "http://",
                                                     "https://"};
constexpr std::array<const char*, 14> kUrlExpansions = {
    ".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
    ".com",  ".org",  ".edu",  ".net",  ".info",  ".biz",  ".gov"};

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

std::string parse_eddystone(std::span<const std::uint8_t> data, Advertisement& out) {
  // data: the service data after the 16-bit UUID.
  if (data.empty()) return "Eddystone frame without a frame type";
  const std::uint8_t frame_type = data[0];
  const auto body = data.subspan(1);
  switch (frame_type) {
    case 0x00: {
      // Ranging power + 10 + 6; the 2 reserved bytes are optional in practice.
      if (body.size() != 17 && body.size() != 19) return "Eddystone-UID frame must be 18 or 20 bytes";
      out.uid.tx_power_0m = static_cast<std::int8_t>(body[0]);
      std::copy_n(body.begin() + 1, 10, out.uid.name_space.begin());
      std::copy_n(body.begin() + 11, 6, out.uid.instance.begin());
      out.kind = BeaconKind::kEddystoneUid;
      return {};
    }
    case 0x10: {
      std::string error = parse_eddystone_url(body, out.url);
      if (error.empty()) out.kind = BeaconKind::kEddystoneUrl;
      return error;
    }
    case 0x20: {
      if (body.empty()) return "Eddystone-TLM frame without a version";
      if (body[0] != 0x00) return {};  // encrypted TLM (version 0x01): nothing we can read
      if (body.size() != 13) return "Eddystone-TLM frame must be 14 bytes";
      out.tlm.battery_mv = be16(&body[1]);
      out.tlm.temperature_c = static_cast<std::int16_t>(be16(&body[3])) / 256.0;
      out.tlm.adv_count = be32(&body[5]);
      out.tlm.uptime_ds = be32(&body[9]);
      out.kind = BeaconKind::kEddystoneTlm;
      return {};
    }
    default:
      return {};  // EID and future frame types: not a beacon we map
  }
}

}  // namespace

std::string parse_eddystone_url(std::span<const std::uint8_t> body, EddystoneUrl& out) {
  if (body.size() < 2) return "Eddystone-URL frame too short";
  if (body.size() > 19) return "Eddystone-URL frame longer than 17 URL bytes";
  out.tx_power_0m = static_cast<std::int8_t>(body[0]);
  if (body[1] >= kUrlSchemes.size()) return "Eddystone-URL scheme prefix out of range";
  out.url = kUrlSchemes[body[1]];
  for (std::size_t k = 2; k < body.size(); ++k) {
    const std::uint8_t c = body[k];
    if (c < kUrlExpansions.size()) {
      out.url += kUrlExpansions[c];
    } else if (c > 0x20 && c < 0x7F) {
      out.url.push_back(static_cast<char>(c));
    } else {
      return "Eddystone-URL byte " + std::to_string(k) + " is neither printable nor an expansion";
    }
  }
  return {};
}

std::string parse_advertisement(std::span<const std::uint8_t> payload, Advertisement& out) {
  out.kind = BeaconKind::kNone;
  std::size_t i = 0;
  while (i < payload.size()) {
    const std::size_t length = payload[i];
    if (length == 0) break;  // early terminator: the rest is zero padding
    if (i + 1 + length > payload.size()) {
      return "AD structure at byte " + std::to_string(i) + " overruns the payload";
    }
    const std::uint8_t type = payload[i + 1];
    const auto data = payload.subspan(i + 2, length - 1);
    if (type == kAdManufacturer && data.size() >= 4 && data[0] == 0x4C && data[1] == 0x00 &&
        data[2] == 0x02) {
      if (data[3] != 0x15 || data.size() != 25) return "iBeacon frame must carry 21 bytes";
      std::copy_n(data.begin() + 4, 16, out.ibeacon.uuid.begin());
      out.ibeacon.major = be16(&data[20]);
      out.ibeacon.minor = be16(&data[22]);
      out.ibeacon.tx_power_1m = static_cast<std::int8_t>(data[24]);
      out.kind = BeaconKind::kIBeacon;
    } else if (type == kAdServiceData16 && data.size() >= 2 && data[0] == 0xAA && data[1] == 0xFE) {
      if (std::string error = parse_eddystone(data.subspan(2), out); !error.empty()) return error;
    }
    i += 1 + length;
  }
  return {};
}

std::string uuid_text(const std::array<std::uint8_t, 16>& uuid) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (std::size_t k = 0; k < 16; ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) text.push_back('-');
    text.push_back(kDigits[uuid[k] >> 4]);
    text.push_back(kDigits[uuid[k] & 0xF]);
  }
  return text;
}

}  // namespace aisle::adapters::ble
