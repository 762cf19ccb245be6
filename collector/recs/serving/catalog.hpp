// Catalog: the items recommendations may show, with category, price and availability per store
// (docs/recommendations.md, "Catalog"). Kept in SQLite (`<data>/catalog.db`, WAL) so it survives
// restarts, and entirely in memory for serving: a request looks up its candidates under one
// shared lock, without touching SQLite.
//
// Thread-safety: upsert()/remove() serialize on the writer; readers (get, visit, fallback_items)
// run concurrently from HTTP threads and block only while a write swaps entries in.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector::recs {

struct CatalogItem {
  std::string sku;
  std::string title;
  std::string category;  // "coffee/espresso-machines", top level first
  double price = 0;      // unit price in `currency`
  std::string currency;  // ISO 4217, "" when no price is given
  bool available = true;  // in stores without an entry in `stores`
  std::map<std::string, bool> stores;  // store_id -> in stock there
  UnixMillis updated_at = 0;           // collector clock of the last upload

  bool available_in(std::string_view store_id) const;
  friend bool operator==(const CatalogItem&, const CatalogItem&) = default;
};

// Limits of one item as uploaded.
struct CatalogItemLimits {
  std::size_t max_sku_length = 64;
  std::size_t max_text_length = 256;  // title, category
  std::size_t max_stores = 10000;     // availability entries per item
};

// Parses one uploaded item. Errors (kInvalidArgument) name the field: "price: must be a number
// >= 0". Unknown fields are refused, so a misspelt "availabilty" is not silently ignored.
Result<CatalogItem> parse_catalog_item(const nlohmann::json& j, const CatalogItemLimits& limits);
nlohmann::json catalog_item_json(const CatalogItem& item);

struct CatalogOptions {
  std::string path;                 // catalog.db
  bool synchronous_full = false;    // NORMAL: an upload lost in a power cut is uploaded again
  std::size_t max_items = 2'000'000;  // upserts that would grow past this are refused
};

class Catalog {
 public:
  static Result<std::unique_ptr<Catalog>> open(const CatalogOptions& options, ClockPtr clock,
                                               metrics::Registry& metrics);

  // Stores the items in one transaction (all or none) and then makes them visible. Refused
  // (kResourceExhausted) when new skus would exceed max_items.
  Status upsert(std::vector<CatalogItem> items);
  // False when the sku was not in the catalog.
  Result<bool> remove(const std::string& sku);

  std::optional<CatalogItem> get(std::string_view sku) const;
  std::size_t size() const;

  // Calls `visit(i, item-or-null)` for every sku under one shared lock. The pointers are valid
  // only during the call.
  void visit(const std::vector<std::string>& skus,
             const std::function<void(std::size_t, const CatalogItem*)>& visit) const;
  // Up to `n` skus available in `store_id` accepted by `keep` (the last resort of the fallback
  // chain, when no model knows anything yet), in a fixed order.
  std::vector<std::string> fallback_items(std::string_view store_id, std::size_t n,
                                          const std::function<bool(const CatalogItem&)>& keep) const;
  // Every sku available in `store_id` (the store's assortment for snapshots).
  std::vector<std::string> assortment(std::string_view store_id, std::size_t limit) const;

 private:
  Catalog(CatalogOptions options, SqliteDb db, ClockPtr clock, metrics::Registry& metrics);
  Status load();

  CatalogOptions options_;
  ClockPtr clock_;
  std::mutex write_mutex_;
  SqliteDb db_;  // guarded by write_mutex_
  mutable std::shared_mutex index_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CatalogItem>> items_;
  std::vector<std::string> order_;  // skus in first-upload order (fallback order); lazily compacted
  metrics::Gauge& size_gauge_;
  metrics::Counter& upserted_;
  metrics::Counter& removed_;
};

}  // namespace aisle::collector::recs
