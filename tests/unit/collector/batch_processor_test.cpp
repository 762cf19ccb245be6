#include "collector/ingest/batch_processor.hpp"

#include <catch2/catch.hpp>

#include "common/schema/registry.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const wire::AgentAddress kAddress{"acme", "store-1", "agent-1"};
const std::string kTopic = "aisle/v1/acme/store-1/agent-1/events";

std::shared_ptr<schema::RegistryHolder> registry() {
  auto loaded = schema::Registry::load({AISLE_SCHEMAS_SOURCE_DIR});
  REQUIRE(loaded);
  return std::make_shared<schema::RegistryHolder>(*loaded);
}

std::string event_text(const std::string& id, const std::string& store = "store-1",
                        const std::string& agent = "agent-1") {
  json e = json::parse(test::read_file(std::string(AISLE_SCHEMAS_SOURCE_DIR) +
                                       "/examples/product_view.json"));
  e["event_id"] = id;
  e["source"] = {{"store_id", store}, {"channel", "kiosk"}, {"agent_id", agent}};
  return e.dump();
}

wire::BatchHeader header(std::uint64_t first, std::uint64_t last, std::uint32_t dropped = 0) {
  wire::BatchHeader h;
  h.tenant = "acme";
  h.store_id = "store-1";
  h.agent_id = "agent-1";
  h.stream_id = "stream-a";
  h.batch_seq = 1;
  h.first_seq = first;
  h.last_seq = last;
  h.dropped = dropped;
  h.window = 4;
  return h;
}

}  // namespace

TEST_CASE("a valid batch becomes events to store and a receipt", "[collector][ingest]") {
  EventValidator validator(registry(), batch_validator_options());
  BatchProcessor processor(validator, {});
  auto payload = wire::encode_batch(
      header(1, 2), {{1, 'e', event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11")},
                     {2, 'e', event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a12")}});
  REQUIRE(payload);
  const ProcessedBatch out = processor.process(kTopic, *payload, 1'800'000'000'000);
  CHECK_FALSE(out.rejected_whole);
  REQUIRE(out.request.events.size() == 2);
  CHECK(out.request.quarantine.empty());
  CHECK(out.request.events[0].store_id == "store-1");
  CHECK(out.request.events[0].agent_id == "agent-1");
  CHECK(out.request.events[0].type == "product_view");
  CHECK(out.request.events[1].payload == event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a12"));
  REQUIRE(out.request.receipt);
  CHECK(out.request.receipt->stream_id == "stream-a");
  CHECK(out.reply_to == kAddress);
}

TEST_CASE("invalid events and another store's events in a batch are quarantined one by one",
          "[collector][ingest]") {
  EventValidator validator(registry(), batch_validator_options());
  BatchProcessor processor(validator, {});
  json no_sku = json::parse(event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a13"));
  no_sku["properties"].erase("sku");
  json no_id = json::parse(event_text("x"));
  no_id.erase("event_id");
  auto payload = wire::encode_batch(
      header(1, 5),
      {{1, 'e', event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11")},
       {2, 'e', no_sku.dump()},
       {3, 'e', event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a14", "store-2")},
       {4, 'e', no_id.dump()},
       {5, 'q', R"({"reason":"parse","errors":[{"path":"","keyword":"parse","message":"x"}],"raw":"{oops","received_at":"2026-11-28T10:00:00.000Z"})"}});
  REQUIRE(payload);
  const ProcessedBatch out = processor.process(kTopic, *payload, 1'800'000'000'000);
  CHECK(out.request.events.size() == 1);
  REQUIRE(out.request.quarantine.size() == 4);
  CHECK(out.request.quarantine[0].reason == "schema");
  CHECK(out.request.quarantine[0].raw == no_sku.dump());
  CHECK_THAT(out.request.quarantine[0].errors, Catch::Contains("/properties/sku"));
  CHECK(out.request.quarantine[1].reason == "store_mismatch");
  CHECK(out.request.quarantine[2].reason == "envelope");
  CHECK(out.request.quarantine[3].reason == "parse");
  CHECK(out.request.quarantine[3].origin == "agent");
  CHECK(out.request.quarantine[3].raw == "{oops");
}

TEST_CASE("an edge quarantine record keeps which of the agent's inputs it came from",
          "[collector][ingest]") {
  EventValidator validator(registry(), batch_validator_options());
  BatchProcessor processor(validator, {});
  const std::string long_label(200, 'x');
  auto payload = wire::encode_batch(
      header(1, 3),
      {{1, 'q', R"({"reason":"decode:malformed","errors":[],"raw":"in=x","origin":"adapter:door-main"})"},
       {2, 'q', R"({"reason":"schema","errors":[],"raw":"{}","origin":"http"})"},
       {3, 'q', R"({"reason":"schema","errors":[],"raw":"{}","origin":")" + long_label + R"("})"}});
  REQUIRE(payload);
  const ProcessedBatch out = processor.process(kTopic, *payload, 1'800'000'000'000);
  REQUIRE(out.request.quarantine.size() == 3);
  CHECK(out.request.quarantine[0].origin == "agent:adapter:door-main");
  CHECK(out.request.quarantine[0].reason == "decode:malformed");
  CHECK(out.request.quarantine[1].origin == "agent:http");
  CHECK(out.request.quarantine[2].origin == "agent");  // an implausible label is not kept
}

TEST_CASE("a batch that claims another store than its topic is rejected whole",
          "[collector][ingest]") {
  EventValidator validator(registry(), batch_validator_options());
  BatchProcessor processor(validator, {});
  wire::BatchHeader h = header(1, 1);
  h.store_id = "store-2";
  auto payload = wire::encode_batch(h, {{1, 'e', event_text("0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11")}});
  REQUIRE(payload);
  const ProcessedBatch out = processor.process(kTopic, *payload, 1);
  CHECK(out.rejected_whole);
  CHECK(out.request.events.empty());
  REQUIRE(out.request.quarantine.size() == 1);
  CHECK(out.request.quarantine[0].reason == "store_mismatch");
  CHECK(out.request.quarantine[0].raw == *payload);
  REQUIRE(out.header);  // named, so it can be answered "rejected"
}

TEST_CASE("undecodable payloads are quarantined whole, and without a header nothing is acked",
          "[collector][ingest]") {
  EventValidator validator(registry(), batch_validator_options());
  BatchProcessor processor(validator, {});
  const ProcessedBatch garbage = processor.process(kTopic, "\x28\xb5\x2f\xfd garbage", 1);
  CHECK(garbage.rejected_whole);
  CHECK_FALSE(garbage.header);
  REQUIRE(garbage.request.quarantine.size() == 1);
  CHECK(garbage.request.quarantine[0].reason == "batch");

  auto payload = wire::encode_batch(header(1, 1), {{1, 'e', "{}"}});
  REQUIRE(payload);
  std::string corrupt = *payload;
  corrupt.resize(corrupt.size() - 3);
  const ProcessedBatch truncated = processor.process(kTopic, corrupt, 1);
  CHECK(truncated.rejected_whole);
  CHECK(truncated.header);
  CHECK(truncated.request.quarantine[0].reason == "batch");
}

}  // namespace aisle::collector
