#include "collector/privacy/privacy_hooks.hpp"

#include "common/event_json.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.privacy");

// Stored payloads were validated within the event limits already; this bound only guards the
// re-parse.
constexpr JsonLimits kPayloadLimits{16 * 1024 * 1024, 128};

}  // namespace

const char* no_consent_action_name(NoConsentAction action) {
  return action == NoConsentAction::kDrop ? "drop" : "anonymize";
}

std::optional<NoConsentAction> parse_no_consent_action(std::string_view text) {
  if (text == "drop") return NoConsentAction::kDrop;
  if (text == "anonymize") return NoConsentAction::kAnonymize;
  return std::nullopt;
}

PrivacyHooks::PrivacyHooks(PrivacyPolicy policy, IdentityLookups lookups, ProfileFeed feed,
                           metrics::Registry& metrics, std::size_t feed_queue_batches)
    : policy_(std::move(policy)),
      lookups_(std::move(lookups)),
      feed_(std::move(feed)),
      queue_(feed_queue_batches),
      discarded_erased_(metrics.counter("aisle_collector_privacy_events_total",
                                        "Events the privacy policy changed, by action",
                                        {{"action", "discarded_erased"}})),
      dropped_(metrics.counter("aisle_collector_privacy_events_total",
                               "Events the privacy policy changed, by action",
                               {{"action", "dropped_no_consent"}})),
      anonymized_(metrics.counter("aisle_collector_privacy_events_total",
                                  "Events the privacy policy changed, by action",
                                  {{"action", "anonymized"}})),
      unreadable_(metrics.counter(
          "aisle_collector_profile_feed_unreadable_total",
          "Stored events whose payload could not be re-read for identity resolution")) {
  metrics.gauge_callback("aisle_collector_profile_feed_queue_batches",
                         "Committed batches waiting for identity resolution", {},
                         [this] { return static_cast<double>(queue_.size()); });
}

PrivacyHooks::~PrivacyHooks() { stop(); }

void PrivacyHooks::start() {
  if (feeder_.joinable() || !feed_) return;
  feeder_ = std::thread([this] { feed_loop(); });
}

void PrivacyHooks::stop() {
  queue_.close();
  if (feeder_.joinable()) feeder_.join();
}

void PrivacyHooks::wait_idle() {
  std::unique_lock lock(idle_mutex_);
  const std::uint64_t target = queued_batches_;
  idle_.wait(lock, [&] { return fed_batches_ >= target; });
}

void PrivacyHooks::feed_loop() {
  while (true) {
    auto batch = queue_.pop(std::chrono::milliseconds(200));
    if (!batch) {
      if (queue_.closed()) return;
      continue;
    }
    feed_(std::move(*batch));
    {
      std::lock_guard lock(idle_mutex_);
      ++fed_batches_;
    }
    idle_.notify_all();
  }
}

PrivacyHooks::Verdict PrivacyHooks::judge(const Event& event) const {
  bool denied = event.consent && event.consent->analytics == ConsentState::kDenied;
  bool granted = event.consent && event.consent->analytics == ConsentState::kGranted;
  for (const auto& [type, value] : event.identities) {
    if (lookups_.is_erased && lookups_.is_erased(type, value)) return Verdict::kDiscardErased;
    if (!lookups_.consent_of) continue;
    // The profile's latest decision outranks what the producer believed at the time, except
    // that a denial anywhere wins: a stale "granted" must not undo a withdrawal.
    if (auto flags = lookups_.consent_of(type, value)) {
      if (flags->analytics == ConsentState::kDenied) denied = true;
      if (flags->analytics == ConsentState::kGranted) granted = true;
    }
  }
  if (policy_.always_keep_types.count(event.type) > 0) return Verdict::kKeep;
  if (event.identities.empty()) return Verdict::kKeep;  // nothing personal to protect
  if (!denied && (granted || policy_.unknown_analytics_granted)) return Verdict::kKeep;
  return policy_.without_analytics == NoConsentAction::kDrop ? Verdict::kDrop
                                                             : Verdict::kAnonymize;
}

