#include "firmware_adapters/pos/pos_receipt.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "firmware_adapters/decoder_support.hpp"
#include "firmware_adapters/pos/currency_codes.hpp"

namespace aisle::adapters::pos {

using detail::excerpt;

void PosReceipt::clear() {
  order_id.clear();
  original_order_id.clear();
  transaction_type.clear();
  register_id.clear();
  currency.clear();
  loyalty.clear();
  payment_method.clear();
  occurred_at = 0;
  total.reset();
  tax.reset();
  discount.reset();
  subtotal.reset();
  line_count = 0;
}

PosLine& PosReceipt::add_line() {
  if (lines.size() <= line_count) lines.emplace_back();
  PosLine& line = lines[line_count++];
  line.sku.clear();
  line.name.clear();
  line.gtin.clear();
  line.quantity = 0;
  line.unit_price = 0;
  line.discount = 0;
  return line;
}

namespace {

constexpr std::array<std::string_view, 11> kPaymentMethods = {
    "card", "cash", "mobile_wallet", "gift_card", "store_credit", "bank_transfer",
    "buy_now_pay_later", "loyalty_points", "voucher", "invoice", "other"};

bool valid_money(double value) { return std::isfinite(value) && std::fabs(value) < 1e12; }

nlohmann::json line_json(const PosLine& line) {
  nlohmann::json item = nlohmann::json::object();
  if (line.discount != 0) detail::put_sorted(item, "discount", std::fabs(line.discount));
  if (!line.gtin.empty()) {
    detail::put_sorted(item, "gtin", std::string(14 - line.gtin.size(), '0') + line.gtin);
  }
  if (!line.name.empty()) detail::put_sorted(item, "name", line.name);
  detail::put_sorted(item, "quantity", std::llabs(line.quantity));
  detail::put_sorted(item, "sku", line.sku);
  detail::put_sorted(item, "unit_price", std::fabs(line.unit_price));
  return item;
}

}  // namespace

void emit_receipt(const PosReceipt& receipt, const PosEmitOptions& options,
                  LoyaltyPseudonymizer* pseudonymizer, const DecoderContext& context, const std::string& where, DecodeOutput& out) {
  auto fail = [&](std::string_view reason, const std::string& message) {
    out.errors.push_back(DecodeError{std::string(reason), where + message});
  };
  auto text_ok = [&](const std::string& value, const char* field, std::size_t max) {
    if (value.size() > max) {
      fail("out_of_range", "field '" + std::string(field) + "' longer than " + std::to_string(max));
      return false;
    }
    return true;
  };
  if (receipt.order_id.empty()) return fail("malformed", "missing receipt id");
  if (!text_ok(receipt.order_id, "receipt_id", 62) ||
      !text_ok(receipt.original_order_id, "original_receipt_id", 64) ||
      !text_ok(receipt.register_id, "register", 64)) {
    return;
  }
  for (const auto& [text, field] : {std::pair{&receipt.order_id, "receipt_id"},
                                    std::pair{&receipt.original_order_id, "original_receipt_id"},
                                    std::pair{&receipt.register_id, "register"}}) {
    if (!detail::valid_utf8(*text)) {
      return fail("malformed", "field '" + std::string(field) + "': not UTF-8");
    }
  }
  if (receipt.line_count == 0) return fail("malformed", "receipt has no items");
  if (receipt.line_count > 500) return fail("too_many_items", "more than 500 items");
  const std::string& currency =
      receipt.currency.empty() ? options.default_currency : receipt.currency;
  if (currency.empty()) return fail("malformed", "missing currency");
  if (!is_known_currency(currency)) {
    return fail("out_of_range", "field 'currency': '" + excerpt(currency) + "' is not ISO 4217");
  }
  if (!receipt.payment_method.empty() &&
      std::find(kPaymentMethods.begin(), kPaymentMethods.end(), receipt.payment_method) ==
          kPaymentMethods.end()) {
    return fail("out_of_range", "field 'payment': '" + excerpt(receipt.payment_method) +
                                    "' is not a known payment method");
  }
  std::string declared = receipt.transaction_type;
  if (declared == "refund") declared = "return";
  if (!declared.empty() && declared != "sale" && declared != "return" && declared != "void") {
    return fail("out_of_range", "field 'type': '" + excerpt(declared) +
                                    "' is not sale, return, refund or void");
  }
  std::size_t positive = 0, negative = 0;
  double sum_positive = 0, sum_negative = 0;
  for (std::size_t k = 0; k < receipt.line_count; ++k) {
    const PosLine& line = receipt.lines[k];
    const std::string item = "item " + std::to_string(k + 1) + ": ";
    if (line.sku.empty() || line.sku.size() > 64) {
      return fail("malformed", item + "field 'sku' must be 1..64 bytes");
    }
    if (line.quantity == 0 || std::llabs(line.quantity) > 10000) {
      return fail("out_of_range", item + "field 'quantity' must be +-1..10000");
    }
    if (!line.gtin.empty() && (line.gtin.size() > 14 ||
                               !std::all_of(line.gtin.begin(), line.gtin.end(), ::isdigit))) {
      return fail("malformed", item + "field 'gtin' must be up to 14 digits");
    }
    if (line.name.size() > 256) return fail("out_of_range", item + "field 'name' longer than 256");
    if (!detail::valid_utf8(line.sku) || !detail::valid_utf8(line.name)) {
      return fail("malformed", item + "field 'sku' or 'name' is not UTF-8");
    }
    if (!valid_money(line.unit_price) || !valid_money(line.discount)) {
      return fail("out_of_range", item + "price or discount is not a finite amount");
    }
    const double amount = std::fabs(line.unit_price) * static_cast<double>(std::llabs(line.quantity)) -
                          std::fabs(line.discount);
    if (line.quantity > 0) {
      ++positive;
      sum_positive += amount;
    } else {
      ++negative;
      sum_negative += amount;
    }
  }
  for (const auto* amount : {&receipt.total, &receipt.tax, &receipt.discount, &receipt.subtotal}) {
    if (amount->has_value() && !valid_money(**amount)) {
      return fail("out_of_range", "a receipt amount is not a finite number");
    }
  }

  std::string loyalty_id;
  if (!receipt.loyalty.empty() && pseudonymizer != nullptr &&
      !pseudonymizer->pseudonymize(receipt.loyalty, loyalty_id)) {
    loyalty_id.clear();  // never the raw number
  } else if (!receipt.loyalty.empty() && pseudonymizer == nullptr &&
             context.agent_pseudonymizes_loyalty) {
    loyalty_id = receipt.loyalty;  // hashed by the agent's privacy filter before it is stored
  }
  // One event per direction. A pure receipt keeps the receipt's totals; a mixed one gets the sum
  // of its lines per direction (the receipt's own totals are net and fit neither part).
  const bool mixed = positive > 0 && negative > 0;
  for (const bool sold : {true, false}) {
    if ((sold ? positive : negative) == 0) continue;
    Event event = detail::make_event("purchase", Channel::kPos, context, receipt.occurred_at);
    if (!loyalty_id.empty()) event.identities["loyalty_id"] = loyalty_id;
    nlohmann::json& p = event.properties;
    p["order_id"] = sold || !mixed ? receipt.order_id : receipt.order_id + "-R";
    std::string type = sold ? (declared.empty() ? "sale" : declared)
                            : (declared == "void" ? "void" : "return");
    if (mixed && sold) type = "sale";
    p["transaction_type"] = type;
    if (!receipt.original_order_id.empty() && type != "sale") {
      p["original_order_id"] = receipt.original_order_id;
    } else if (mixed && !sold) {
      p["original_order_id"] = receipt.order_id;
    }
    nlohmann::json items = nlohmann::json::array();
    for (std::size_t k = 0; k < receipt.line_count; ++k) {
      const PosLine& line = receipt.lines[k];
      if ((line.quantity > 0) == sold) items.push_back(line_json(line));
    }
    p["items"] = std::move(items);
    if (mixed) {
      p["total"] = std::max(0.0, sold ? sum_positive : sum_negative);
    } else {
      p["total"] = receipt.total ? std::fabs(*receipt.total)
                                 : std::max(0.0, sold ? sum_positive : sum_negative);
      if (receipt.subtotal) p["subtotal"] = std::fabs(*receipt.subtotal);
      if (receipt.discount) p["discount"] = std::fabs(*receipt.discount);
      if (receipt.tax) p["tax"] = std::fabs(*receipt.tax);
    }
    p["currency"] = currency;
    if (!receipt.payment_method.empty()) p["payment_method"] = receipt.payment_method;
    if (!receipt.register_id.empty()) p["register_id"] = receipt.register_id;
    out.events.push_back(std::move(event));
  }
}

}  // namespace aisle::adapters::pos
