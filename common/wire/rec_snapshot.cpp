#include "common/wire/rec_snapshot.hpp"

#include <zstd.h>

#include <cmath>
#include <cstdint>
#include <unordered_set>

#include "common/json_text.hpp"

namespace aisle::wire {
namespace {

using nlohmann::json;

// The document is shallow: root object > items array > item object > neighbours > pair.
constexpr std::size_t kMaxDepth = 8;

Error snapshot_error(const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "rec snapshot: " + message);
}

json scored_list_to_json(const std::vector<ScoredSku>& list) {
  json out = json::array();
  for (const auto& entry : list) out.push_back(json::array({entry.sku, entry.score}));
  return out;
}

// Reads a non-empty string within max_bytes; `error` names the path.
bool read_sku(const json& value, const std::string& path, std::size_t max_bytes, std::string& out,
              std::string& error) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    error = path + ": must be a non-empty string";
    return false;
  }
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > max_bytes) {
    error = path + ": " + std::to_string(text.size()) + " bytes exceeds max_sku_bytes " +
            std::to_string(max_bytes);
    return false;
  }
  out = text;
  return true;
}

// [[sku, score], ...] with at most `max_entries` entries, no sku twice.
bool read_scored_list(const json& value, const std::string& path, std::size_t max_entries,
                      const char* limit_name, const RecSnapshotLimits& limits,
                      std::vector<ScoredSku>& out, std::string& error) {
  if (!value.is_array()) {
    error = path + ": must be an array of [sku, score] pairs";
    return false;
  }
  if (value.size() > max_entries) {
    error = path + ": " + std::to_string(value.size()) + " entries exceeds " + limit_name + " " +
            std::to_string(max_entries);
    return false;
  }
  out.reserve(value.size());
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string entry_path = path + "[" + std::to_string(i) + "]";
    const json& pair = value[i];
    if (!pair.is_array() || pair.size() != 2) {
      error = entry_path + ": must be a [sku, score] pair";
      return false;
    }
    ScoredSku entry;
    if (!read_sku(pair[0], entry_path + "[0]", limits.max_sku_bytes, entry.sku, error)) {
      return false;
    }
    if (!pair[1].is_number() || !std::isfinite(pair[1].get<double>()) ||
        pair[1].get<double>() < 0) {
      error = entry_path + ": score must be a finite number >= 0";
      return false;
    }
    entry.score = pair[1].get<double>();
    out.push_back(std::move(entry));
    if (!seen.insert(out.back().sku).second) {
      error = entry_path + ": duplicate sku '" + out.back().sku + "'";
      return false;
    }
  }
  return true;
}

bool read_item(const json& value, const std::string& path, const RecSnapshotLimits& limits,
               SnapshotItem& item, std::string& error) {
  if (!value.is_object()) {
    error = path + ": must be an object";
    return false;
  }
  const auto sku = value.find("sku");
  if (sku == value.end()) {
    error = path + ": missing 'sku'";
    return false;
  }
  if (!read_sku(*sku, path + ".sku", limits.max_sku_bytes, item.sku, error)) return false;
  if (const auto category = value.find("category"); category != value.end()) {
    if (!category->is_string() ||
        category->get_ref<const std::string&>().size() > limits.max_sku_bytes) {
      error = path + ".category: must be a string of at most max_sku_bytes " +
              std::to_string(limits.max_sku_bytes) + " bytes";
      return false;
    }
    item.category = category->get<std::string>();
  }
  if (const auto available = value.find("available"); available != value.end()) {
    if (!available->is_boolean()) {
      error = path + ".available: must be a boolean";
      return false;
    }
    item.available = available->get<bool>();
  }
  if (const auto neighbours = value.find("neighbours"); neighbours != value.end()) {
    if (!read_scored_list(*neighbours, path + ".neighbours", limits.max_neighbours,
                          "max_neighbours", limits, item.neighbours, error)) {
      return false;
    }
  }
  return true;
}

}  // namespace

json rec_snapshot_to_json(const RecSnapshot& snapshot) {
  json items = json::array();
  for (const auto& item : snapshot.items) {
    items.push_back(json{{"sku", item.sku},
                         {"category", item.category},
                         {"available", item.available},
                         {"neighbours", scored_list_to_json(item.neighbours)}});
  }
  return json{{"v", snapshot.version},
              {"store_id", snapshot.store_id},
              {"generated_at", snapshot.generated_at},
              {"model_generation", snapshot.model_generation},
              {"popularity", scored_list_to_json(snapshot.popularity)},
              {"items", std::move(items)}};
}

