// validator_bench: validations per second of a typical `purchase` event's properties against
// its compiled schema, on one core.
//
// Three figures, each the median of kRuns runs of about one second:
//   - fast path: validate(instance) with errors == nullptr on a valid instance (what the
//     collector does for every event);
//   - collecting errors on the same valid instance (an empty vector is passed);
//   - collecting errors on an invalid instance (three errors are built per call).
// The instance is parsed once; only validation is timed. Time is the CPU time of the benchmark
// thread (CLOCK_THREAD_CPUTIME_ID), so other load on a shared machine does not count against it;
// wall-clock figures are the same on an idle core.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/schema/validator.hpp"

namespace {

using nlohmann::json;

constexpr int kRuns = 7;
constexpr double kRunSeconds = 1.0;
constexpr int kBatch = 2000;

// The shape of schemas/aisle/purchase (additionalProperties false, required fields, minimum,
// the currency enum) plus the store and time fields an ingested event carries.
const char* const kSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Purchase",
  "type": "object",
  "additionalProperties": false,
  "required": ["order_id", "transaction_type", "items", "total", "currency", "store_id",
               "ordered_at"],
  "properties": {
    "order_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "transaction_type": {"enum": ["sale", "return", "void"]},
    "items": {
      "type": "array", "minItems": 1, "maxItems": 500,
      "items": {"$ref": "#/$defs/line_item"}
    },
    "subtotal": {"$ref": "#/$defs/money"},
    "discount": {"$ref": "#/$defs/money"},
    "tax": {"$ref": "#/$defs/money"},
    "total": {"$ref": "#/$defs/money"},
    "currency": {"$ref": "#/$defs/currency"},
    "store_id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
    "register_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "ordered_at": {"type": "string", "format": "date-time"},
    "payment_method": {"enum": ["card", "cash", "mobile_wallet", "gift_card", "other"]},
    "coupons": {
      "type": "array", "maxItems": 20, "uniqueItems": true,
      "items": {"type": "string", "minLength": 1, "maxLength": 64}
    }
  },
  "$defs": {
    "money": {"type": "number", "minimum": 0},
    "currency": {
      "enum": [
        "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
        "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
        "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
        "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD",
        "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
        "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
        "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
        "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
        "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG",
        "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS",
        "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED",
        "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG"
      ]
    },
    "line_item": {
      "type": "object",
      "additionalProperties": false,
      "required": ["sku", "quantity", "unit_price"],
      "properties": {
        "sku": {"type": "string", "minLength": 1, "maxLength": 64},
        "gtin": {"type": "string", "pattern": "^[0-9]{14}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 256},
        "category": {"type": "string", "minLength": 1, "maxLength": 256},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
        "unit_price": {"$ref": "#/$defs/money"},
        "discount": {"$ref": "#/$defs/money"}
      }
    }
  }
})json";

json purchase() {
  json items = json::array();
  const char* const names[] = {"Espresso machine", "Milk jug", "Coffee beans 1kg", "Descaler",
                               "Cup set"};
  for (int i = 0; i < 5; ++i) {
    items.push_back({{"sku", "SKU-" + std::to_string(1000 + i)},
                     {"name", names[i]},
                     {"quantity", i + 1},
                     {"unit_price", 4.99 + i * 10},
                     {"category", "coffee/espresso-machines"}});
  }
  return {{"order_id", "ORD-2024-000123"},
          {"transaction_type", "sale"},
          {"items", items},
          {"total", 655.25},
          {"currency", "EUR"},
          {"store_id", "berlin-mitte-01"},
          {"ordered_at", "2024-05-01T12:30:05.123Z"}};
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Runs `body` in batches for about kRunSeconds of CPU time; returns calls per second.
double measure(const std::function<bool()>& body) {
  std::size_t calls = 0;
  std::size_t valid = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  do {
    for (int i = 0; i < kBatch; ++i) valid += body();
    calls += kBatch;
    elapsed = thread_cpu_seconds() - start;
  } while (elapsed < kRunSeconds);
  if (valid > calls) std::abort();  // keeps the results observable
  return static_cast<double>(calls) / elapsed;
}

double median_of_runs(const char* label, const std::function<bool()>& body) {
  measure(body);  // warm-up (caches, branch predictors, thread-local scratch)
  std::vector<double> rates;
  for (int run = 0; run < kRuns; ++run) rates.push_back(measure(body));
  std::sort(rates.begin(), rates.end());
  const double median = rates[rates.size() / 2];
  std::printf("  %-40s %12.0f validations/s  (min %.0f, max %.0f)\n", label, median, rates.front(),
              rates.back());
  return median;
}

}  // namespace

int main() {
  const json schema = json::parse(kSchema);
  auto compiled = aisle::schema::CompiledSchema::compile(schema);
  if (!compiled) {
    std::fprintf(stderr, "validator_bench: schema does not compile: %s\n",
                 compiled.error().message.c_str());
    return 1;
  }
  const aisle::schema::CompiledSchemaPtr validator = *compiled;
  const json valid = purchase();
  json invalid = purchase();
  invalid["items"][2]["quantity"] = 0;
  invalid["currency"] = "eur";
  invalid["totl"] = 1;

  std::vector<aisle::schema::ValidationError> errors;
  if (!validator->validate(valid) || validator->validate(invalid) ||
      (validator->validate(invalid, &errors), errors.size() != 3)) {
    std::fprintf(stderr, "validator_bench: unexpected validation results\n");
    return 1;
  }

  std::printf(
      "validator_bench: purchase properties (5 line items), median of %d runs of ~%.0f s CPU\n",
      kRuns, kRunSeconds);
  median_of_runs("fast path (errors == nullptr)", [&] { return validator->validate(valid); });
  median_of_runs("collecting errors, valid instance", [&] {
    errors.clear();
    return validator->validate(valid, &errors);
  });
  median_of_runs("collecting errors, invalid (3 errors)", [&] {
    errors.clear();
    return validator->validate(invalid, &errors);
  });
  return 0;
}
