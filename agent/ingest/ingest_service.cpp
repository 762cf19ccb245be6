#include "agent/ingest/ingest_service.hpp"

#include "common/event_json.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace aisle::agent {
namespace {

const log::Logger kLog("agent.ingest");

}  // namespace

IngestService::IngestService(const EventValidator& validator, Outbox& outbox,
                             IngestOptions options, ClockPtr clock, metrics::Registry& metrics,
                             const privacy::PrivacyFilter* privacy)
    : validator_(validator),
      outbox_(outbox),
      options_(std::move(options)),
      clock_(clock),
      ids_(clock),
      metrics_(metrics),
      privacy_(privacy) {
  for (int p = 0; p < 3; ++p) {
    accepted_[p] = &metrics.counter("aisle_agent_events_accepted_total",
                                    "Events committed to the outbox, by priority",
                                    {{"priority", priority_name(static_cast<Priority>(p))}});
  }
  duplicates_ = &metrics.counter("aisle_agent_events_duplicate_total",
                                 "Events already in the outbox (producer retries)");
  refused_ = &metrics.counter("aisle_agent_events_refused_total",
                              "Valid events refused because the outbox is full");
  storage_failures_ = &metrics.counter("aisle_agent_ingest_storage_failures_total",
                                       "Requests whose outbox commit failed");
}

Priority IngestService::priority_of(std::string_view type) const {
  if (options_.critical_types.count(type)) return Priority::kCritical;
  if (options_.bulk_types.count(type)) return Priority::kBulk;
  return Priority::kNormal;
}

bool IngestService::stamp(Event& event, std::vector<schema::ValidationError>& errors) {
  if (event.source.store_id != options_.store_id) {
    errors.push_back({"/source/store_id", "const", "",
                      "this agent serves store '" + options_.store_id + "', not '" +
                          event.source.store_id + "'"});
    return false;
  }
  if (!event.source.agent_id.empty() && event.source.agent_id != options_.agent_id) {
    errors.push_back({"/source/agent_id", "const", "",
                      "this agent is '" + options_.agent_id + "', not '" +
                          event.source.agent_id + "'"});
    return false;
  }
  event.source.agent_id = options_.agent_id;
  if (event.event_id.empty()) event.event_id = ids_.next().to_string();
  if (!event.received_at) event.received_at = clock_->now_unix_ms();
  return true;
}

