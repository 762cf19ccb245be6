#include "collector/ingest/batch_processor.hpp"

#include <nlohmann/json.hpp>

#include "common/event_json.hpp"
#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

// An agent's own origin label ("http", "adapter:<name>") is short; anything longer is not kept.
constexpr std::size_t kMaxEdgeOriginBytes = 96;

std::string single_error(const std::string& path, const std::string& keyword,
                         const std::string& message) {
  return errors_to_json({{path, keyword, "", message}}).dump();
}

}  // namespace

StoredEvent to_stored_event(const Event& event, std::string payload, UnixMillis ingested_at) {
  StoredEvent stored;
  stored.event_id = event.event_id;
  stored.type = event.type;
  stored.schema = event.schema;
  stored.store_id = event.source.store_id;
  stored.agent_id = event.source.agent_id;
  stored.channel = channel_name(event.source.channel);
  stored.occurred_at = event.occurred_at;
  stored.received_at = event.received_at.value_or(ingested_at);
  stored.ingested_at = ingested_at;
  stored.payload = std::move(payload);
  return stored;
}

void BatchProcessor::reject_whole(ProcessedBatch& out, std::string reason_class,
                                  std::string message, std::string_view payload,
                                  UnixMillis received_at) const {
  QuarantineEntry entry;
  entry.reason = std::move(reason_class);
  entry.errors = single_error("", "batch", message);
  entry.raw = std::string(payload);
  if (out.reply_to) {
    entry.store_id = out.reply_to->store_id;
    entry.agent_id = out.reply_to->agent_id;
  }
  entry.origin = "mqtt";
  entry.received_at = received_at;
  entry.quarantined_at = received_at;
  out.request.events.clear();
  out.events.clear();
  out.request.quarantine.clear();
  out.request.quarantine.push_back(std::move(entry));
  out.rejected_whole = true;
  out.reject_reason = std::move(message);
}

ProcessedBatch BatchProcessor::process(std::string_view topic, std::string_view payload,
                                       UnixMillis received_at) const {
  ProcessedBatch out;
  auto address = wire::parse_events_topic(topic);
  if (!address) {
    reject_whole(out, "topic", "not an events topic: " + std::string(topic), payload,
                 received_at);
    return out;
  }
  out.reply_to = address;
  auto header = wire::decode_batch_header(payload);
  if (!header) {
    // Without a header the batch cannot be named, so it cannot be acknowledged either.
    reject_whole(out, "batch", header.error().message, payload, received_at);
    return out;
  }
  out.header = *header;
  if (header->tenant != address->tenant || header->store_id != address->store_id ||
      header->agent_id != address->agent_id) {
    reject_whole(out, "store_mismatch",
                 "batch claims " + header->tenant + "/" + header->store_id + "/" +
                     header->agent_id + " but arrived on " + std::string(topic),
                 payload, received_at);
    return out;
  }
  auto batch = wire::decode_batch(payload, limits_);
  if (!batch) {
    reject_whole(out, "batch", batch.error().message, payload, received_at);
    return out;
  }
  BatchReceipt receipt;
  receipt.stream_id = header->stream_id;
  receipt.batch_seq = header->batch_seq;
  receipt.tenant = header->tenant;
  receipt.store_id = header->store_id;
  receipt.agent_id = header->agent_id;
  receipt.first_seq = header->first_seq;
  receipt.last_seq = header->last_seq;
  out.request.receipt = std::move(receipt);
  out.request.events.reserve(batch->records.size());
  out.events.reserve(batch->records.size());

  for (const auto& record : batch->records) {
    if (record.kind == 'q') {
      // Quarantined at the edge: keep the agent's reason and raw input.
      QuarantineEntry entry;
      entry.origin = "agent";
      entry.store_id = header->store_id;
      entry.agent_id = header->agent_id;
      entry.quarantined_at = received_at;
      auto parsed = parse_json(record.json, JsonLimits{limits_.max_raw_bytes, 64});
      if (parsed && parsed->is_object()) {
        const auto& q = *parsed;
        entry.reason = q.value("reason", "agent");
        // "agent:http", "agent:adapter:door-main": which of the agent's inputs it came from.
        const auto origin = q.find("origin");
        if (origin != q.end() && origin->is_string()) {
          const auto& label = origin->get_ref<const std::string&>();
          if (!label.empty() && label.size() <= kMaxEdgeOriginBytes) entry.origin += ":" + label;
        }
        entry.errors = q.contains("errors") ? q["errors"].dump() : "[]";
        entry.raw = q.value("raw", std::string(record.json));
        entry.received_at = parse_rfc3339(q.value("received_at", "")).value_or(received_at);
      } else {
        entry.reason = "agent";
        entry.errors = single_error("", "parse", "unreadable quarantine record from the agent");
        entry.raw = std::string(record.json);
        entry.received_at = received_at;
      }
      out.request.quarantine.push_back(std::move(entry));
      continue;
    }
    Event event;
    std::vector<schema::ValidationError> errors;
    bool valid = validator_.check_record(record.json, event, nullptr, errors);
    if (valid && (event.source.store_id != header->store_id ||
                  event.source.agent_id != header->agent_id)) {
      errors.push_back({"/source", "const", "",
                        "event claims store '" + event.source.store_id + "' agent '" +
                            event.source.agent_id + "' inside a batch of " + header->store_id +
                            "/" + header->agent_id});
      valid = false;
    }
    if (!valid) {
      QuarantineEntry entry;
      entry.reason = errors.back().keyword == "const" && errors.back().instance_path == "/source"
                         ? "store_mismatch"
                         : rejection_class(errors);
      entry.errors = errors_to_json(errors).dump();
      entry.raw = std::string(record.json);
      entry.store_id = header->store_id;
      entry.agent_id = header->agent_id;
      entry.origin = "mqtt";
      entry.received_at = received_at;
      entry.quarantined_at = received_at;
      out.request.quarantine.push_back(std::move(entry));
      continue;
    }
    // The agent sent the canonical form (schema, event_id and received_at are required in
    // batches); store its text as is rather than re-serializing.
    out.request.events.push_back(to_stored_event(event, std::string(record.json), received_at));
    out.events.push_back(std::move(event));
  }
  return out;
}

EventValidatorOptions batch_validator_options(EventValidatorOptions base) {
  base.require_event_id = true;
  base.require_received_at = true;
  base.require_schema = true;
  return base;
}

}  // namespace aisle::collector