Result<RecSnapshot> rec_snapshot_from_json(const json& document, const RecSnapshotLimits& limits) {
  if (!document.is_object()) return snapshot_error("not a JSON object");
  RecSnapshot snapshot;
  const auto version = document.find("v");
  if (version == document.end() || !version->is_number_integer()) {
    return snapshot_error("missing integer 'v'");
  }
  if (version->get<std::int64_t>() != kRecSnapshotVersion) {
    return snapshot_error("unsupported version " + std::to_string(version->get<std::int64_t>()) +
                          " (this build reads " + std::to_string(kRecSnapshotVersion) + ")");
  }
  std::string error;
  const auto store = document.find("store_id");
  if (store == document.end()) return snapshot_error("missing 'store_id'");
  if (!read_sku(*store, "store_id", limits.max_sku_bytes, snapshot.store_id, error)) {
    return snapshot_error(error);
  }
  for (const auto* key : {"generated_at", "model_generation"}) {
    const auto field = document.find(key);
    if (field == document.end() || !field->is_number_unsigned() ||
        field->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return snapshot_error(std::string("'") + key + "' must be an integer in [0, 2^63)");
    }
  }
  snapshot.generated_at = static_cast<UnixMillis>(document["generated_at"].get<std::uint64_t>());
  snapshot.model_generation = document["model_generation"].get<std::uint64_t>();
  const auto popularity = document.find("popularity");
  if (popularity == document.end()) return snapshot_error("missing 'popularity'");
  if (!read_scored_list(*popularity, "popularity", limits.max_popularity, "max_popularity", limits,
                        snapshot.popularity, error)) {
    return snapshot_error(error);
  }
  const auto items = document.find("items");
  if (items == document.end() || !items->is_array()) {
    return snapshot_error("'items' must be an array");
  }
  if (items->size() > limits.max_items) {
    return snapshot_error("items: " + std::to_string(items->size()) +
                          " entries exceeds max_items " + std::to_string(limits.max_items));
  }
  snapshot.items.resize(items->size());
  std::unordered_set<std::string_view> seen;
  seen.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    const std::string path = "items[" + std::to_string(i) + "]";
    if (!read_item((*items)[i], path, limits, snapshot.items[i], error)) {
      return snapshot_error(error);
    }
    if (!seen.insert(snapshot.items[i].sku).second) {
      return snapshot_error(path + ": duplicate sku '" + snapshot.items[i].sku + "'");
    }
  }
  return snapshot;
}

Result<std::string> encode_rec_snapshot(const RecSnapshot& snapshot,
                                        const RecSnapshotEncodeOptions& options) {
  const std::string text =
      rec_snapshot_to_json(snapshot).dump(-1, ' ', false, json::error_handler_t::replace);
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  const std::size_t size =
      ZSTD_compress(frame.data(), frame.size(), text.data(), text.size(), options.zstd_level);
  if (ZSTD_isError(size)) {
    return make_error(ErrorCode::kInternal, std::string("rec snapshot: zstd compression failed: ") +
                                                ZSTD_getErrorName(size));
  }
  frame.resize(size);
  return frame;
}

Result<RecSnapshot> decode_rec_snapshot(std::string_view payload, const RecSnapshotLimits& limits) {
  if (payload.size() > limits.max_payload_bytes) {
    return snapshot_error("payload is " + std::to_string(payload.size()) +
                          " bytes, exceeds max_payload_bytes " +
                          std::to_string(limits.max_payload_bytes));
  }
  const unsigned long long content_size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (content_size == ZSTD_CONTENTSIZE_ERROR) return snapshot_error("not a zstd frame");
  if (content_size == ZSTD_CONTENTSIZE_UNKNOWN) {
    // Without a declared size the decompressed size could only be bounded by streaming; the
    // producer (ZSTD_compress) always declares it, so refuse instead.
    return snapshot_error("zstd frame does not declare its content size");
  }
  if (content_size > limits.max_raw_bytes) {
    return snapshot_error("decompressed size " + std::to_string(content_size) +
                          " exceeds max_raw_bytes " + std::to_string(limits.max_raw_bytes));
  }
  std::string text(static_cast<std::size_t>(content_size), '\0');
  const std::size_t produced =
      ZSTD_decompress(text.data(), text.size(), payload.data(), payload.size());
  if (ZSTD_isError(produced)) {
    return snapshot_error(std::string("zstd: ") + ZSTD_getErrorName(produced));
  }
  if (produced != text.size()) {
    return snapshot_error("zstd frame decompressed to " + std::to_string(produced) +
                          " bytes, its header says " + std::to_string(content_size));
  }
  auto document = parse_json(text, JsonLimits{limits.max_raw_bytes, kMaxDepth});
  if (!document) return snapshot_error(document.error().message);
  return rec_snapshot_from_json(*document, limits);
}

}  // namespace aisle::wire
