// Device-side encodings the simulator produces and the firmware adapters decode: GS1 GTIN-14 and
// SGTIN-96 EPCs (GS1 EPC Tag Data Standard), Apple iBeacon advertisements, and the frame lines
// of each device as docs/adapters.md describes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace aisle::sim {

// The GS1 mod-10 check digit of `digits` (the GTIN without its check digit).
char gs1_check_digit(std::string_view digits);

// GTIN-14 of a 7-digit company prefix and a 6-digit indicator + item reference (SGTIN partition
// 5): indicator digit, company prefix, the 5 item reference digits, check digit.
std::string gtin14(const std::string& company_prefix7, std::uint64_t item_reference6);

// SGTIN-96 as 24 uppercase hex digits: header 0x30, filter (3 bits), partition 5 (24-bit company
// prefix of 7 digits, 20-bit indicator + item reference of 6 digits), serial (38 bits).
std::string sgtin96_hex(int filter, const std::string& company_prefix7,
                        std::uint64_t item_reference6, std::uint64_t serial);

// The advertisement's AD structures as uppercase hex: flags (LE General Discoverable, BR/EDR not
// supported), then Apple manufacturer data: 0x4C00, type 0x02, length 0x15, UUID, major, minor
// (big-endian) and the measured power at 1 m (int8).
std::string ibeacon_advertisement_hex(const std::string& uuid, std::uint16_t major,
                                      std::uint16_t minor, int measured_power_dbm);

// A stable random-looking static MAC for a beacon number.
std::string beacon_mac(std::uint32_t number);

// Frame lines (without the line terminator).
std::string people_counter_line(UnixMillis ts, const std::string& door, int in, int out,
                                int interval_seconds);
std::string ble_gateway_line(UnixMillis ts, const std::string& mac, int rssi,
                             const std::string& data_hex);
std::string rfid_read_line(UnixMillis ts, const std::string& epc, int antenna, int rssi);
std::string weight_reading_line(UnixMillis ts, const std::string& position, double grams);

}  // namespace aisle::sim
