// RFID shelf reader decoder: EPC Gen2 tag reads -> `shelf_pickup` events (detector "rfid").
//
// One read per frame, as JSON or CSV:
//   {"ts":"2026-11-28T14:05:00.120Z","epc":"3074257BF7194E4000001A85","antenna":2,"rssi":-58}
//   2026-11-28T14:05:00.120Z,3074257BF7194E4000001A85,2,-58
// EPCs are decoded as SGTIN-96 (GTIN-14 + serial); other EPC schemes are refused
// ("unsupported_epc"). Antennas map to shelves through the `antennas` option; a read on an
// unmapped antenna is refused ("unmapped").
//
// Presence: a tag's first read puts it on the shelf of that antenna (no event: the initial
// inventory). A tag not read on its shelf for longer than `absent_ms` (measured on the transport
// clock: Frame::received_at and tick(now)) emits `pickup` from tick(); its next read on any mapped
// shelf emits `putback` there, and that shelf becomes its home. Reads of a present tag on another
// shelf's antenna (overlapping read zones) are ignored. occurred_at is the device time of the
// tag's last read, advanced by the transport time elapsed since it (the moment the absence was
// decided, on the device clock).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/decoder_support.hpp"

namespace aisle::adapters {

struct RfidShelfOptions {
  std::map<int, std::string> antennas;          // antenna port -> shelf_id (required, 1..256)
  std::map<std::string, std::string> products;  // GTIN-14 -> sku (optional, <= 100000)
  std::int64_t absent_ms = 5000;                // absence that counts as a pickup
  std::size_t max_tags = 10000;                 // tracked tags; the least recently read evicted
  std::size_t max_line_bytes = 1024;
};

Result<RfidShelfOptions> parse_rfid_shelf_options(const nlohmann::json& options);

struct RfidShelfStats {
  std::uint64_t tags_evicted = 0;
};

class RfidShelfDecoder final : public Decoder {
 public:
  RfidShelfDecoder(RfidShelfOptions options, DecoderContext context);

  void decode(const Frame& frame, DecodeOutput& out) override;
  void tick(UnixMillis now, DecodeOutput& out) override;

  std::size_t tracked_tags() const { return tags_.size(); }
  const RfidShelfStats& stats() const { return stats_; }

 private:
  struct Tag {
    const std::string* shelf = nullptr;  // home shelf (points into options_.antennas)
    int antenna = 0;
    bool present = true;
    UnixMillis last_rx = 0;      // transport clock of the last read on the home shelf
    UnixMillis last_device = 0;  // device clock of that read
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void emit(const std::string& epc, const Tag& tag, std::string_view action, UnixMillis at,
            DecodeOutput& out);
  void evict_oldest(const Frame& frame, DecodeOutput& out);

  RfidShelfOptions options_;
  DecoderContext context_;
  std::unordered_map<std::string, Tag, Hash, std::equal_to<>> tags_;  // key: uppercase EPC hex
  RfidShelfStats stats_;
  std::vector<detail::FlatMember> members_;
  std::string epc_upper_;
};

}  // namespace aisle::adapters
