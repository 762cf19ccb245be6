#include "collector/recs/serving/catalog.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector::recs {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.recs.catalog");

constexpr const char* kSchemaV1 =
    "CREATE TABLE items (sku TEXT PRIMARY KEY, item TEXT NOT NULL, updated_at INTEGER NOT NULL);";
constexpr const char* const kSteps[] = {kSchemaV1};
constexpr std::int64_t kApplicationId = 0x41524341;  // "ARCA": Aisle recs catalog

Error invalid(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, field + ": " + message);
}

bool is_currency(const std::string& s) {
  return s.size() == 3 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

bool CatalogItem::available_in(std::string_view store_id) const {
  if (!store_id.empty()) {
    auto it = stores.find(std::string(store_id));
    if (it != stores.end()) return it->second;
  }
  return available;
}

Result<CatalogItem> parse_catalog_item(const json& j, const CatalogItemLimits& limits) {
  if (!j.is_object()) return invalid("item", "must be an object");
  CatalogItem item;
  bool has_price = false;
  auto text = [&](const std::string& key, const json& v, std::size_t max,
                  std::string& out) -> Status {
    if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
        v.get_ref<const std::string&>().size() > max) {
      return invalid(key, "must be a string of 1.." + std::to_string(max) + " characters");
    }
    out = v.get<std::string>();
    return ok_status();
  };
  for (const auto& [key, v] : j.items()) {
    if (key == "sku") {
      if (auto s = text(key, v, limits.max_sku_length, item.sku); !s) return s.error();
    } else if (key == "title") {
      if (auto s = text(key, v, limits.max_text_length, item.title); !s) return s.error();
    } else if (key == "category") {
      if (auto s = text(key, v, limits.max_text_length, item.category); !s) return s.error();
    } else if (key == "price") {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
        return invalid(key, "must be a number >= 0");
      }
      item.price = v.get<double>();
      has_price = true;
    } else if (key == "currency") {
      if (!v.is_string() || !is_currency(v.get<std::string>())) {
        return invalid(key, "must be an ISO 4217 code of 3 capital letters");
      }
      item.currency = v.get<std::string>();
    } else if (key == "available") {
      if (!v.is_boolean()) return invalid(key, "must be true or false");
      item.available = v.get<bool>();
    } else if (key == "stores") {
      if (!v.is_object()) return invalid(key, "must be an object {\"<store_id>\": true|false}");
      if (v.size() > limits.max_stores) {
        return invalid(key, std::to_string(v.size()) + " stores, limit " +
                                std::to_string(limits.max_stores));
      }
      for (const auto& [store, in_stock] : v.items()) {
        if (store.empty() || store.size() > limits.max_sku_length) {
          return invalid(key, "store ids must be 1.." + std::to_string(limits.max_sku_length) +
                                  " characters");
        }
        if (!in_stock.is_boolean()) return invalid(key + "." + store, "must be true or false");
        item.stores[store] = in_stock.get<bool>();
      }
    } else {
      return invalid(key,
                     "unknown field (sku, title, category, price, currency, available, stores)");
    }
  }
  if (item.sku.empty()) return invalid("sku", "is required");
  if (has_price && item.currency.empty()) return invalid("currency", "is required with price");
  return item;
}

json catalog_item_json(const CatalogItem& item) {
  json j = {{"sku", item.sku}, {"available", item.available}, {"stores", item.stores}};
  if (!item.title.empty()) j["title"] = item.title;
  if (!item.category.empty()) j["category"] = item.category;
  if (!item.currency.empty()) {
    j["price"] = item.price;
    j["currency"] = item.currency;
  }
  return j;
}

Catalog::Catalog(CatalogOptions options, SqliteDb db, ClockPtr clock, metrics::Registry& metrics)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      db_(std::move(db)),
      size_gauge_(metrics.gauge("aisle_collector_recs_catalog_items", "Items in the catalog")),
      upserted_(metrics.counter("aisle_collector_recs_catalog_upserts_total",
                                "Catalog items created or replaced")),
      removed_(metrics.counter("aisle_collector_recs_catalog_deletes_total",
                               "Catalog items deleted")) {}

Result<std::unique_ptr<Catalog>> Catalog::open(const CatalogOptions& options, ClockPtr clock,
                                               metrics::Registry& metrics) {
  WalWriterSettings settings;
  settings.synchronous_full = options.synchronous_full;
  settings.cache_kib = 8 * 1024;
  auto db = open_wal_writer(options.path, settings);
  if (!db) return db.error();
  SchemaMigrations schema{kApplicationId, kSteps, 1, "catalog database", "catalog"};
  if (auto s = migrate_schema(*db, schema); !s) return s.error();
  std::unique_ptr<Catalog> catalog(
      new Catalog(options, std::move(*db), std::move(clock), metrics));
  if (auto s = catalog->load(); !s) return s.error();
  return catalog;
}

