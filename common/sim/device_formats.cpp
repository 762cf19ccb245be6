#include "common/sim/device_formats.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

namespace aisle::sim {
namespace {

// Writes bit fields most significant first into a byte array (an EPC is a big-endian bit string).
class BitWriter {
 public:
  void put(std::uint64_t value, int bits) {
    for (int i = bits - 1; i >= 0; --i) {
      if ((value >> i) & 1U) bytes_[position_ / 8] |= static_cast<unsigned char>(0x80U >> (position_ % 8));
      ++position_;
    }
  }
  std::string hex() const {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < (position_ + 7) / 8; ++i) {
      out += digits[bytes_[i] >> 4];
      out += digits[bytes_[i] & 0xF];
    }
    return out;
  }

 private:
  unsigned char bytes_[16] = {};
  std::size_t position_ = 0;
};

void append_hex(std::string& out, std::uint64_t value, int digits) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "%0*llX", digits, static_cast<unsigned long long>(value));
  out += buffer;
}

}  // namespace

char gs1_check_digit(std::string_view digits) {
  // From the rightmost digit leftwards the weights alternate 3, 1, 3, ...
  int sum = 0;
  int weight = 3;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    sum += (*it - '0') * weight;
    weight = weight == 3 ? 1 : 3;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::string gtin14(const std::string& company_prefix7, std::uint64_t item_reference6) {
  char item[8];
  std::snprintf(item, sizeof item, "%06llu", static_cast<unsigned long long>(item_reference6));
  // Indicator digit first, then the company prefix, then the rest of the item reference.
  std::string gtin = std::string(1, item[0]) + company_prefix7 + (item + 1);
  gtin += gs1_check_digit(gtin);
  return gtin;
}

std::string sgtin96_hex(int filter, const std::string& company_prefix7,
                        std::uint64_t item_reference6, std::uint64_t serial) {
  BitWriter bits;
  bits.put(0x30, 8);                                   // header: SGTIN-96
  bits.put(static_cast<std::uint64_t>(filter), 3);     // 1 = point of sale item
  bits.put(5, 3);                                      // partition 5: 7-digit company prefix
  bits.put(std::stoull(company_prefix7), 24);
  bits.put(item_reference6, 20);
  bits.put(serial & ((1ULL << 38) - 1), 38);
  return bits.hex();
}

std::string ibeacon_advertisement_hex(const std::string& uuid, std::uint16_t major,
                                      std::uint16_t minor, int measured_power_dbm) {
  std::string out = "020106";       // flags
  out += "1AFF4C000215";            // length 26, manufacturer data, Apple, iBeacon, 21 bytes
  for (char c : uuid) {
    if (c == '-') continue;
    out += static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
  }
  append_hex(out, major, 4);
  append_hex(out, minor, 4);
  append_hex(out, static_cast<std::uint8_t>(static_cast<std::int8_t>(measured_power_dbm)), 2);
  return out;
}

std::string beacon_mac(std::uint32_t number) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "C4:7C:8D:%02X:%02X:%02X", (number >> 16) & 0xFF,
                (number >> 8) & 0xFF, number & 0xFF);
  return buffer;
}

std::string people_counter_line(UnixMillis ts, const std::string& door, int in, int out,
                                int interval_seconds) {
  std::string line = format_rfc3339_ms(ts);
  line += "," + door + ",in=" + std::to_string(in) + ",out=" + std::to_string(out) +
          ",interval=" + std::to_string(interval_seconds);
  return line;
}

std::string ble_gateway_line(UnixMillis ts, const std::string& mac, int rssi,
                             const std::string& data_hex) {
  std::string line = "{\"ts\":\"" + format_rfc3339_ms(ts) + "\",\"mac\":\"" + mac +
                     "\",\"rssi\":" + std::to_string(rssi) + ",\"data\":\"" + data_hex + "\"}";
  return line;
}

std::string rfid_read_line(UnixMillis ts, const std::string& epc, int antenna, int rssi) {
  return format_rfc3339_ms(ts) + "," + epc + "," + std::to_string(antenna) + "," +
         std::to_string(rssi);
}

std::string weight_reading_line(UnixMillis ts, const std::string& position, double grams) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", grams);
  return format_rfc3339_ms(ts) + "," + position + "," + buffer;
}

}  // namespace aisle::sim
