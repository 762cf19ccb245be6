#include "firmware_adapters/rfid/sgtin96.hpp"

#include <array>

namespace aisle::adapters::rfid {

namespace {

struct Partition {
  int cp_bits;
  int cp_digits;
  int ir_bits;
  int ir_digits;
};

// TDS Table 14-2 (SGTIN partition table).
constexpr std::array<Partition, 7> kPartitions = {{{40, 12, 4, 1},
                                                   {37, 11, 7, 2},
                                                   {34, 10, 10, 3},
                                                   {30, 9, 14, 4},
                                                   {27, 8, 17, 5},
                                                   {24, 7, 20, 6},
                                                   {20, 6, 24, 7}}};

constexpr std::uint64_t pow10(int n) {
  std::uint64_t v = 1;
  for (int k = 0; k < n; ++k) v *= 10;
  return v;
}

void append_padded(std::string& out, std::uint64_t value, int digits) {
  char buffer[24];
  for (int k = digits - 1; k >= 0; --k) {
    buffer[k] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, static_cast<std::size_t>(digits));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

int gs1_check_digit(std::string_view digits) {
  // Weights 3,1,3,1... from the rightmost digit of the data (the check digit excluded).
  int sum = 0;
  int weight = 3;
  for (std::size_t k = digits.size(); k-- > 0;) {
    sum += (digits[k] - '0') * weight;
    weight = weight == 3 ? 1 : 3;
  }
  return (10 - sum % 10) % 10;
}

std::string Sgtin96::gtin14() const {
  const Partition& p = kPartitions[static_cast<std::size_t>(6 - (company_prefix_digits - 6))];
  std::string item;
  append_padded(item, item_reference, p.ir_digits);
  std::string gtin;
  gtin.reserve(14);
  gtin.push_back(item[0]);  // indicator digit
  append_padded(gtin, company_prefix, p.cp_digits);
  gtin.append(item, 1);
  gtin.push_back(static_cast<char>('0' + gs1_check_digit(gtin)));
  return gtin;
}

std::string Sgtin96::pure_identity_urn() const {
  const Partition& p = kPartitions[static_cast<std::size_t>(6 - (company_prefix_digits - 6))];
  std::string urn = "urn:epc:id:sgtin:";
  append_padded(urn, company_prefix, p.cp_digits);
  urn.push_back('.');
  append_padded(urn, item_reference, p.ir_digits);
  urn.push_back('.');
  urn += std::to_string(serial);
  return urn;
}

std::optional<Sgtin96> decode_sgtin96(std::string_view hex, std::string* error) {
  auto fail = [&](const char* message) -> std::optional<Sgtin96> {
    if (error != nullptr) *error = message;
    return std::nullopt;
  };
  if (hex.size() != 24) return fail("EPC must be 24 hex digits (96 bits)");
  std::uint64_t hi = 0;  // bits 95..32
  std::uint32_t lo = 0;  // bits 31..0
  for (std::size_t k = 0; k < 24; ++k) {
    const int v = hex_value(hex[k]);
    if (v < 0) return fail("EPC is not hex");
    if (k < 16) {
      hi = (hi << 4) | static_cast<std::uint64_t>(v);
    } else {
      lo = (lo << 4) | static_cast<std::uint32_t>(v);
    }
  }
  if ((hi >> 56) != 0x30) return fail("EPC header is not 0x30 (SGTIN-96)");
  Sgtin96 epc;
  epc.filter = static_cast<int>((hi >> 53) & 0x7);
  const auto partition = static_cast<std::size_t>((hi >> 50) & 0x7);
  if (partition > 6) return fail("SGTIN partition 7 is reserved");
  const Partition& p = kPartitions[partition];
  // The 44 bits after the partition: bits 49..6 of `hi`.
  const std::uint64_t both = (hi >> 6) & ((std::uint64_t{1} << 44) - 1);
  epc.company_prefix = both >> p.ir_bits;
  epc.item_reference = both & ((std::uint64_t{1} << p.ir_bits) - 1);
  epc.serial = ((hi & 0x3F) << 32) | lo;
  epc.company_prefix_digits = p.cp_digits;
  if (epc.company_prefix >= pow10(p.cp_digits)) {
    return fail("company prefix exceeds its partition's digits");
  }
  if (epc.item_reference >= pow10(p.ir_digits)) {
    return fail("item reference exceeds its partition's digits");
  }
  return epc;
}

std::optional<std::string> encode_sgtin96(const Sgtin96& epc) {
  if (epc.company_prefix_digits < 6 || epc.company_prefix_digits > 12) return std::nullopt;
  const auto partition = static_cast<std::size_t>(12 - epc.company_prefix_digits);
  const Partition& p = kPartitions[partition];
  if (epc.filter < 0 || epc.filter > 7 || epc.company_prefix >= pow10(p.cp_digits) ||
      epc.item_reference >= pow10(p.ir_digits) || epc.serial >= (std::uint64_t{1} << 38)) {
    return std::nullopt;
  }
  const std::uint64_t both = (epc.company_prefix << p.ir_bits) | epc.item_reference;
  const std::uint64_t hi = (std::uint64_t{0x30} << 56) |
                           (static_cast<std::uint64_t>(epc.filter) << 53) |
                           (static_cast<std::uint64_t>(partition) << 50) | (both << 6) |
                           (epc.serial >> 32);
  const auto lo = static_cast<std::uint32_t>(epc.serial & 0xFFFFFFFFu);
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string hex(24, '0');
  for (int k = 15; k >= 0; --k) hex[static_cast<std::size_t>(15 - k)] = kDigits[(hi >> (4 * k)) & 0xF];
  for (int k = 7; k >= 0; --k) hex[static_cast<std::size_t>(23 - k)] = kDigits[(lo >> (4 * k)) & 0xF];
  return hex;
}

}  // namespace aisle::adapters::rfid
