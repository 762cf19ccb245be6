#include "common/sim/catalog.hpp"

#include <array>
#include <cmath>
#include <cstdio>

#include "common/sim/device_formats.hpp"
#include "common/sim/random.hpp"

namespace aisle::sim {
namespace {

struct CategorySpec {
  const char* name;
  const char* sku_prefix;
  ShelfKind shelf;
  double base_price;
};

// RFID tags on apparel, electronics and toys (theft-prone, item-level inventory); weight shelves
// for loose coffee, produce and snacks; everything else is only seen at the POS.
constexpr std::array<CategorySpec, 12> kCategories = {{
    {"coffee", "COF", ShelfKind::kWeight, 9.5},
    {"tea", "TEA", ShelfKind::kPlain, 4.2},
    {"bakery", "BAK", ShelfKind::kPlain, 2.8},
    {"dairy", "DAI", ShelfKind::kPlain, 1.9},
    {"produce", "PRO", ShelfKind::kWeight, 2.4},
    {"snacks", "SNK", ShelfKind::kWeight, 3.1},
    {"beverages", "BEV", ShelfKind::kPlain, 2.2},
    {"household", "HOU", ShelfKind::kPlain, 5.5},
    {"personal-care", "PER", ShelfKind::kPlain, 6.0},
    {"apparel", "APP", ShelfKind::kRfid, 29.0},
    {"electronics", "ELE", ShelfKind::kRfid, 79.0},
    {"toys", "TOY", ShelfKind::kRfid, 19.0},
}};

constexpr std::array<const char*, 8> kAdjectives = {"Classic", "Organic", "Premium", "Everyday",
                                                    "Family", "Mini", "Deluxe", "Fresh"};

std::string format(const char* pattern, int a) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, a);
  return buffer;
}

std::string uuid_from(Random& random) {
  char buffer[40];
  const std::uint64_t a = random.next(), b = random.next();
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buffer;
}

}  // namespace

