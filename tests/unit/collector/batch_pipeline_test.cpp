#include "collector/ingest/batch_pipeline.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "collector/store/sqlite_event_store.hpp"
#include "common/schema/registry.hpp"
#include "common/uuid.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const std::string kTopic = "aisle/v1/acme/store-1/agent-1/events";
constexpr std::uint32_t kWindow = 8;

// Batch `seq` of one agent stream, `per_batch` product_view events with fresh ids.
std::string batch_payload(std::uint64_t seq, int per_batch, UuidV7Generator& ids) {
  const json templ = json::parse(test::read_file(std::string(AISLE_SCHEMAS_SOURCE_DIR) +
                                                 "/examples/product_view.json"));
  wire::BatchHeader h;
  h.tenant = "acme";
  h.store_id = "store-1";
  h.agent_id = "agent-1";
  h.stream_id = "stream-a";
  h.batch_seq = seq;
  h.first_seq = (seq - 1) * static_cast<std::uint64_t>(per_batch) + 1;
  h.last_seq = h.first_seq + static_cast<std::uint64_t>(per_batch) - 1;
  h.window = kWindow;
  std::vector<wire::BatchRecord> records;
  for (int i = 0; i < per_batch; ++i) {
    json e = templ;
    e["event_id"] = ids.next().to_string();
    e["source"] = {{"store_id", "store-1"}, {"channel", "kiosk"}, {"agent_id", "agent-1"}};
    records.push_back({h.first_seq + static_cast<std::uint64_t>(i), 'e', e.dump()});
  }
  auto payload = wire::encode_batch(h, records);
  REQUIRE(payload);
  return *payload;
}

}  // namespace

TEST_CASE("several decode workers commit every batch once, ack every batch and count no gap",
          "[collector][ingest]") {
  test::TempDir dir("aisle-pipeline");
  metrics::Registry registry;
  auto loaded = schema::Registry::load({AISLE_SCHEMAS_SOURCE_DIR});
  REQUIRE(loaded);
  EventValidator validator(std::make_shared<schema::RegistryHolder>(*loaded), batch_validator_options());
  BatchProcessor processor(validator, {});
  SqliteEventStoreOptions store_options;
  store_options.path = dir.file("collector.db");
  auto store = SqliteEventStore::open(store_options, SystemClock::instance(), registry);
  REQUIRE(store);
  StreamTracker tracker(registry);

  std::mutex mutex;
  std::map<std::uint64_t, wire::Ack> acks;  // by batch_seq
  BatchPipeline pipeline(
      processor, **store, tracker,
      [&](const std::string& topic, const std::string& payload) {
        CHECK(topic == "aisle/v1/acme/store-1/agent-1/acks");
        auto ack = wire::decode_ack(payload);
        REQUIRE(ack);
        std::lock_guard lock(mutex);
        acks[ack->batch_seq] = *ack;
        return ok_status();
      },
      SystemClock::instance(), registry, /*queue_capacity=*/16, /*workers=*/3);
  pipeline.start();

  UuidV7Generator ids;
  constexpr int kBatches = 60;
  constexpr int kPerBatch = 50;
  std::vector<std::string> payloads;
  for (std::uint64_t seq = 1; seq <= kBatches; ++seq) {
    payloads.push_back(batch_payload(seq, kPerBatch, ids));
  }
  for (const auto& payload : payloads) pipeline.submit({kTopic, payload});
  // A retransmission of batch 7 (its ack was lost) arrives while the others are in flight.
  pipeline.submit({kTopic, payloads[6]});
  pipeline.stop(std::chrono::seconds(30));

  REQUIRE(acks.size() == kBatches);
  for (const auto& [seq, ack] : acks) {
    INFO("batch " << seq);
    CHECK(ack.status == "committed");
    CHECK(ack.stream_id == "stream-a");
  }
  CHECK(registry.value("aisle_collector_events_stored_total") == kBatches * kPerBatch);
  // The retransmission is recognised by its receipt, whichever worker decoded it.
  CHECK(registry.value("aisle_collector_batches_total", {{"outcome", "duplicate"}}) == 1);
  CHECK(registry.value("aisle_collector_batches_total", {{"outcome", "committed"}}) == kBatches);
  // Out-of-order commits across workers are not gaps: every batch arrived.
  CHECK(registry.value("aisle_collector_sequence_gaps_total") == 0);
  const auto agents = tracker.agents();
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].contiguous_batch_seq == kBatches);
  CHECK(agents[0].gaps == 0);
}

}  // namespace aisle::collector
