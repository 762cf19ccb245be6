// POS receipts as JSON lines: one receipt per line -> `purchase` events (channel pos).
//
//   {"receipt_id":"R-0042-03-0187","ts":"2026-11-28T14:24:51.302Z","register":"lane-03",
//    "type":"sale","currency":"EUR","loyalty":"LOY-4471209388","payment":"card",
//    "items":[{"sku":"BEAN-ETH-1KG","name":"Yirgacheffe 1 kg","qty":2,"price":24.9}],
//    "tax":4.32,"total":49.8}
// Items: sku, qty (or quantity), price (or unit_price), optional name, gtin, discount. A negative
// qty is a returned/voided line (see pos_receipt.hpp). Optional receipt fields: original_receipt_id,
// subtotal, discount, tax, total (else the sum of the lines), type (sale/return/refund/void).
// Unknown fields are ignored (POS exports carry many we do not use).
#pragma once

#include <memory>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/decoder_support.hpp"
#include "firmware_adapters/pos/pos_receipt.hpp"

namespace aisle::adapters {

struct PosJsonlOptions {
  pos::PosEmitOptions emit;
  std::size_t max_line_bytes = 65536;
  std::size_t max_items = 500;  // per receipt (the purchase schema's limit)
};

Result<PosJsonlOptions> parse_pos_jsonl_options(const nlohmann::json& options);

class PosJsonlDecoder final : public Decoder {
 public:
  PosJsonlDecoder(PosJsonlOptions options, DecoderContext context);
  void decode(const Frame& frame, DecodeOutput& out) override;

 private:
  PosJsonlOptions options_;
  DecoderContext context_;
  std::unique_ptr<pos::LoyaltyPseudonymizer> pseudonymizer_;  // null without loyalty_key
  pos::PosReceipt receipt_;
};

// Shared option keys of both POS decoders: loyalty_key (>= 16 bytes), default_currency.
void read_pos_emit_options(detail::OptionReader& reader, pos::PosEmitOptions& options);

}  // namespace aisle::adapters
