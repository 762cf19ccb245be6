// POS receipts as CSV exports: one row per line item, receipt columns repeated on each row, the
// header naming the columns -> one `purchase` per receipt (channel pos).
//
//   receipt_id,timestamp,register,type,currency,loyalty,sku,name,quantity,unit_price,total
//   R-0187,2026-11-28T14:24:51Z,lane-03,sale,EUR,LOY-4471209388,BEAN-ETH-1KG,Beans,2,24.90,62.30
//   R-0187,2026-11-28T14:24:51Z,lane-03,sale,EUR,LOY-4471209388,DSC-LIQ-500,Descaler,1,12.50,62.30
// The first frame of a stream is the header (or the `header` option gives it); a later row equal
// to the header is skipped (concatenated exports). The `columns` option renames: {"sku":"ArtNr"}.
// Fields: receipt_id, sku, quantity, unit_price (required); timestamp, register, type,
// original_receipt_id, currency, loyalty, payment, total, tax, discount, subtotal, name, gtin,
// line_discount (optional). Quoting follows RFC 4180 within a line.
//
// A receipt ends when a row with another receipt id arrives, or from tick() when no row came for
// flush_ms. A bad row is an error naming its line and column, and drops its whole receipt (never a
// partial purchase).
#pragma once

#include <array>
#include <string>
#include <vector>

#include <memory>

#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/decoder_support.hpp"
#include "firmware_adapters/pos/pos_receipt.hpp"

namespace aisle::adapters {

enum class PosColumn : std::uint8_t {
  kReceiptId, kTimestamp, kRegister, kType, kOriginalReceiptId, kCurrency, kLoyalty, kPayment,
  kTotal, kTax, kDiscount, kSubtotal, kSku, kName, kGtin, kQuantity, kUnitPrice, kLineDiscount,
  kCount
};

struct PosCsvOptions {
  pos::PosEmitOptions emit;
  std::array<std::string, static_cast<std::size_t>(PosColumn::kCount)> columns;  // header names
  std::string header;          // used when the export has no header row
  char delimiter = ',';
  std::size_t max_line_bytes = 4096;
  std::size_t max_columns = 64;
  std::size_t max_items = 500;  // per receipt
  std::int64_t flush_ms = 2000;
};

Result<PosCsvOptions> parse_pos_csv_options(const nlohmann::json& options);

class PosCsvDecoder final : public Decoder {
 public:
  PosCsvDecoder(PosCsvOptions options, DecoderContext context);
  void decode(const Frame& frame, DecodeOutput& out) override;
  void tick(UnixMillis now, DecodeOutput& out) override;

 private:
  // Splits one CSV row into fields_ (views into the row or into scratch_). Empty on success.
  std::string split(std::string_view row);
  std::string take_header(std::string_view row);
  void flush(DecodeOutput& out);
  std::string_view field(PosColumn column) const;

  PosCsvOptions options_;
  DecoderContext context_;
  std::unique_ptr<pos::LoyaltyPseudonymizer> pseudonymizer_;  // null without loyalty_key
  std::string header_text_;
  std::array<int, static_cast<std::size_t>(PosColumn::kCount)> index_{};
  std::vector<std::string_view> fields_;
  std::vector<std::string> scratch_;
  pos::PosReceipt receipt_;
  bool pending_ = false;
  bool poisoned_ = false;       // a row of the pending receipt was bad: drop it at flush
  std::uint64_t first_line_ = 0;
  UnixMillis last_rx_ = 0;
};

}  // namespace aisle::adapters