bool PrivacyHooks::anonymize(StoredEvent& stored, Event& event) const {
  auto parsed = parse_json(stored.payload, kPayloadLimits);
  if (!parsed || !parsed->is_object()) return false;
  nlohmann::json& j = *parsed;
  j.erase("identities");
  j.erase("context");
  j.erase("consent");
  if (auto source = j.find("source"); source != j.end() && source->is_object()) {
    source->erase("device_id");
  }
  nlohmann::json kept = nlohmann::json::object();
  if (auto allowed = policy_.anonymous_properties.find(event.type);
      allowed != policy_.anonymous_properties.end()) {
    if (auto props = j.find("properties"); props != j.end() && props->is_object()) {
      for (auto& [key, value] : props->items()) {
        if (allowed->second.count(key) > 0) kept[key] = value;
      }
    }
  }
  j["properties"] = std::move(kept);
  stored.payload = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  event.identities.clear();
  event.context.reset();
  event.consent.reset();
  event.source.device_id.clear();
  return true;
}

void PrivacyHooks::before_commit(CommitRequest& request, std::vector<Event>& events) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < request.events.size(); ++i) {
    const Verdict verdict = judge(events[i]);
    bool keep = true;
    switch (verdict) {
      case Verdict::kKeep: break;
      case Verdict::kDiscardErased:
        discarded_erased_.inc();
        keep = false;
        break;
      case Verdict::kDrop:
        dropped_.inc();
        keep = false;
        break;
      case Verdict::kAnonymize:
        if (anonymize(request.events[i], events[i])) {
          anonymized_.inc();
        } else {
          // Cannot happen for a payload the validator accepted; dropping is the safe side.
          kLog.error("cannot anonymize a stored payload; dropped instead",
                     {{"event_id", request.events[i].event_id}});
          dropped_.inc();
          keep = false;
        }
        break;
    }
    if (!keep) continue;
    if (kept != i) {
      request.events[kept] = std::move(request.events[i]);
      events[kept] = std::move(events[i]);
    }
    ++kept;
  }
  request.events.resize(kept);
  events.resize(kept);
}

void PrivacyHooks::after_commit(const CommitRequest& request, const std::vector<Event>& events,
                                const CommitResult& result) {
  if (!feed_ || result.batch_already_committed) return;
  std::vector<Event> stored;
  stored.reserve(events.size());
  for (std::size_t i = 0; i < request.events.size(); ++i) {
    if (!result.duplicate_flags.empty() && result.duplicate_flags[i]) continue;
    if (events[i].identities.empty()) continue;  // nobody to resolve
    Event event = events[i];
    // The envelope was decoded without its properties (the payload is stored as sent); traits,
    // consent purposes and totals live there.
    auto parsed = parse_json(request.events[i].payload, kPayloadLimits);
    if (parsed && parsed->is_object() && parsed->contains("properties")) {
      event.properties = std::move((*parsed)["properties"]);
    } else {
      unreadable_.inc();
      kLog.error("stored payload unreadable for identity resolution",
                 {{"event_id", request.events[i].event_id}});
    }
    stored.push_back(std::move(event));
  }
  if (stored.empty()) return;
  // Counted before the push so wait_idle() covers it; a push after stop() is lost to identity
  // resolution only (the events are stored) and logged.
  {
    std::lock_guard lock(idle_mutex_);
    ++queued_batches_;
  }
  const std::size_t count = stored.size();
  if (!queue_.push(std::move(stored))) {
    {
      std::lock_guard lock(idle_mutex_);
      ++fed_batches_;
    }
    idle_.notify_all();
    kLog.error("identity resolution stopped; stored events not applied to profiles",
               {{"events", count}});
  }
}

}  // namespace aisle::collector