OutboxRecord IngestService::quarantine_record(std::string_view raw, std::string_view reason,
                                              const std::vector<schema::ValidationError>& errors,
                                              const IngestOrigin& origin,
                                              bool device_frame) {
  const UnixMillis now = clock_->now_unix_ms();
  // Rejected input must not carry raw identifiers out of the store either.
  bool redacted = false;
  std::string kept;
  if (privacy_ == nullptr) {
    kept = std::string(raw);
  } else if (device_frame) {
    constexpr std::string_view kAdapterPrefix = "adapter:";
    const std::string_view name = origin.name;
    const std::string_view adapter =
        name.starts_with(kAdapterPrefix) ? name.substr(kAdapterPrefix.size()) : std::string_view();
    redacted = privacy_->redacts_frames_of(adapter);
    if (!redacted) kept = std::string(raw);
  } else {
    kept = privacy_->redact_record(raw, redacted);
  }
  const bool truncated = kept.size() > options_.max_quarantine_raw_bytes;
  if (truncated) kept.resize(options_.max_quarantine_raw_bytes);
  nlohmann::json record = {
      {"quarantine_id", ids_.next().to_string()},
      {"reason", reason},
      {"errors", errors_to_json(errors)},
      {"raw", std::move(kept)},
      {"raw_truncated", truncated},
      {"origin", origin.name},
      {"store_id", options_.store_id},
      {"agent_id", options_.agent_id},
      {"received_at", format_rfc3339_ms(now)}};
  if (redacted) record["raw_redacted"] = true;
  metrics_
      .counter("aisle_agent_events_rejected_total", "Invalid input, by reason and origin",
               {{"reason", std::string(reason)}, {"origin", origin.name}})
      .inc();
  OutboxRecord out;
  out.event_id = record["quarantine_id"].get<std::string>();
  out.kind = 'q';
  out.priority = Priority::kNormal;
  out.received_at = now;
  out.payload = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

IngestReport IngestService::ingest_records(const std::vector<RawRecord>& records,
                                           const IngestOrigin& origin) {
  IngestReport report;
  std::vector<OutboxRecord> outbox_records;
  std::vector<std::size_t> indexes;  // request index of each valid outbox record
  outbox_records.reserve(records.size());
  indexes.reserve(records.size());
  std::vector<OutboxRecord> quarantined;
  for (std::size_t i = 0; i < records.size(); ++i) {
    Event event;
    std::string properties;
    std::vector<schema::ValidationError> errors;
    if (validator_.check_record(records[i].text, event, &properties, errors) &&
        stamp(event, errors)) {
      const Admission admission = admit(event, &properties, errors, outbox_records);
      if (admission == Admission::kQueued) indexes.push_back(i);
      if (admission == Admission::kDropped) ++report.dropped_no_consent;
      if (admission != Admission::kRejected) continue;
    }
    quarantined.push_back(
        quarantine_record(records[i].text, rejection_class(errors), errors, origin));
    report.rejected.push_back({i, records[i].line, std::move(errors)});
  }
  return commit(std::move(outbox_records), std::move(quarantined), std::move(indexes),
                std::move(report));
}

IngestReport IngestService::ingest_events(std::vector<Event> events, const IngestOrigin& origin) {
  IngestReport report;
  std::vector<OutboxRecord> outbox_records;
  std::vector<std::size_t> indexes;
  std::vector<OutboxRecord> quarantined;
  for (std::size_t i = 0; i < events.size(); ++i) {
    Event& event = events[i];
    std::vector<schema::ValidationError> errors;
    if (validator_.check_properties(event, errors) && stamp(event, errors)) {
      const Admission admission = admit(event, nullptr, errors, outbox_records);
      if (admission == Admission::kQueued) indexes.push_back(i);
      if (admission == Admission::kDropped) ++report.dropped_no_consent;
      if (admission != Admission::kRejected) continue;
    }
    quarantined.push_back(
        quarantine_record(to_json_text(event), rejection_class(errors), errors, origin));
    report.rejected.push_back({i, 0, std::move(errors)});
  }
  return commit(std::move(outbox_records), std::move(quarantined), std::move(indexes),
                std::move(report));
}

IngestService::Admission IngestService::admit(Event& event, std::string* properties_json,
                                              std::vector<schema::ValidationError>& errors,
                                              std::vector<OutboxRecord>& out) {
  const auto action = privacy_ ? privacy_->apply(event, properties_json, errors)
                               : privacy::PrivacyAction::kKeep;
  if (action == privacy::PrivacyAction::kDrop) return Admission::kDropped;
  if (action == privacy::PrivacyAction::kReject) return Admission::kRejected;
  if (admitted_observer_) admitted_observer_(event, properties_json ? *properties_json : "");
  OutboxRecord record;
  record.priority = priority_of(event.type);
  record.received_at = *event.received_at;
  record.payload = properties_json ? to_json_text(event, *properties_json) : to_json_text(event);
  record.event_id = std::move(event.event_id);
  out.push_back(std::move(record));
  return Admission::kQueued;
}

Status IngestService::quarantine_frame(std::string raw, std::string reason,
                                       std::vector<schema::ValidationError> errors,
                                       const IngestOrigin& origin) {
  std::vector<OutboxRecord> records;
  records.push_back(quarantine_record(raw, reason, errors, origin, /*device_frame=*/true));
  auto result = outbox_.append(std::move(records));
  if (!result) return result.error();
  return ok_status();
}

IngestReport IngestService::commit(std::vector<OutboxRecord>&& records,
                                   std::vector<OutboxRecord>&& quarantined,
                                   std::vector<std::size_t>&& indexes, IngestReport&& report) {
  // Valid records first: their positions match `indexes`; the quarantine records follow them.
  const std::size_t valid_count = records.size();
  for (auto& q : quarantined) records.push_back(std::move(q));
  if (records.empty()) return std::move(report);
  std::vector<Priority> priorities;
  priorities.reserve(valid_count);
  for (std::size_t i = 0; i < valid_count; ++i) priorities.push_back(records[i].priority);
  auto result = outbox_.append(std::move(records));
  if (!result) {
    storage_failures_->inc();
    kLog.error("outbox commit failed", {{"error", result.error().message}});
    report.storage_error = result.error();
    return std::move(report);
  }
  std::set<std::string> refused_priorities;
  for (std::size_t i = 0; i < valid_count; ++i) {
    switch (result->outcomes[i]) {
      case AppendOutcome::kInserted:
        ++report.accepted;
        accepted_[static_cast<int>(priorities[i])]->inc();
        break;
      case AppendOutcome::kDuplicate:
        ++report.duplicates;
        duplicates_->inc();
        break;
      case AppendOutcome::kRefusedDiskLow:
        report.refused_disk_low = true;
        [[fallthrough]];
      case AppendOutcome::kRefusedFull:
        report.refused_full.push_back(indexes[i]);
        refused_priorities.insert(priority_name(priorities[i]));
        refused_->inc();
        break;
    }
  }
  for (const auto& p : refused_priorities) {
    report.refused_priorities += (report.refused_priorities.empty() ? "" : ",") + p;
  }
  return std::move(report);
}

}  // namespace aisle::agent
