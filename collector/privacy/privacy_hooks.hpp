// PrivacyHooks: the collector's CommitHooks (collector/ingest/commit_hooks.hpp).
//
// Before a commit it applies the tenant's consent policy, the same one the agents apply at the
// edge (docs/privacy.md), so an agent whose consent cache is stale cannot leak: an event of an
// erased identifier is discarded; an event whose shopper has no `analytics` consent (denied by
// the event itself, or by the profile's consent held here) is dropped or anonymized, as
// configured. Consent decisions themselves are always kept (they are the legal record).
// After the commit it hands the newly stored events to identity resolution, which runs on its own
// thread: it costs tens of microseconds per event (profile state in SQLite), more than the
// commit itself, so it overlaps the next commits instead of adding to them. Its queue is bounded
// (`feed_queue_batches`); when identity resolution falls behind, after_commit blocks, which slows
// ingest down (backpressure) rather than letting profiles lag without limit.
#pragma once

#include <functional>
#include <map>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/ingest/bounded_queue.hpp"
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
               metrics::Registry& metrics, std::size_t feed_queue_batches = 64);
  ~PrivacyHooks() override;

  // Starts the identity-resolution thread (after_commit blocks until then when its queue fills).
  void start();
  // Feeds what is queued, then stops the thread. Idempotent.
  void stop();
  // Waits until everything handed to after_commit so far has been fed (tests, shutdown).
  void wait_idle();

  void before_commit(CommitRequest& request, std::vector<Event>& events) override;
  void after_commit(const CommitRequest& request, const std::vector<Event>& events,
                    const CommitResult& result) override;

  enum class Verdict { kKeep, kDiscardErased, kDrop, kAnonymize };
  Verdict judge(const Event& event) const;

 private:
  // Rewrites the stored payload without identities, context, device and non-allowed properties.
  bool anonymize(StoredEvent& stored, Event& event) const;

  void feed_loop();

  PrivacyPolicy policy_;
  IdentityLookups lookups_;
  ProfileFeed feed_;
  BoundedQueue<std::vector<Event>> queue_;
  std::thread feeder_;
  std::mutex idle_mutex_;
  std::condition_variable idle_;
  std::uint64_t queued_batches_ = 0;  // under idle_mutex_
  std::uint64_t fed_batches_ = 0;     // under idle_mutex_
  metrics::Counter& discarded_erased_;
  metrics::Counter& dropped_;
  metrics::Counter& anonymized_;
  metrics::Counter& unreadable_;
};

}  // namespace aisle::collector
