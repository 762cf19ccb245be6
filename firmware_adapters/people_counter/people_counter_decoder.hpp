// People counter (door counter) decoder: one count report per frame -> one `footfall` event.
//
// Three encodings of the same report, told apart by the first byte of the frame:
//   line  2026-11-28T14:05:00Z,door-main,in=23,out=17[,interval=300]
//   JSON  {"ts":"2026-11-28T14:05:00Z","door":"door-main","in":23,"out":17,"interval":300}
//   XML   <count ts="2026-11-28T14:05:00Z" door="door-main" in="23" out="17" interval="300"/>
// The timestamp is RFC 3339 or Unix epoch seconds/milliseconds and ends the counting interval.
//
// Occupancy: the decoder keeps the store's occupancy (sum of in - out over all doors) and each
// door's net flow. The store occupancy is clamped at 0 after every report (more people leaving
// than were counted in means a missed entry, so the count restarts from empty rather than going
// negative); each clamp is counted. Door net flow is signed (people enter by one door and leave
// by another) and is not clamped.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/decoder_support.hpp"

namespace aisle::adapters {

struct PeopleCounterOptions {
  std::int64_t interval_seconds = 60;   // when the report does not say (1..86400)
  std::size_t max_line_bytes = 4096;    // longer frames are refused ("too_long")
  std::size_t max_doors = 256;          // tracked doors; the least recently seen is evicted
  std::int64_t max_count = 100'000;     // per report and direction ("out_of_range" above)
};

Result<PeopleCounterOptions> parse_people_counter_options(const nlohmann::json& options);

struct PeopleCounterStats {
  std::uint64_t occupancy_clamped = 0;  // reports that would have made occupancy negative
  std::uint64_t doors_evicted = 0;
};

class PeopleCounterDecoder final : public Decoder {
 public:
  PeopleCounterDecoder(PeopleCounterOptions options, DecoderContext context);

  void decode(const Frame& frame, DecodeOutput& out) override;

  std::int64_t occupancy() const { return occupancy_; }
  // Signed net flow (in - out) through a door since start; 0 for an unknown door.
  std::int64_t door_net(std::string_view door) const;
  const PeopleCounterStats& stats() const { return stats_; }

 private:
  struct Report {
    std::string_view ts;
    std::string_view door;
    std::string_view in;
    std::string_view out;
    std::string_view interval;
  };
  struct DoorState {
    std::int64_t net = 0;
    std::uint64_t last_seen = 0;  // report sequence number, for eviction
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  bool parse_line(std::string_view text, Report& report, std::string& error);
  bool parse_json(std::string_view text, Report& report, std::string& error);
  bool parse_xml(std::string_view text, Report& report, std::string& error);
  void emit(const Frame& frame, const Report& report, DecodeOutput& out);

  PeopleCounterOptions options_;
  DecoderContext context_;
  std::int64_t occupancy_ = 0;
  std::uint64_t sequence_ = 0;
  std::unordered_map<std::string, DoorState, Hash, std::equal_to<>> doors_;
  PeopleCounterStats stats_;
  std::vector<detail::FlatMember> members_;  // reused JSON scan
  std::string xml_scratch_[5];               // unescaped XML attribute values
};

}  // namespace aisle::adapters
