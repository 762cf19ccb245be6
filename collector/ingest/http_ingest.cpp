#include "collector/ingest/http_ingest.hpp"

#include "collector/ingest/batch_processor.hpp"
#include "common/crypto.hpp"
#include "common/event_json.hpp"
#include "common/log.hpp"
#include "common/pii_normalize.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.http_ingest");

// A quarantined event that came without an event_id gets one derived from its quarantine entry
// (time from when it was received, the rest from a digest of entry id and payload). Replaying
// the same entry twice (two operators, or a retry after a timeout) then yields the same id and
// the store's dedup keeps one copy; a fresh random id would store it twice.
std::string replay_event_id(const QuarantineEntry& entry) {
  const std::string digest =
      crypto::sha256_hex("aisle-quarantine-replay\n" + std::to_string(entry.id) + "\n" + entry.raw);
  const auto rand_a = static_cast<std::uint16_t>(std::stoul(digest.substr(0, 3), nullptr, 16));
  const std::uint64_t rand_b = std::stoull(digest.substr(3, 16), nullptr, 16);
  return make_uuid_v7(entry.received_at, rand_a, rand_b).to_string();
}

}  // namespace

HttpIngest::HttpIngest(const EventValidator& validator, EventStore& store, ClockPtr clock,
                       metrics::Registry& metrics)
    : validator_(validator),
      store_(store),
      clock_(clock),
      ids_(clock),
      metrics_(metrics),
      events_stored_(metrics.counter("aisle_collector_events_stored_total",
                                     "Events committed to the store")),
      events_duplicate_(metrics.counter("aisle_collector_duplicates_total",
                                        "Events already stored (same event_id)")) {}

bool HttpIngest::accept(Event& event, const ApiKey& key,
                        std::vector<schema::ValidationError>& errors) {
  if (!event.source.agent_id.empty()) {
    errors.push_back({"/source/agent_id", "const", "",
                      "agent_id is stamped by store agents; web and mobile sources omit it"});
    return false;
  }
  if (!key.store_id.empty() && event.source.store_id != key.store_id) {
    errors.push_back({"/source/store_id", "const", "",
                      "the write key of source '" + key.name + "' may only send store '" +
                          key.store_id + "'"});
    return false;
  }
  if (event.event_id.empty()) event.event_id = ids_.next().to_string();
  if (!event.received_at) event.received_at = clock_->now_unix_ms();
  if (!event.consent_version && consent_version_) event.consent_version = consent_version_();
  if (event.context && !event.context->ip.empty()) {
    // Not an address at all: removed rather than kept raw.
    event.context->ip = pii::truncate_ip(event.context->ip, ipv4_prefix_, ipv6_prefix_);
  }
  return true;
}

IngestReport HttpIngest::ingest(const std::vector<RawRecord>& records, const ApiKey& key,
                                const std::string& remote_addr) {
  IngestReport report;
  CommitRequest request;
  std::vector<Event> events;
  const UnixMillis now = clock_->now_unix_ms();
  for (std::size_t i = 0; i < records.size(); ++i) {
    Event event;
    std::string properties;
    std::vector<schema::ValidationError> errors;
    if (validator_.check_record(records[i].text, event, &properties, errors) &&
        accept(event, key, errors)) {
      std::string payload = to_json_text(event, properties);
      request.events.push_back(to_stored_event(event, std::move(payload), now));
      events.push_back(std::move(event));
      continue;
    }
    QuarantineEntry entry;
    entry.reason = rejection_class(errors);
    entry.errors = errors_to_json(errors).dump();
    entry.raw = std::string(records[i].text);
    entry.store_id = event.source.store_id;
    entry.origin = "http";
    entry.received_at = now;
    entry.quarantined_at = now;
    request.quarantine.push_back(std::move(entry));
    metrics_
        .counter("aisle_collector_quarantined_total", "Input quarantined, by reason",
                 {{"reason", rejection_class(errors)}})
        .inc();
    report.rejected.push_back({i, records[i].line, std::move(errors)});
  }
  if (hooks_) {
    // Withheld by the consent policy (or for an erased identifier): answered like the agent
    // answers its own drops, neither accepted nor rejected.
    const std::size_t before = request.events.size();
    hooks_->before_commit(request, events);
    report.dropped_no_consent = static_cast<std::uint32_t>(before - request.events.size());
  }
  if (request.events.empty() && request.quarantine.empty()) return report;
  auto result = store_.commit(request);
  if (!result) {
    kLog.error("commit failed", {{"error", result.error().message}, {"source", key.name},
                                 {"remote", remote_addr}});
    report.storage_error = result.error();
    return report;
  }
  if (hooks_) hooks_->after_commit(request, events, *result);
  report.accepted = result->stored;
  report.duplicates = result->duplicates;
  events_stored_.inc(result->stored);
  events_duplicate_.inc(result->duplicates);
  return report;
}

Result<ReplayReport> HttpIngest::replay(const std::vector<std::int64_t>& ids) {
  ReplayReport report;
  CommitRequest request;
  std::vector<Event> events;
  std::vector<std::int64_t> replayed_ids;
  const UnixMillis now = clock_->now_unix_ms();
  for (const std::int64_t id : ids) {
    auto entry = store_.get_quarantine(id);
    if (!entry) return entry.error();
    if (!*entry) {
      report.still_invalid.push_back({id, "not_found", {{"", "id", "", "no such entry"}}});
      continue;
    }
    if ((*entry)->reason == "batch" || (*entry)->reason == "topic") {
      report.still_invalid.push_back(
          {id, (*entry)->reason,
           {{"", "batch", "",
             "a whole batch that could not be decoded cannot be replayed event by event"}}});
      continue;
    }
    Event event;
    std::vector<schema::ValidationError> errors;
    if (!validator_.check_text((*entry)->raw, event, errors)) {
      report.still_invalid.push_back({id, rejection_class(errors), std::move(errors)});
      continue;
    }
    if (event.event_id.empty()) event.event_id = replay_event_id(**entry);
    if (!event.received_at) event.received_at = (*entry)->received_at;
    std::string payload = to_json_text(event);
    request.events.push_back(to_stored_event(event, std::move(payload), now));
    events.push_back(std::move(event));
    replayed_ids.push_back(id);
  }
  // A replayed event meets the same privacy policy as a new one; a withheld one still counts as
  // handled (marked replayed): it was valid, and policy, not the schema, kept it out.
  if (hooks_ && !request.events.empty()) hooks_->before_commit(request, events);
  if (!replayed_ids.empty()) {
    auto result = store_.commit(request);
    if (!result) return result.error();
    if (hooks_) hooks_->after_commit(request, events, *result);
    report.accepted = result->stored;
    report.duplicates = result->duplicates;
    events_stored_.inc(result->stored);
    events_duplicate_.inc(result->duplicates);
    if (auto status = store_.mark_replayed(replayed_ids, now); !status) return status.error();
  }
  metrics_.counter("aisle_collector_replayed_total", "Quarantined entries accepted by a replay")
      .inc(report.accepted + report.duplicates);
  return report;
}

}  // namespace aisle::collector
