#include "firmware_adapters/pos/pos_jsonl_decoder.hpp"

#include <cmath>
#include <utility>

#include "firmware_adapters/decoder_support.hpp"
#include "firmware_adapters/pos/currency_codes.hpp"

namespace aisle::adapters {

using detail::excerpt;
using nlohmann::json;

void read_pos_emit_options(detail::OptionReader& reader, pos::PosEmitOptions& options) {
  options.loyalty_key = reader.get_string("loyalty_key", "");
  if (!options.loyalty_key.empty() && options.loyalty_key.size() < 16) {
    reader.fail("loyalty_key", "must be at least 16 bytes (a secret shared by the store's agents)");
  }
  options.default_currency = reader.get_string("default_currency", "");
  if (!options.default_currency.empty() && !pos::is_known_currency(options.default_currency)) {
    reader.fail("default_currency", "not an ISO 4217 code of the purchase schema");
  }
}

Result<PosJsonlOptions> parse_pos_jsonl_options(const json& j) {
  detail::OptionReader reader("pos_jsonl", j);
  PosJsonlOptions options;
  read_pos_emit_options(reader, options.emit);
  options.max_line_bytes =
      static_cast<std::size_t>(reader.get_int("max_line_bytes", 65536, 256, 1 << 22));
  options.max_items = static_cast<std::size_t>(reader.get_int("max_items", 500, 1, 500));
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

PosJsonlDecoder::PosJsonlDecoder(PosJsonlOptions options, DecoderContext context)
    : options_(std::move(options)), context_(std::move(context)) {
  if (!options_.emit.loyalty_key.empty()) {
    pseudonymizer_ = std::make_unique<pos::LoyaltyPseudonymizer>(options_.emit.loyalty_key);
  }
}

namespace {

const json* member(const json& object, std::string_view a, std::string_view b = {}) {
  auto it = object.find(a);
  if (it == object.end() && !b.empty()) it = object.find(b);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// Reads an optional string member; false (with `error`) when present but not a string.
bool read_string(const json& object, std::string& out, std::string& error, std::string_view a,
                 std::string_view b = {}) {
  const json* value = member(object, a, b);
  if (value == nullptr) return true;
  if (value->is_number_integer()) {  // ids and GTINs are often written as numbers
    out = value->dump();
    return true;
  }
  if (!value->is_string()) {
    error = "field '" + std::string(a) + "' must be a string";
    return false;
  }
  out = value->get<std::string>();
  return true;
}

bool read_number(const json& object, std::optional<double>& out, std::string& error,
                 std::string_view a, std::string_view b = {}) {
  const json* value = member(object, a, b);
  if (value == nullptr) return true;
  if (!value->is_number()) {
    error = "field '" + std::string(a) + "' must be a number";
    return false;
  }
  out = value->get<double>();
  return true;
}

}  // namespace

void PosJsonlDecoder::decode(const Frame& frame, DecodeOutput& out) {
  const std::string where = detail::line_prefix(frame);
  auto fail = [&](std::string_view reason, const std::string& message) {
    out.errors.push_back(DecodeError{std::string(reason), where + message});
  };
  if (frame.bytes.size() > options_.max_line_bytes) {
    return fail("too_long", "frame of " + std::to_string(frame.bytes.size()) +
                                " bytes exceeds max_line_bytes " +
                                std::to_string(options_.max_line_bytes));
  }
  const std::string_view text = detail::trim(frame.bytes);
  if (text.empty()) return;
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("malformed", "not a JSON document (partial or garbled line)");
  if (!doc.is_object()) return fail("malformed", "a receipt must be a JSON object");

  pos::PosReceipt& r = receipt_;
  r.clear();
  std::string error, ts;
  if (!read_string(doc, r.order_id, error, "receipt_id", "order_id") ||
      !read_string(doc, r.original_order_id, error, "original_receipt_id", "original_order_id") ||
      !read_string(doc, r.transaction_type, error, "type", "transaction_type") ||
      !read_string(doc, r.register_id, error, "register", "register_id") ||
      !read_string(doc, r.currency, error, "currency") ||
      !read_string(doc, r.loyalty, error, "loyalty", "loyalty_number") ||
      !read_string(doc, r.payment_method, error, "payment", "payment_method") ||
      !read_string(doc, ts, error, "ts", "timestamp") ||
      !read_number(doc, r.total, error, "total") || !read_number(doc, r.tax, error, "tax") ||
      !read_number(doc, r.discount, error, "discount") ||
      !read_number(doc, r.subtotal, error, "subtotal")) {
    return fail("malformed", error);
  }
  r.occurred_at = frame.received_at;
  if (!ts.empty()) {
    const auto parsed = detail::parse_device_time(ts);
    if (!parsed) return fail("malformed", "field 'ts': not a timestamp: '" + excerpt(ts) + "'");
    r.occurred_at = *parsed;
  }
  const json* items = member(doc, "items");
  if (items == nullptr || !items->is_array()) return fail("malformed", "field 'items' must be an array");
  if (items->size() > options_.max_items) {
    return fail("too_many_items", "receipt has " + std::to_string(items->size()) +
                                      " items, more than max_items " +
                                      std::to_string(options_.max_items));
  }
  std::size_t index = 0;
  for (const json& item : *items) {
    ++index;
    const std::string at = "items[" + std::to_string(index - 1) + "]: ";
    if (!item.is_object()) return fail("malformed", at + "must be an object");
    pos::PosLine& line = r.add_line();
    std::optional<double> price, line_discount;
    if (!read_string(item, line.sku, error, "sku") || !read_string(item, line.name, error, "name") ||
        !read_string(item, line.gtin, error, "gtin") ||
        !read_number(item, price, error, "price", "unit_price") ||
        !read_number(item, line_discount, error, "discount")) {
      return fail("malformed", at + error);
    }
    const json* qty = member(item, "qty", "quantity");
    if (qty != nullptr && qty->is_number_unsigned() && qty->get<std::uint64_t>() > 10000) {
      return fail("out_of_range", at + "field 'qty' must be +-1..10000");
    }
    if (qty == nullptr || !qty->is_number_integer()) {
      return fail("malformed", at + "field 'qty' must be an integer");
    }
    const auto quantity = qty->get<std::int64_t>();
    if (quantity < -10000 || quantity > 10000) {
      return fail("out_of_range", at + "field 'qty' must be +-1..10000");
    }
    line.quantity = quantity;
    if (!price) return fail("malformed", at + "missing field 'price'");
    line.unit_price = *price;
    line.discount = line_discount.value_or(0);
  }
  std::string receipt_where = where;
  if (!r.order_id.empty()) receipt_where += "receipt " + excerpt(r.order_id) + ": ";
  pos::emit_receipt(r, options_.emit, pseudonymizer_.get(), context_, receipt_where, out);
}

}  // namespace aisle::adapters
