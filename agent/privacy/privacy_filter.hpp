// PrivacyFilter: what the agent does to every valid event before it is stored in the outbox
// (docs/privacy.md), in this order:
//   1. pseudonymization: configured identity types and property fields are normalized and
//      replaced by their HMAC ("email" -> email_sha256, "phone" -> phone_sha256, loyalty_id in
//      place); a value that cannot be normalized rejects the event, naming the field;
//   2. consent: without `analytics` consent (denied in the event's own flags or in the consent
//      cache, looked up by the pseudonymized identities) the event is dropped or anonymized as
//      the tenant's policy says; `unknown` consent follows its own setting (default: allow);
//   3. data minimization: per-type allow-lists of top-level properties;
//   4. client IP truncation (context.ip);
//   5. the consent cache version it was accepted under is stamped (Event::consent_version).
// It also redacts the raw text of rejected input before it is quarantined, so that raw
// identifiers do not leave the store that way either.
//
// Immutable after create() (the consent cache it reads is thread-safe); called from every ingest
// thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/privacy/consent_cache.hpp"
#include "agent/privacy/privacy_options.hpp"
#include "agent/privacy/pseudonymizer.hpp"
#include "common/event.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/schema/registry.hpp"

namespace aisle::agent::privacy {

enum class PrivacyAction {
  kKeep,       // store (possibly pseudonymized, minimized, IP truncated)
  kAnonymize,  // store without identifiers (no analytics consent, policy "anonymize")
  kDrop,       // do not store (no analytics consent, policy "drop"); not an error
  kReject,     // an identifier that cannot be normalized: answered and quarantined (redacted)
};

class PrivacyFilter {
 public:
  // Loads the key (when pseudonymization is on) and checks the options against the schemas:
  // a minimization or anonymization list must keep every required property of every version of
  // its type, and a pseudonymized property must be a plain string property that accepts 64 hex
  // digits. Errors name the config key, the type and the property. `cache` may be null (no
  // consent enforcement from the collector; the events' own flags still count).
  static Result<std::unique_ptr<PrivacyFilter>> create(PrivacyOptions options,
                                                       const schema::Registry& registry,
                                                       ConsentCache* cache,
                                                       metrics::Registry& metrics);

  // Applies the steps above to a valid, stamped event. `properties_text` is the compact JSON
  // text of the properties on the ingest fast path (event.properties is then unused) and is
  // re-serialized only when a step changes the properties; null when event.properties holds
  // them. kReject appends errors naming the field.
  PrivacyAction apply(Event& event, std::string* properties_text,
                      std::vector<schema::ValidationError>& errors) const;

  // The raw text of rejected input as it may be quarantined: identity values of raw or
  // pseudonymized types and pseudonymized properties become "[redacted]", context.ip is
  // truncated. Input that is not a JSON object is dropped ("") when pseudonymization is on.
  // `redacted` tells whether anything was changed.
  std::string redact_record(std::string_view raw, bool& redacted) const;
  // True when undecodable frames of this adapter must be quarantined without their bytes.
  bool redacts_frames_of(std::string_view adapter) const;

  const PrivacyOptions& options() const { return options_; }
  ConsentCache* cache() const { return cache_; }

 private:
  PrivacyFilter(PrivacyOptions options, std::optional<Pseudonymizer> pseudonymizer,
                ConsentCache* cache, metrics::Registry& metrics);

  bool pseudonymize_identities(Event& event, std::vector<schema::ValidationError>& errors) const;
  ConsentAction consent_action(const Event& event) const;
  // Loads the properties from text when needed; true when they are in event.properties.
  bool load_properties(Event& event, const std::string* properties_text, bool& loaded) const;

  PrivacyOptions options_;
  std::optional<Pseudonymizer> pseudonymizer_;
  ConsentCache* cache_;
  metrics::Counter* pseudonymized_;
  metrics::Counter* dropped_;
  metrics::Counter* anonymized_;
  metrics::Counter* rejected_;
  metrics::Counter* minimized_;
  metrics::Counter* properties_removed_;
  metrics::Counter* ips_truncated_;
};

const char* consent_action_name(ConsentAction action);

}  // namespace aisle::agent::privacy
