#include <catch2/catch.hpp>

#include "common/crypto.hpp"
#include "firmware_adapters/pos/currency_codes.hpp"
#include "firmware_adapters/pos/pos_csv_decoder.hpp"
#include "firmware_adapters/pos/pos_jsonl_decoder.hpp"
#include "tests/unit/adapters/decoder_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::adapters {
namespace {

constexpr const char* kKey = "store-0042-loyalty-key-2026";

TEST_CASE("POS JSON lines become purchases: sale, return, void and a mixed receipt",
          "[adapters][pos]") {
  auto decoder = test::make_or_fail("pos_jsonl", {{"loyalty_key", kKey}});
  const auto frames = test::read_frames(test::frames_dir("pos") / "receipts.jsonl");
  const DecodeOutput out = test::decode_all(*decoder, frames);
  test::require_all_valid(out);
  REQUIRE(out.events.size() == 5);
  const Event& sale = out.events[0];
  CHECK(sale.type == "purchase");
  CHECK(sale.source.channel == Channel::kPos);
  CHECK(sale.occurred_at == 1'795'875'891'302);
  CHECK(sale.identities.at("loyalty_id") == crypto::hmac_sha256_hex(kKey, "LOY-4471209388"));
  CHECK(sale.identities.at("loyalty_id").size() == 64);
  CHECK(sale.properties["order_id"] == "R-0042-03-0187");
  CHECK(sale.properties["transaction_type"] == "sale");
  CHECK(sale.properties["payment_method"] == "card");
  CHECK(sale.properties["register_id"] == "lane-03");
  CHECK(sale.properties["total"] == 59.8);
  CHECK(sale.properties["tax"] == 10.36);
  CHECK(sale.properties["items"][1] == nlohmann::json{{"sku", "DSC-LIQ-500"},
                                                     {"gtin", "08712345678906"},
                                                     {"quantity", 1},
                                                     {"unit_price", 12.5},
                                                     {"discount", 2.5}});
  const Event& refund = out.events[1];
  CHECK(refund.properties["transaction_type"] == "return");
  CHECK(refund.properties["original_order_id"] == "R-0042-03-0187");
  CHECK(refund.properties["items"][0]["quantity"] == 1);
  CHECK(refund.properties["total"] == 10.0);
  CHECK(out.events[2].properties["transaction_type"] == "void");
  CHECK(out.events[2].properties["total"] == 19.95);  // sum of the lines when no total
  // Mixed: a sale of the positive lines and a return of the negative ones.
  CHECK(out.events[3].properties["transaction_type"] == "sale");
  CHECK(out.events[3].properties["total"] == 29.0);
  CHECK(out.events[4].properties["order_id"] == "R-0042-03-0190-R");
  CHECK(out.events[4].properties["transaction_type"] == "return");
  CHECK(out.events[4].properties["original_order_id"] == "R-0042-03-0190");

  REQUIRE(out.errors.size() == 3);
  CHECK(out.errors[0].message == "line 5: not a JSON document (partial or garbled line)");
  CHECK(out.errors[1].reason == "out_of_range");
  CHECK(out.errors[1].message ==
        "line 6: receipt R-0042-03-0192: field 'currency': 'XXX' is not ISO 4217");
  CHECK(out.errors[2].message == "line 7: items[0]: field 'qty' must be an integer");
}

TEST_CASE("POS loyalty numbers never leave without a key", "[adapters][pos]") {
  auto decoder = test::make_or_fail("pos_jsonl", nlohmann::json::object());
  DecodeOutput out;
  decoder->decode(test::frame_of(R"({"receipt_id":"R1","currency":"EUR","loyalty":"LOY-1",)"
                                 R"("items":[{"sku":"A","qty":1,"price":1}]})"),
                  out);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].identities.empty());
  CHECK(to_json_text(out.events[0]).find("LOY-1") == std::string::npos);
  auto short_key = make_decoder("pos_jsonl", {{"loyalty_key", "short"}}, DecoderContext{});
  REQUIRE(!short_key.ok());
  CHECK(short_key.error().message.starts_with("decoder pos_jsonl: option 'loyalty_key': must be"));
}

TEST_CASE("POS loyalty numbers go to the agent's pseudonymization when it hashes loyalty_id",
          "[adapters][pos]") {
  // The agent refuses loyalty_key together with its own pseudonymization (no double hashing),
  // so here the decoder hands the number over in-process and the agent hashes it.
  DecoderContext context;
  context.store_id = "store-1";
  context.agent_pseudonymizes_loyalty = true;
  auto decoder = make_decoder("pos_jsonl", nlohmann::json::object(), context);
  REQUIRE(decoder.ok());
  DecodeOutput out;
  (*decoder)->decode(test::frame_of(R"({"receipt_id":"R1","currency":"EUR","loyalty":"LOY-1",)"
                                    R"("items":[{"sku":"A","qty":1,"price":1}]})"),
                     out);
  REQUIRE(out.events.size() == 1);
  CHECK(out.events[0].identities.at("loyalty_id") == "LOY-1");
}

