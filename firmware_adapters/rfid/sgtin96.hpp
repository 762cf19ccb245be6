// SGTIN-96 EPC codec after the GS1 EPC Tag Data Standard (TDS 2.x, section 14.5.1): a 96-bit EPC
// of header 0x30, filter (3 bits), partition (3 bits), GS1 company prefix and indicator/item
// reference (44 bits together, split by the partition table) and serial (38 bits).
//
// Worked example of the standard: urn:epc:id:sgtin:0614141.812345.6789 is
// 3074257BF7194E4000001A85 (filter 3, partition 5), GTIN 80614141123458.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aisle::adapters::rfid {

struct Sgtin96 {
  int filter = 0;                     // 0..7 (1 = point of sale item, 3 = ...)
  int company_prefix_digits = 0;      // 6..12 (from the partition)
  std::uint64_t company_prefix = 0;   // GS1 company prefix, company_prefix_digits digits
  std::uint64_t item_reference = 0;   // indicator digit + item reference, 13 - cp digits
  std::uint64_t serial = 0;           // < 2^38

  std::string gtin14() const;         // 14 digits including the computed check digit
  std::string pure_identity_urn() const;  // urn:epc:id:sgtin:CompanyPrefix.ItemRef.Serial
};

// Decodes 24 hex digits (either case). nullopt with `error` set when the EPC is not a valid
// SGTIN-96 (other header, bad partition, company prefix or item reference out of range).
std::optional<Sgtin96> decode_sgtin96(std::string_view hex, std::string* error = nullptr);

// Encodes to 24 uppercase hex digits; nullopt when a field does not fit.
std::optional<std::string> encode_sgtin96(const Sgtin96& epc);

// GS1 mod-10 check digit of the first 13 digits of a GTIN-14 (or any digit string).
int gs1_check_digit(std::string_view digits);

}  // namespace aisle::adapters::rfid
