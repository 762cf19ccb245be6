#include "firmware_adapters/pos/pos_csv_decoder.hpp"

#include <utility>

#include "firmware_adapters/pos/pos_jsonl_decoder.hpp"

namespace aisle::adapters {

using detail::excerpt;

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(PosColumn::kCount)> kFieldNames = {
    "receipt_id", "timestamp", "register", "type",     "original_receipt_id", "currency",
    "loyalty",    "payment",   "total",    "tax",      "discount",            "subtotal",
    "sku",        "name",      "gtin",     "quantity", "unit_price",          "line_discount"};

constexpr std::size_t idx(PosColumn column) { return static_cast<std::size_t>(column); }

}  // namespace

Result<PosCsvOptions> parse_pos_csv_options(const nlohmann::json& j) {
  detail::OptionReader reader("pos_csv", j);
  PosCsvOptions options;
  read_pos_emit_options(reader, options.emit);
  for (std::size_t k = 0; k < kFieldNames.size(); ++k) options.columns[k] = kFieldNames[k];
  if (const nlohmann::json* columns = reader.get_object("columns")) {
    for (const auto& [name, value] : columns->items()) {
      const auto it = std::find(kFieldNames.begin(), kFieldNames.end(), name);
      if (it == kFieldNames.end()) {
        reader.fail("columns", "unknown field '" + excerpt(name) + "'");
      } else if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        reader.fail("columns", name + ": column name must be a non-empty string");
      } else {
        options.columns[static_cast<std::size_t>(it - kFieldNames.begin())] = value.get<std::string>();
      }
    }
  }
  options.header = reader.get_string("header", "");
  const std::string delimiter = reader.get_string("delimiter", ",");
  if (delimiter.size() != 1 || delimiter == "\"") {
    reader.fail("delimiter", "must be one character other than '\"'");
  } else {
    options.delimiter = delimiter[0];
  }
  options.max_line_bytes =
      static_cast<std::size_t>(reader.get_int("max_line_bytes", 4096, 64, 1 << 20));
  options.max_columns = static_cast<std::size_t>(reader.get_int("max_columns", 64, 4, 1024));
  options.max_items = static_cast<std::size_t>(reader.get_int("max_items", 500, 1, 500));
  options.flush_ms = reader.get_int("flush_ms", options.flush_ms, 0, 3'600'000);
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

PosCsvDecoder::PosCsvDecoder(PosCsvOptions options, DecoderContext context)
    : options_(std::move(options)), context_(std::move(context)) {
  if (!options_.emit.loyalty_key.empty()) {
    pseudonymizer_ = std::make_unique<pos::LoyaltyPseudonymizer>(options_.emit.loyalty_key);
  }
  index_.fill(-1);
  // Fields may point into scratch strings: the vector must never reallocate while splitting.
  scratch_.reserve(options_.max_columns);
  if (!options_.header.empty()) (void)take_header(options_.header);
}