Catalog build_catalog(const CatalogOptions& options) {
  Random random(options.seed * 0x9E3779B97F4A7C15ULL + 17);
  Catalog catalog;
  catalog.options = options;
  catalog.ibeacon_uuid = uuid_from(random);
  catalog.ibeacon_major = static_cast<std::uint16_t>(random.integer(1, 999));
  for (int a = 0; a < options.rfid_antennas; ++a) {
    catalog.rfid_shelves.push_back(format("rfid-shelf-%d", a + 1));
  }
  for (int d = 0; d < options.doors; ++d) catalog.doors.push_back(format("door-%d", d + 1));

  int next_antenna = 0;
  std::uint16_t next_minor = 1;
  for (std::size_t c = 0; c < kCategories.size(); ++c) {
    const CategorySpec& spec = kCategories[c];
    catalog.categories.push_back(spec.name);
    catalog.products_by_category.emplace_back();
    for (int r = 0; r < options.products_per_category; ++r) {
      Product p;
      const int number = r + 1;
      p.sku = std::string(spec.sku_prefix) + format("-%04d", number);
      p.name = std::string(kAdjectives[random.next() % kAdjectives.size()]) + " " + spec.name +
               " " + std::to_string(number);
      p.category = spec.name;
      p.category_index = static_cast<int>(c);
      // Item reference: indicator digit 0, then category (2 digits) and rank (3 digits).
      p.item_reference = static_cast<std::uint64_t>(c + 10) * 1000 + static_cast<std::uint64_t>(number);
      p.gtin = gtin14(catalog.company_prefix, p.item_reference);
      p.price = std::round(spec.base_price * std::exp(random.uniform(-0.6, 0.9)) * 100) / 100;
      p.popularity = 1.0 / std::pow(static_cast<double>(number), options.zipf_exponent);
      if (spec.shelf == ShelfKind::kRfid && r < options.rfid_tagged_per_category) {
        p.shelf = ShelfKind::kRfid;
        p.rfid_antenna = next_antenna;
        next_antenna = (next_antenna + 1) % options.rfid_antennas;
      } else if (spec.shelf == ShelfKind::kWeight && r < options.weight_items_per_category) {
        p.shelf = ShelfKind::kWeight;
        p.weight_position = "bay-" + std::to_string(c + 1) + "/level-" +
                            std::to_string(r / 4 + 1) + "/facing-" + std::to_string(r % 4 + 1);
        p.unit_g = static_cast<double>(random.integer(5, 40)) * 25;  // 125 g .. 1 kg
        p.tolerance_g = std::min(15.0, p.unit_g * 0.2);
      }
      catalog.products_by_category.back().push_back(static_cast<int>(catalog.products.size()));
      catalog.products.push_back(std::move(p));
    }
    Zone zone;
    zone.id = std::string("zone-") + spec.name;
    zone.type = "aisle";
    zone.category_index = static_cast<int>(c);
    for (int b = 0; b < options.beacons_per_zone; ++b) zone.beacon_minors.push_back(next_minor++);
    catalog.zones.push_back(std::move(zone));
  }
  Zone checkout;
  checkout.id = "zone-checkout";
  checkout.type = "checkout_queue";
  for (int b = 0; b < options.beacons_per_zone; ++b) checkout.beacon_minors.push_back(next_minor++);
  catalog.zones.push_back(std::move(checkout));

  const std::size_t categories = catalog.categories.size();
  for (int i = 0; i < options.customers; ++i) {
    Customer customer;
    customer.index = i;
    customer.user_id = format("cust-%06d", i + 1);
    customer.has_app = random.chance(0.45);
    // Every known customer has a loyalty card except some app-only ones.
    if (!customer.has_app || random.chance(0.7)) {
      char number[32];
      std::snprintf(number, sizeof number, "LOY-%010llu",
                    static_cast<unsigned long long>(random.next() % 10000000000ULL));
      customer.loyalty_number = number;
    }
    char anon[32];
    std::snprintf(anon, sizeof anon, "anon-%012llx",
                  static_cast<unsigned long long>(random.next() & 0xffffffffffffULL));
    customer.anonymous_id = anon;
    customer.email = "shopper" + std::to_string(i + 1) + "@example.com";
    customer.affinity.assign(categories, 0.15 / static_cast<double>(categories));
    const std::size_t first = random.next() % categories;
    std::size_t second = random.next() % categories;
    if (second == first) second = (first + 1) % categories;
    customer.affinity[first] += 0.6;
    customer.affinity[second] += 0.25;
    customer.web_propensity = random.uniform(0.1, 0.7);
    catalog.customers.push_back(std::move(customer));
  }
  return catalog;
}

nlohmann::json catalog_options_to_json(const CatalogOptions& o) {
  return {{"seed", o.seed},
          {"products_per_category", o.products_per_category},
          {"rfid_tagged_per_category", o.rfid_tagged_per_category},
          {"rfid_units_per_sku", o.rfid_units_per_sku},
          {"weight_items_per_category", o.weight_items_per_category},
          {"beacons_per_zone", o.beacons_per_zone},
          {"rfid_antennas", o.rfid_antennas},
          {"doors", o.doors},
          {"kiosks", o.kiosks},
          {"registers", o.registers},
          {"customers", o.customers},
          {"zipf_exponent", o.zipf_exponent}};
}

CatalogOptions catalog_options_from_json(const nlohmann::json& json) {
  CatalogOptions o;
  if (!json.is_object()) return o;
  o.seed = json.value("seed", o.seed);
  o.products_per_category = json.value("products_per_category", o.products_per_category);
  o.rfid_tagged_per_category = json.value("rfid_tagged_per_category", o.rfid_tagged_per_category);
  o.rfid_units_per_sku = json.value("rfid_units_per_sku", o.rfid_units_per_sku);
  o.weight_items_per_category = json.value("weight_items_per_category", o.weight_items_per_category);
  o.beacons_per_zone = json.value("beacons_per_zone", o.beacons_per_zone);
  o.rfid_antennas = json.value("rfid_antennas", o.rfid_antennas);
  o.doors = json.value("doors", o.doors);
  o.kiosks = json.value("kiosks", o.kiosks);
  o.registers = json.value("registers", o.registers);
  o.customers = json.value("customers", o.customers);
  o.zipf_exponent = json.value("zipf_exponent", o.zipf_exponent);
  return o;
}

}  // namespace aisle::sim