TEST_CASE("POS JSON lines refuse receipts over max_items", "[adapters][pos]") {
  auto decoder = test::make_or_fail("pos_jsonl", {{"max_items", 2}});
  DecodeOutput out;
  decoder->decode(test::frame_of(R"({"receipt_id":"R1","currency":"EUR","items":[)"
                                 R"({"sku":"A","qty":1,"price":1},{"sku":"B","qty":1,"price":1},)"
                                 R"({"sku":"C","qty":1,"price":1}]})",
                                 0, 3),
                  out);
  CHECK(out.events.empty());
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].reason == "too_many_items");
  CHECK(out.errors[0].message == "line 3: receipt has 3 items, more than max_items 2");
}

const nlohmann::json kCsvOptions = {
    {"loyalty_key", kKey},
    {"delimiter", ";"},
    {"columns",
     {{"receipt_id", "Bon"}, {"timestamp", "Zeit"}, {"register", "Kasse"}, {"type", "Art"},
      {"currency", "Waehrung"}, {"loyalty", "Kundenkarte"}, {"sku", "ArtNr"},
      {"name", "Bezeichnung"}, {"quantity", "Menge"}, {"unit_price", "Preis"},
      {"total", "Summe"}}}};

TEST_CASE("POS CSV maps columns from the header and groups rows into receipts",
          "[adapters][pos]") {
  auto decoder = test::make_or_fail("pos_csv", kCsvOptions);
  const auto frames = test::read_frames(test::frames_dir("pos") / "export.csv", 5'000);
  DecodeOutput out = test::decode_all(*decoder, frames);
  decoder->tick(5'000 + 1999, out);
  const std::size_t before_flush = out.events.size();
  decoder->tick(5'000 + 2000, out);  // flush_ms without a row: the last receipt is complete
  test::require_all_valid(out);
  CHECK(before_flush == 2);
  REQUIRE(out.events.size() == 3);
  const Event& sale = out.events[0];
  CHECK(sale.properties["order_id"] == "R-0187");
  CHECK(sale.properties["items"].size() == 2);
  CHECK(sale.properties["items"][0]["name"] == "Beans \"Yirgacheffe\" 1 kg");
  CHECK(sale.properties["total"] == 62.3);
  CHECK(sale.identities.at("loyalty_id") == crypto::hmac_sha256_hex(kKey, "LOY-4471209388"));
  CHECK(out.events[1].properties["transaction_type"] == "return");
  CHECK(out.events[1].properties["total"] == 12.5);
  CHECK(out.events[1].identities.empty());
  CHECK(out.events[2].properties["order_id"] == "R-0191");

  REQUIRE(out.errors.size() == 3);
  CHECK(out.errors[0].message == "line 5: column 'Menge': not an integer in +-1..10000: 'two'");
  // A row that cannot be split names no receipt for sure: the pending one is dropped too.
  CHECK(out.errors[1].message == "line 7: column 7: unterminated quote");
  CHECK(out.errors[2].reason == "dropped");
  CHECK(out.errors[2].message == "line 5: receipt R-0189: dropped because of a bad row");
}

TEST_CASE("POS CSV refuses a header without the required columns", "[adapters][pos]") {
  auto decoder = test::make_or_fail("pos_csv", nlohmann::json::object());
  DecodeOutput out;
  decoder->decode(test::frame_of("receipt_id,sku,qty,unit_price", 0, 1), out);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].reason == "header");
  CHECK(out.errors[0].message ==
        "line 1: header: missing column 'quantity' (field quantity)");
  decoder->decode(test::frame_of("receipt_id,sku,quantity,unit_price,currency", 0, 2), out);
  decoder->decode(test::frame_of("R1,A,1,2.5,EUR", 0, 3), out);
  decoder->decode(test::frame_of("R2,A,1,2.5,EUR", 0, 4), out);
  test::require_all_valid(out);
  CHECK(out.events.size() == 1);
  CHECK(out.errors.size() == 1);
}

TEST_CASE("the POS currency list is the purchase schema's enum", "[adapters][pos]") {
  const auto schema = nlohmann::json::parse(aisle::test::read_file(
      std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/aisle/purchase/jsonschema/1-0-0.json"));
  const auto& codes = schema["$defs"]["currency"]["enum"];
  REQUIRE(codes.size() == pos::kCurrencyCodes.size());
  for (std::size_t k = 0; k < codes.size(); ++k) CHECK(codes[k] == pos::kCurrencyCodes[k]);
}

}  // namespace
}  // namespace aisle::adapters
