// BatchProcessor: one MQTT message from an agent -> what to commit and how to answer.
//
// Pure (no I/O): decodes and decompresses the batch, checks that the store and agent in it match
// the topic (a store may never write as another), validates every event, and turns everything it
// cannot accept into quarantine entries. A payload that can never be processed is quarantined
// whole and answered "rejected", so the agent stops resending it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "collector/store/event_store.hpp"
#include "common/clock.hpp"
#include "common/event_validator.hpp"
#include "common/wire/batch.hpp"
#include "common/wire/topics.hpp"

namespace aisle::collector {

struct ProcessedBatch {
  CommitRequest request;
  // Where the ack goes (from the topic) and the batch it names; without a readable header the
  // batch cannot be named, so nothing can be acknowledged.
  std::optional<wire::AgentAddress> reply_to;
  std::optional<wire::BatchHeader> header;
  bool rejected_whole = false;
  std::string reject_reason;
  // The decoded envelopes, parallel to request.events (properties left empty: the payload is
  // stored as sent), for the commit hooks and the latency metrics.
  std::vector<Event> events;
};

// What agent batches must carry on top of `base`: the edge has filled event_id, received_at and
// schema, so a record without them is quarantined rather than completed at the collector.
EventValidatorOptions batch_validator_options(EventValidatorOptions base = {});

class BatchProcessor {
 public:
  BatchProcessor(const EventValidator& validator, wire::DecodeLimits limits)
      : validator_(validator), limits_(limits) {}

  ProcessedBatch process(std::string_view topic, std::string_view payload,
                         UnixMillis received_at) const;

 private:
  void reject_whole(ProcessedBatch& out, std::string reason_class, std::string message,
                    std::string_view payload, UnixMillis received_at) const;

  const EventValidator& validator_;
  wire::DecodeLimits limits_;
};

// Turns one validated event into its stored form.
StoredEvent to_stored_event(const Event& event, std::string payload, UnixMillis ingested_at);

}  // namespace aisle::collector
