// The recommendation snapshot: what a store's agent needs to keep recommending while its WAN link
// to the collector is down (docs/agent-recommendations.md). The collector builds one per store
// from its models; the agent fetches it over HTTPS (`GET /v1/recs/snapshot?store=<id>`, answered
// with Content-Type kRecSnapshotContentType) or receives it pushed on its MQTT downlink
// (`aisle/v1/<tenant>/<store>/<agent>/down/recs_snapshot`, kRecSnapshotDownlinkKind). The payload
// is the same in both cases:
//
//   payload = one zstd frame (with its content size, as ZSTD_compress writes it) of one JSON
//             document:
//   {"v":1, "store_id":"s-17", "generated_at":1764400000000, "model_generation":42,
//    "popularity":[["sku-1",0.93],["sku-7",0.81]],                  best first
//    "items":[{"sku":"sku-1","category":"shoes","available":true,
//              "neighbours":[["sku-7",0.42],["sku-9",0.17]]}]}     best first
//
// `items` is the store's assortment: each item with its category, whether it is available in
// this store now, and its top-K neighbours (item-to-item similarity). An sku that appears in
// `popularity` or in a neighbour list without its own entry in `items` has an unknown category
// and is treated as available. Scores are finite and non-negative; they only rank within their
// list (popularity scores and neighbour scores are not on the same scale).
//
// Decoding is bounded: compressed size, decompressed size (checked against the frame header
// before anything is allocated), number of items, neighbours per item, popularity entries and sku
// length; every error names the field path or the limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::wire {

inline constexpr int kRecSnapshotVersion = 1;
inline constexpr std::string_view kRecSnapshotContentType =
    "application/vnd.aisle.rec-snapshot+zstd";
inline constexpr std::string_view kRecSnapshotDownlinkKind = "recs_snapshot";

struct ScoredSku {
  std::string sku;
  double score = 0;
  friend bool operator==(const ScoredSku&, const ScoredSku&) = default;
};

struct SnapshotItem {
  std::string sku;
  std::string category;               // "" when unknown
  bool available = true;              // in stock in this store
  std::vector<ScoredSku> neighbours;  // best first, at most the producer's K
  friend bool operator==(const SnapshotItem&, const SnapshotItem&) = default;
};

struct RecSnapshot {
  int version = kRecSnapshotVersion;
  std::string store_id;
  UnixMillis generated_at = 0;  // collector clock
  // Grows with every model update the snapshot reflects; an agent keeps the snapshot with the
  // highest (generated_at, model_generation) and ignores older ones arriving late.
  std::uint64_t model_generation = 0;
  std::vector<ScoredSku> popularity;  // the store's most popular items, best first
  std::vector<SnapshotItem> items;    // the store's assortment, no sku twice
  friend bool operator==(const RecSnapshot&, const RecSnapshot&) = default;
};

struct RecSnapshotLimits {
  std::size_t max_payload_bytes = 16 * 1024 * 1024;  // compressed
  std::size_t max_raw_bytes = 128 * 1024 * 1024;     // decompressed JSON (bomb guard)
  std::size_t max_items = 500'000;
  std::size_t max_neighbours = 200;  // per item
  std::size_t max_popularity = 10'000;
  std::size_t max_sku_bytes = 256;  // also bounds category and store_id
};

struct RecSnapshotEncodeOptions {
  int zstd_level = 3;  // snapshots are built rarely and sent to every agent: favour size
};

// JSON form (the document inside the frame). rec_snapshot_from_json checks the limits except
// the byte sizes; errors read like "items[12].neighbours[3]: score must be a finite number >= 0".
nlohmann::json rec_snapshot_to_json(const RecSnapshot& snapshot);
Result<RecSnapshot> rec_snapshot_from_json(const nlohmann::json& document,
                                           const RecSnapshotLimits& limits = {});

Result<std::string> encode_rec_snapshot(const RecSnapshot& snapshot,
                                        const RecSnapshotEncodeOptions& options = {});
// Errors start with "rec snapshot: " and name the limit or field ("rec snapshot: decompressed
// size 200000000 exceeds max_raw_bytes 134217728", "rec snapshot: items[3]: duplicate sku 'a'").
Result<RecSnapshot> decode_rec_snapshot(std::string_view payload,
                                        const RecSnapshotLimits& limits = {});

}  // namespace aisle::wire
