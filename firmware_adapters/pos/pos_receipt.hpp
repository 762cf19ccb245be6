// The POS receipt both POS decoders (JSON lines, CSV) fill, and its conversion to `purchase`
// events: signs become transaction types, the loyalty number is pseudonymized, and every value is
// checked against what the purchase schema accepts before an event leaves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/pos/loyalty_pseudonymizer.hpp"

namespace aisle::adapters::pos {

struct PosLine {
  std::string sku;
  std::string name;
  std::string gtin;
  std::int64_t quantity = 0;  // signed as the POS wrote it: negative = returned / voided
  double unit_price = 0;
  double discount = 0;
};

struct PosReceipt {
  std::string order_id;
  std::string original_order_id;
  std::string transaction_type;  // "", "sale", "return", "refund" or "void" as the POS wrote it
  std::string register_id;
  std::string currency;
  std::string loyalty;  // raw loyalty number; leaves the decoder only to the agent's hashing
  std::string payment_method;
  UnixMillis occurred_at = 0;
  std::optional<double> total, tax, discount, subtotal;
  std::vector<PosLine> lines;
  std::size_t line_count = 0;  // lines in use (the vector is reused)

  void clear();
  PosLine& add_line();
};

struct PosEmitOptions {
  // HMAC-SHA256 key; without it loyalty numbers are dropped, unless the agent pseudonymizes
  // loyalty_id itself (DecoderContext::agent_pseudonymizes_loyalty; the two never combine).
  std::string loyalty_key;
  std::string default_currency;   // when the receipt names none ("" = required)
};

// Appends one `purchase` (a pure sale, return or void) or two (a receipt mixing sold and returned
// lines becomes a sale and a return "<order_id>-R"), or errors naming the field. `where` prefixes
// messages ("line 12: " / "receipt R-1: "). `pseudonymizer` null: loyalty numbers are dropped
// (or handed to the agent's pseudonymization, see DecoderContext).
void emit_receipt(const PosReceipt& receipt, const PosEmitOptions& options,
                  LoyaltyPseudonymizer* pseudonymizer, const DecoderContext& context, const std::string& where, DecodeOutput& out);

}  // namespace aisle::adapters::pos
