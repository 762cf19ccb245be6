// IngestService: the Ingest implementation over an EventValidator and an Outbox.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "agent/ingest/ingest.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/privacy/privacy_filter.hpp"
#include "common/clock.hpp"
#include "common/event_validator.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"

namespace aisle::agent {

struct IngestOptions {
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  std::set<std::string, std::less<>> critical_types;  // never evicted
  std::set<std::string, std::less<>> bulk_types;      // evicted first
  std::size_t max_quarantine_raw_bytes = 64 * 1024;   // raw input kept per quarantine record
};

class IngestService final : public Ingest {
 public:
  // `privacy` (owned by the caller, may be null: no privacy processing) is applied to every valid
  // event before it is stored, and redacts the raw text of quarantined input.
  IngestService(const EventValidator& validator, Outbox& outbox, IngestOptions options,
                ClockPtr clock, metrics::Registry& metrics,
                const privacy::PrivacyFilter* privacy = nullptr);

  IngestReport ingest_records(const std::vector<RawRecord>& records,
                              const IngestOrigin& origin) override;
  IngestReport ingest_events(std::vector<Event> events, const IngestOrigin& origin) override;
  Status quarantine_frame(std::string raw, std::string reason,
                          std::vector<schema::ValidationError> errors,
                          const IngestOrigin& origin) override;

  Priority priority_of(std::string_view type) const;

  // Sees every event the privacy policy admits (pseudonymized, before the outbox commit), on the
  // ingesting thread; `properties_json` is the properties' text on the fast path, else "" (then
  // event.properties holds them). Set before the first ingest (not synchronized); must not block.
  using AdmittedObserver =
      std::function<void(const Event& event, std::string_view properties_json)>;
  void set_admitted_observer(AdmittedObserver observer) {
    admitted_observer_ = std::move(observer);
  }

 private:
  // Checks the store, stamps ids and times. False (with an error) for another store's event.
  bool stamp(Event& event, std::vector<schema::ValidationError>& errors);
  // `device_frame`: raw bytes of an undecodable adapter frame rather than an event record.
  OutboxRecord quarantine_record(std::string_view raw, std::string_view reason,
                                 const std::vector<schema::ValidationError>& errors,
                                 const IngestOrigin& origin, bool device_frame = false);
  // The privacy policy on a valid, stamped event and, when it is kept, its outbox record
  // appended to `out` (properties_json: the validator's text of the properties, or null to
  // serialize event.properties).
  enum class Admission { kQueued, kDropped, kRejected };
  Admission admit(Event& event, std::string* properties_json,
                  std::vector<schema::ValidationError>& errors, std::vector<OutboxRecord>& out);
  // Appends the valid records (in `indexes` order) and then the quarantine records in one
  // outbox transaction and completes the report.
  IngestReport commit(std::vector<OutboxRecord>&& records, std::vector<OutboxRecord>&& quarantined,
                      std::vector<std::size_t>&& indexes, IngestReport&& report);

  const EventValidator& validator_;
  Outbox& outbox_;
  IngestOptions options_;
  ClockPtr clock_;
  UuidV7Generator ids_;
  metrics::Registry& metrics_;
  const privacy::PrivacyFilter* privacy_;
  AdmittedObserver admitted_observer_;
  metrics::Counter* accepted_[3];
  metrics::Counter* duplicates_;
  metrics::Counter* refused_;
  metrics::Counter* storage_failures_;
};

}  // namespace aisle::agent
