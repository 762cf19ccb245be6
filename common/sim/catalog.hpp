// The retailer's assortment, store layout and customer base as the simulator and the devenv both
// see them. Everything is derived from one seed, so `aislectl devenv init` (which writes the
// agents' adapter options: zones, antennas, shelf positions, GTIN -> sku) and `aislectl simulate`
// (which produces the frames) agree without sharing a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aisle::sim {

// How a product sits on the shelf, i.e. which device notices a shopper taking it.
enum class ShelfKind : std::uint8_t { kPlain, kRfid, kWeight };

struct Product {
  std::string sku;       // "APP-0007"
  std::string name;      // "Apparel item 7"
  std::string category;  // "apparel"
  int category_index = 0;
  std::string gtin;      // GTIN-14 with its GS1 check digit
  std::uint64_t item_reference = 0;  // indicator digit + item reference, as in an SGTIN
  double price = 0;                  // EUR
  double popularity = 0;             // Zipf weight within its category (rank r: 1 / r^s)
  ShelfKind shelf = ShelfKind::kPlain;
  int rfid_antenna = -1;        // kRfid: the antenna port reading its shelf
  std::string weight_position;  // kWeight: "bay-<z>/level-<l>/facing-<f>"
  double unit_g = 0;            // kWeight: grams per unit
  double tolerance_g = 0;       // kWeight
};

// A walking zone: one aisle per category plus the checkout. Its beacons (iBeacon, one shared
// proximity UUID and major, a minor per beacon) map to the zone in the BLE decoder's options.
// The decoder tracks each beacon, not each listener, so a zone has a pool of beacons and the
// simulator gives each zone visit a beacon nobody else is near at that moment.
struct Zone {
  std::string id;    // "zone-apparel"
  std::string type;  // "aisle" or "checkout_queue" (the dwell schema's zone types)
  int category_index = -1;
  std::vector<std::uint16_t> beacon_minors;
};

struct CatalogOptions {
  std::uint64_t seed = 1;
  int products_per_category = 40;  // 12 categories
  int rfid_tagged_per_category = 10;  // the most popular items of RFID categories carry tags
  int rfid_units_per_sku = 3;         // tagged units on the shelf at a time
  int weight_items_per_category = 8;  // the most popular items of weight-shelf categories
  int beacons_per_zone = 16;
  int rfid_antennas = 8;
  int doors = 3;
  int kiosks = 4;
  int registers = 6;
  int customers = 3000;  // the retailer's known customers (loyalty card or app account)
  double zipf_exponent = 1.1;
};

// One known customer. Anonymous shoppers are generated per visit and carry no identity.
struct Customer {
  int index = 0;
  std::string user_id;         // app / web account: "cust-000123"
  std::string loyalty_number;  // raw card number: "LOY-4471209388"; empty when none
  std::string anonymous_id;    // the web cookie of their browser
  std::string email;           // for identify's email_sha256
  bool has_app = false;        // logs in on the web / app (user_id)
  // Category affinity (sums to 1): two favourite categories carry most of the weight.
  std::vector<double> affinity;
  double web_propensity = 0;  // chance of browsing the web before / after a visit
};

struct Catalog {
  CatalogOptions options;
  std::vector<std::string> categories;
  std::vector<Product> products;                       // grouped by category, rank order
  std::vector<std::vector<int>> products_by_category;  // indexes into products
  std::vector<Zone> zones;                             // zones[c] = aisle of category c; last: checkout
  std::string ibeacon_uuid;                            // canonical lowercase 8-4-4-4-12
  std::uint16_t ibeacon_major = 1;
  std::string company_prefix = "8712345";  // 7 digits: SGTIN-96 partition 5
  std::vector<std::string> rfid_shelves;   // rfid_shelves[antenna] = shelf id
  std::vector<std::string> doors;          // "door-1" ...
  std::vector<Customer> customers;

  int checkout_zone() const { return static_cast<int>(zones.size()) - 1; }
};

// Deterministic for its options.
Catalog build_catalog(const CatalogOptions& options);

// The options as JSON (kept in a devenv's env.json so the simulator rebuilds the same catalog);
// missing members take their defaults.
nlohmann::json catalog_options_to_json(const CatalogOptions& options);
CatalogOptions catalog_options_from_json(const nlohmann::json& json);

}  // namespace aisle::sim
