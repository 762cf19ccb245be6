#include <catch2/catch.hpp>

#include "common/wire/batch.hpp"
#include "common/wire/topics.hpp"

using namespace aisle::wire;

namespace {

BatchHeader sample_header() {
  BatchHeader h;
  h.tenant = "acme";
  h.store_id = "store-1";
  h.agent_id = "agent-1";
  h.stream_id = "0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11";
  h.batch_seq = 7;
  h.first_seq = 100;
  h.last_seq = 104;
  h.dropped = 2;
  h.created_at = 1764325000000;
  h.sent_at = 1764325000010;
  h.window = 8;
  return h;
}

}  // namespace

TEST_CASE("topics are built and parsed", "[common][wire]") {
  const AgentAddress a{"acme", "store-1", "agent-1"};
  CHECK(events_topic(a) == "aisle/v1/acme/store-1/agent-1/events");
  CHECK(acks_topic(a) == "aisle/v1/acme/store-1/agent-1/acks");
  CHECK(downlink_topic(a, "consent") == "aisle/v1/acme/store-1/agent-1/down/consent");
  CHECK(shared_events_subscription("g") == "$share/g/aisle/v1/+/+/+/events");
  CHECK(parse_events_topic(events_topic(a)) == a);
  CHECK_FALSE(parse_events_topic("aisle/v1/acme/store-1/agent-1/acks"));
  CHECK_FALSE(parse_events_topic("aisle/v1/acme/store-1/events"));
  CHECK_FALSE(parse_events_topic("aisle/v1/acme//agent-1/events"));
}

TEST_CASE("a batch round-trips through encode and decode", "[common][wire]") {
  std::vector<BatchRecord> records = {{100, 'e', R"({"type":"page_view"})"},
                                      {102, 'q', R"({"reason":"schema"})"},
                                      {104, 'e', R"({"type":"tab\there"})"}};
  auto payload = encode_batch(sample_header(), records);
  REQUIRE(payload);
  auto batch = decode_batch(*payload);
  REQUIRE(batch);
  CHECK(batch->header.count == 3);
  CHECK(batch->header.batch_seq == 7);
  CHECK(batch->header.window == 8);
  REQUIRE(batch->records.size() == 3);
  CHECK(batch->records[1].seq == 102);
  CHECK(batch->records[1].kind == 'q');
  CHECK(batch->records[2].json == R"({"type":"tab\there"})");
}

TEST_CASE("a retransmission rebuilds only the header", "[common][wire]") {
  auto body = compress_body({{100, 'e', "{}"}, {101, 'e', "{}"}, {102, 'e', "{}"}});
  REQUIRE(body);
  BatchHeader h = sample_header();
  h.dropped = 2;
  h.attempt = 3;
  auto batch = decode_batch(assemble_payload(h, *body));
  REQUIRE(batch);
  CHECK(batch->header.attempt == 3);
  CHECK(batch->records.size() == 3);
}

TEST_CASE("the agent's backlog travels in the header and is optional", "[common][wire]") {
  auto body = compress_body({{100, 'e', "{}"}, {101, 'e', "{}"}, {102, 'e', "{}"}});
  REQUIRE(body);
  BatchHeader h = sample_header();
  h.backlog = 5120;
  std::string payload = assemble_payload(h, *body);
  auto batch = decode_batch(payload);
  REQUIRE(batch);
  CHECK(batch->header.backlog == 5120);
  // An agent from before the field: the header has no "backlog" member.
  const std::string member = R"(,"backlog":5120)";
  const auto at = payload.find(member);
  REQUIRE(at != std::string::npos);
  payload.erase(at, member.size());
  auto old = decode_batch(payload);
  REQUIRE(old);
  CHECK(old->header.backlog == 0);
  std::string negative = assemble_payload(h, *body);
  negative.replace(negative.find("5120"), 4, "-1");
  CHECK_THAT(decode_batch(negative).error().message, Catch::Contains("'backlog'"));
}

TEST_CASE("broken batches are refused with a reason", "[common][wire]") {
  auto payload = encode_batch(sample_header(), {{100, 'e', "{}"}, {101, 'e', "{}"}, {103, 'e', "{}"}});
  REQUIRE(payload);
  CHECK_THAT(decode_batch("not a batch").error().message, Catch::StartsWith("header:"));
  std::string corrupt = *payload;
  corrupt.back() ^= 0x5A;
  corrupt[corrupt.size() - 5] ^= 0x33;
  CHECK_FALSE(decode_batch(corrupt));
  const std::string truncated = payload->substr(0, payload->size() - 4);
  CHECK_FALSE(decode_batch(truncated));
  DecodeLimits small;
  small.max_raw_bytes = 10;
  CHECK_THAT(decode_batch(*payload, small).error().message, Catch::Contains("exceeds the limit"));
  BatchHeader wrong = sample_header();
  wrong.dropped = 0;  // count + dropped no longer covers the range
  auto mismatched = encode_batch(wrong, {{100, 'e', "{}"}});
  REQUIRE(mismatched);
  CHECK_THAT(decode_batch(*mismatched).error().message, Catch::Contains("cover"));
  auto outside = encode_batch(sample_header(), {{100, 'e', "{}"}, {101, 'e', "{}"}, {200, 'e', "{}"}});
  REQUIRE(outside);
  CHECK_THAT(decode_batch(*outside).error().message, Catch::Contains("outside the header's range"));
}

TEST_CASE("acks round-trip and unknown statuses are refused", "[common][wire]") {
  Ack ack;
  ack.stream_id = "s";
  ack.batch_seq = 9;
  ack.status = "rejected";
  ack.reason = "body: not a zstd frame";
  ack.stored = 1;
  auto decoded = decode_ack(encode_ack(ack));
  REQUIRE(decoded);
  CHECK(decoded->batch_seq == 9);
  CHECK(decoded->status == "rejected");
  CHECK(decoded->reason == ack.reason);
  CHECK_FALSE(decode_ack(R"({"v":1,"stream_id":"s","batch_seq":1,"status":"maybe","stored":0,"duplicates":0,"quarantined":0,"committed_at":0})"));
  CHECK_FALSE(decode_ack("[]"));
}