std::string PosCsvDecoder::split(std::string_view row) {
  fields_.clear();
  std::size_t scratch_used = 0;
  std::size_t i = 0;
  while (true) {
    if (fields_.size() == options_.max_columns) {
      return "more than max_columns " + std::to_string(options_.max_columns) + " fields";
    }
    if (i < row.size() && row[i] == '"') {
      if (scratch_.size() <= scratch_used) scratch_.emplace_back();
      std::string& s = scratch_[scratch_used++];
      s.clear();
      ++i;
      while (true) {
        if (i >= row.size()) {
          return "column " + std::to_string(fields_.size() + 1) + ": unterminated quote";
        }
        if (row[i] == '"') {
          if (i + 1 < row.size() && row[i + 1] == '"') {
            s.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        s.push_back(row[i++]);
      }
      fields_.emplace_back(s);
      if (i < row.size() && row[i] != options_.delimiter) {
        return "column " + std::to_string(fields_.size()) + ": text after the closing quote";
      }
    } else {
      const std::size_t end = row.find(options_.delimiter, i);
      const std::string_view value = row.substr(i, end == std::string_view::npos ? end : end - i);
      if (value.find('"') != std::string_view::npos) {
        return "column " + std::to_string(fields_.size() + 1) + ": stray quote";
      }
      fields_.push_back(value);
      i = end == std::string_view::npos ? row.size() : end;
    }
    if (i >= row.size()) break;
    ++i;  // the delimiter
    if (i == row.size()) {
      fields_.emplace_back();
      break;
    }
  }
  return {};
}

std::string PosCsvDecoder::take_header(std::string_view row) {
  if (std::string error = split(row); !error.empty()) return "header: " + error;
  std::array<int, static_cast<std::size_t>(PosColumn::kCount)> index{};
  index.fill(-1);
  for (std::size_t k = 0; k < fields_.size(); ++k) {
    const std::string_view name = detail::trim(fields_[k]);
    for (std::size_t f = 0; f < options_.columns.size(); ++f) {
      if (options_.columns[f] == name) {
        if (index[f] >= 0) return "header: column '" + excerpt(name) + "' appears twice";
        index[f] = static_cast<int>(k);
      }
    }
  }
  for (const PosColumn required :
       {PosColumn::kReceiptId, PosColumn::kSku, PosColumn::kQuantity, PosColumn::kUnitPrice}) {
    if (index[idx(required)] < 0) {
      return "header: missing column '" + options_.columns[idx(required)] + "' (field " +
             std::string(kFieldNames[idx(required)]) + ")";
    }
  }
  index_ = index;
  header_text_.assign(row);
  return {};
}

std::string_view PosCsvDecoder::field(PosColumn column) const {
  const int k = index_[idx(column)];
  if (k < 0 || static_cast<std::size_t>(k) >= fields_.size()) return {};
  return detail::trim(fields_[static_cast<std::size_t>(k)]);
}

void PosCsvDecoder::flush(DecodeOutput& out) {
  if (!pending_) return;
  pending_ = false;
  const std::string where = (first_line_ ? "line " + std::to_string(first_line_) + ": " : "") +
                            "receipt " + excerpt(receipt_.order_id) + ": ";
  if (poisoned_) {
    out.errors.push_back(DecodeError{"dropped", where + "dropped because of a bad row"});
    return;
  }
  pos::emit_receipt(receipt_, options_.emit, pseudonymizer_.get(), context_, where, out);
}

void PosCsvDecoder::tick(UnixMillis now, DecodeOutput& out) {
  if (pending_ && now - last_rx_ >= options_.flush_ms) flush(out);
}

void PosCsvDecoder::decode(const Frame& frame, DecodeOutput& out) {
  auto fail = [&](std::string_view reason, const std::string& message) {
    out.errors.push_back(detail::make_error(frame, reason, message));
  };
  if (frame.bytes.size() > options_.max_line_bytes) {
    poisoned_ = pending_;
    return fail("too_long", "frame of " + std::to_string(frame.bytes.size()) +
                                " bytes exceeds max_line_bytes " +
                                std::to_string(options_.max_line_bytes));
  }
  std::string_view row = frame.bytes;
  if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
  if (row.starts_with("\xEF\xBB\xBF")) row.remove_prefix(3);  // UTF-8 BOM of spreadsheet exports
  if (detail::trim(row).empty()) return;
  if (header_text_.empty()) {
    if (std::string error = take_header(row); !error.empty()) fail("header", error);
    return;
  }
  if (row == header_text_) return;
  if (std::string error = split(row); !error.empty()) {
    poisoned_ = pending_;
    return fail("malformed", error);
  }
  auto column_error = [&](PosColumn column, std::string_view what) {
    fail("malformed", "column '" + options_.columns[idx(column)] + "': " + std::string(what));
  };
  const std::string_view id = field(PosColumn::kReceiptId);
  if (id.empty()) return column_error(PosColumn::kReceiptId, "empty");
  if (pending_ && id != receipt_.order_id) flush(out);
  last_rx_ = frame.received_at;
  if (!pending_) {
    pos::PosReceipt& r = receipt_;
    r.clear();
    pending_ = true;
    poisoned_ = false;
    first_line_ = frame.line;
    r.order_id.assign(id);
    r.register_id.assign(field(PosColumn::kRegister));
    r.transaction_type.assign(field(PosColumn::kType));
    r.original_order_id.assign(field(PosColumn::kOriginalReceiptId));
    r.currency.assign(field(PosColumn::kCurrency));
    r.loyalty.assign(field(PosColumn::kLoyalty));
    r.payment_method.assign(field(PosColumn::kPayment));
    r.occurred_at = frame.received_at;
    if (const auto ts = field(PosColumn::kTimestamp); !ts.empty()) {
      const auto parsed = detail::parse_device_time(ts);
      if (!parsed) {
        poisoned_ = true;
        return column_error(PosColumn::kTimestamp, "not a timestamp: '" + excerpt(ts) + "'");
      }
      r.occurred_at = *parsed;
    }
    for (const auto& [column, slot] :
         {std::pair{PosColumn::kTotal, &r.total}, std::pair{PosColumn::kTax, &r.tax},
          std::pair{PosColumn::kDiscount, &r.discount}, std::pair{PosColumn::kSubtotal, &r.subtotal}}) {
      if (const auto text = field(column); !text.empty()) {
        *slot = detail::parse_double(text);
        if (!*slot) {
          poisoned_ = true;
          return column_error(column, "not a number: '" + excerpt(text) + "'");
        }
      }
    }
  }
  if (receipt_.line_count >= options_.max_items) {
    poisoned_ = true;
    return fail("too_many_items", "receipt " + excerpt(receipt_.order_id) +
                                      " has more than max_items " +
                                      std::to_string(options_.max_items) + " rows");
  }
  pos::PosLine& line = receipt_.add_line();
  line.sku.assign(field(PosColumn::kSku));
  line.name.assign(field(PosColumn::kName));
  line.gtin.assign(field(PosColumn::kGtin));
  const auto quantity = detail::parse_int(field(PosColumn::kQuantity));
  if (!quantity || *quantity < -10000 || *quantity > 10000) {
    poisoned_ = true;
    return column_error(PosColumn::kQuantity, "not an integer in +-1..10000: '" +
                                                  excerpt(field(PosColumn::kQuantity)) + "'");
  }
  line.quantity = *quantity;
  const auto price = detail::parse_double(field(PosColumn::kUnitPrice));
  if (!price) {
    poisoned_ = true;
    return column_error(PosColumn::kUnitPrice,
                        "not a number: '" + excerpt(field(PosColumn::kUnitPrice)) + "'");
  }
  line.unit_price = *price;
  if (const auto text = field(PosColumn::kLineDiscount); !text.empty()) {
    const auto discount = detail::parse_double(text);
    if (!discount) {
      poisoned_ = true;
      return column_error(PosColumn::kLineDiscount, "not a number: '" + excerpt(text) + "'");
    }
    line.discount = *discount;
  }
}

}  // namespace aisle::adapters
