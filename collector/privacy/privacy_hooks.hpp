// PrivacyHooks: the collector's CommitHooks (collector/ingest/commit_hooks.hpp).
//
// Before a commit it applies the tenant's consent policy, the same one the agents apply at the
// edge (docs/privacy.md), so an agent whose consent cache is stale cannot leak: an event of an
// erased identifier is discarded; an event whose shopper has no `analytics` consent (denied by
// the event itself, or by the profile's consent held here) is dropped or anonymized, as
// configured. Consent decisions themselves are always kept (they are the legal record).
// After the commit it feeds the newly stored events to identity resolution and broadcasts the
// consent changes that result.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/ingest/commit_hooks.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

enum class NoConsentAction { kDrop, kAnonymize };
const char* no_consent_action_name(NoConsentAction action);
std::optional<NoConsentAction> parse_no_consent_action(std::string_view text);

struct PrivacyPolicy {
  NoConsentAction without_analytics = NoConsentAction::kDrop;
  // What an identifier without any recorded analytics decision counts as. Granted by default
  // (legitimate-interest regimes); opt-in regimes set it false.
  bool unknown_analytics_granted = true;
  // Event types kept whole even without consent: the consent decisions themselves.
  std::set<std::string, std::less<>> always_keep_types = {"consent"};
  // Per event type, the top-level properties an anonymized event keeps (aggregate-safe ones:
  // totals, categories); everything else in `properties` goes, with identities and context.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> anonymous_properties;
};

// What the hooks need to know of identities (the profile service answers).
struct IdentityLookups {
  std::function<bool(std::string_view type, std::string_view value)> is_erased;
  std::function<std::optional<ConsentFlags>(std::string_view type, std::string_view value)>
      consent_of;
};

// Newly stored events (with their properties) go to identity resolution; whatever follows
// (consent broadcasts, merge audit records) is the sink's business.
using ProfileFeed = std::function<void(std::vector<Event>&& stored)>;

class PrivacyHooks final : public CommitHooks {
 public:
  PrivacyHooks(PrivacyPolicy policy, IdentityLookups lookups, ProfileFeed feed,
               metrics::Registry& metrics);

  void before_commit(CommitRequest& request, std::vector<Event>& events) override;
  void after_commit(const CommitRequest& request, const std::vector<Event>& events,
                    const CommitResult& result) override;

  enum class Verdict { kKeep, kDiscardErased, kDrop, kAnonymize };
  Verdict judge(const Event& event) const;

 private:
  // Rewrites the stored payload without identities, context, device and non-allowed properties.
  bool anonymize(StoredEvent& stored, Event& event) const;

  PrivacyPolicy policy_;
  IdentityLookups lookups_;
  ProfileFeed feed_;
  std::mutex feed_mutex_;  // after_commit from the MQTT pipeline and HTTP threads, in turn
  metrics::Counter& discarded_erased_;
  metrics::Counter& dropped_;
  metrics::Counter& anonymized_;
  metrics::Counter& unreadable_;
};

}  // namespace aisle::collector