Status Catalog::load() {
  // rowid order is first-upload order (an upsert keeps the row), the fallback order.
  auto statement = db_.prepare("SELECT sku, item, updated_at FROM items ORDER BY rowid");
  if (!statement) return statement.error();
  ResetGuard guard(*statement);
  const CatalogItemLimits no_limits{SIZE_MAX, SIZE_MAX, SIZE_MAX};
  while (true) {
    auto row = statement->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::string sku(statement->column_text(0));
    auto parsed = parse_json(statement->column_text(1), JsonLimits{16 * 1024 * 1024, 8});
    Result<CatalogItem> item =
        parsed ? parse_catalog_item(*parsed, no_limits) : Result<CatalogItem>(parsed.error());
    if (!item) {
      return make_error(ErrorCode::kDataLoss,
                        "catalog item " + sku + " cannot be read: " + item.error().message);
    }
    item->updated_at = statement->column_int64(2);
    order_.push_back(item->sku);
    // The key first: in `a = b` the right side is evaluated first and would move the sku away.
    auto& slot = items_[item->sku];
    slot = std::make_shared<const CatalogItem>(std::move(*item));
  }
  size_gauge_.set(static_cast<double>(items_.size()));
  kLog.info("catalog loaded", {{"items", std::to_string(items_.size())}});
  return ok_status();
}

Status Catalog::upsert(std::vector<CatalogItem> items) {
  std::lock_guard write(write_mutex_);
  std::size_t added = 0;
  {
    std::shared_lock read(index_mutex_);
    std::unordered_set<std::string_view> fresh;
    for (const auto& item : items) {
      if (!items_.count(item.sku) && fresh.insert(item.sku).second) ++added;
    }
  }
  if (items_.size() + added > options_.max_items) {
    return make_error(ErrorCode::kResourceExhausted,
                      "the catalog would hold " + std::to_string(items_.size() + added) +
                          " items, limit max_items " + std::to_string(options_.max_items));
  }
  const UnixMillis now = clock_->now_unix_ms();
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s) return s.error();
  auto statement = db_.cached(
      "INSERT INTO items (sku, item, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(sku) DO UPDATE SET item = excluded.item, updated_at = excluded.updated_at");
  if (!statement) {
    db_.rollback_quietly();
    return statement.error();
  }
  for (auto& item : items) {
    item.updated_at = now;
    const std::string text = catalog_item_json(item).dump();
    ResetGuard guard(**statement);
    (*statement)->bind_text(1, item.sku);
    (*statement)->bind_text(2, text);
    (*statement)->bind_int64(3, now);
    if (auto s = (*statement)->run(); !s) {
      db_.rollback_quietly();
      return s.error();
    }
  }
  if (auto s = db_.exec("COMMIT"); !s) {
    db_.rollback_quietly();
    return s.error();
  }
  std::unique_lock lock(index_mutex_);
  for (auto& item : items) {
    auto [it, inserted] = items_.try_emplace(item.sku);
    if (inserted) order_.push_back(item.sku);
    it->second = std::make_shared<const CatalogItem>(std::move(item));
  }
  size_gauge_.set(static_cast<double>(items_.size()));
  upserted_.inc(static_cast<double>(items.size()));
  return ok_status();
}

Result<bool> Catalog::remove(const std::string& sku) {
  std::lock_guard write(write_mutex_);
  auto statement = db_.cached("DELETE FROM items WHERE sku = ?1");
  if (!statement) return statement.error();
  ResetGuard guard(**statement);
  (*statement)->bind_text(1, sku);
  if (auto s = (*statement)->run(); !s) return s.error();
  const bool existed = db_.changes() > 0;
  std::unique_lock lock(index_mutex_);
  if (items_.erase(sku) > 0) {
    order_.erase(std::remove(order_.begin(), order_.end(), sku), order_.end());
    removed_.inc();
  }
  size_gauge_.set(static_cast<double>(items_.size()));
  return existed;
}

std::optional<CatalogItem> Catalog::get(std::string_view sku) const {
  std::shared_lock lock(index_mutex_);
  auto it = items_.find(std::string(sku));
  if (it == items_.end()) return std::nullopt;
  return *it->second;
}

std::size_t Catalog::size() const {
  std::shared_lock lock(index_mutex_);
  return items_.size();
}

void Catalog::visit(const std::vector<std::string>& skus,
                    const std::function<void(std::size_t, const CatalogItem*)>& visit) const {
  std::shared_lock lock(index_mutex_);
  for (std::size_t i = 0; i < skus.size(); ++i) {
    auto it = items_.find(skus[i]);
    visit(i, it == items_.end() ? nullptr : it->second.get());
  }
}

std::vector<std::string> Catalog::fallback_items(
    std::string_view store_id, std::size_t n,
    const std::function<bool(const CatalogItem&)>& keep) const {
  std::vector<std::string> out;
  std::shared_lock lock(index_mutex_);
  for (const auto& sku : order_) {
    if (out.size() >= n) break;
    const CatalogItem& item = *items_.at(sku);
    if (item.available_in(store_id) && keep(item)) out.push_back(sku);
  }
  return out;
}

std::vector<std::string> Catalog::assortment(std::string_view store_id, std::size_t limit) const {
  return fallback_items(store_id, limit, [](const CatalogItem&) { return true; });
}

}  // namespace aisle::collector::recs
