#include "agent/privacy/consent_sync.hpp"

#include "common/log.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::agent::privacy {
namespace {

const log::Logger kLog("agent.privacy");

constexpr const char* kUpdates = "aisle_agent_consent_updates_total";
constexpr const char* kUpdatesHelp = "Consent updates received from the collector, by result";

}  // namespace

ConsentSync::ConsentSync(ConsentCache& cache, Uplink& uplink, wire::AgentAddress address,
                         ClockPtr clock, std::chrono::milliseconds sync_timeout,
                         metrics::Registry& metrics)
    : cache_(cache),
      uplink_(uplink),
      address_(std::move(address)),
      clock_(std::move(clock)),
      sync_timeout_(sync_timeout),
      broadcast_topic_(wire::broadcast_topic(address_.tenant, "consent")),
      answer_topic_(wire::downlink_topic(address_, "consent")),
      request_topic_(wire::uplink_topic(address_, "consent_sync")),
      applied_(metrics.counter(kUpdates, kUpdatesHelp, {{"result", "applied"}})),
      gap_(metrics.counter(kUpdates, kUpdatesHelp, {{"result", "gap"}})),
      invalid_(metrics.counter(kUpdates, kUpdatesHelp, {{"result", "invalid"}})),
      failed_(metrics.counter(kUpdates, kUpdatesHelp, {{"result", "store_failed"}})),
      sync_requests_(metrics.counter("aisle_agent_consent_sync_requests_total",
                                     "Consent sync requests published")) {
  metrics.gauge_callback("aisle_agent_consent_cache_version",
                         "The collector consent version the agent's cache is complete up to", {},
                         [this] { return static_cast<double>(cache_.version()); });
  metrics.gauge_callback("aisle_agent_consent_cache_entries", "Identities in the consent cache", {},
                         [this] { return static_cast<double>(cache_.size()); });
}

void ConsentSync::attach() {
  uplink_.subscribe(broadcast_topic_, [this](std::string payload) { on_message(payload, false); });
  uplink_.subscribe(answer_topic_, [this](std::string payload) { on_message(payload, true); });
  uplink_.on_connected([this] { on_connected(); });
}

void ConsentSync::on_connected() {
  std::lock_guard lock(mutex_);
  sync_pending_ = false;  // an answer to a request of the previous connection may never come
  request_sync("connected");
}

void ConsentSync::request_sync(const char* reason) {
  const std::uint64_t since = cache_.version();
  auto status = uplink_.publish(request_topic_, wire::encode_consent_sync({since}));
  if (!status) {
    // Disconnected: the next connect asks again.
    kLog.debug("consent sync request not sent", {{"error", status.error().message}});
    return;
  }
  sync_pending_ = true;
  sync_sent_at_ = clock_->now_steady();
  sync_requests_.inc();
  kLog.info("consent sync requested", {{"since_version", since}, {"reason", reason}});
}

void ConsentSync::on_message(const std::string& payload, bool from_sync_answer) {
  auto update = wire::decode_consent_update(payload);
  if (!update) {
    invalid_.inc();
    kLog.warn("invalid consent update ignored", {{"error", update.error().message}});
    return;
  }
  std::lock_guard lock(mutex_);
  highest_seen_ = std::max(highest_seen_, update->to_version);
  auto result = cache_.apply(*update);
  if (!result) {
    failed_.inc();
    kLog.error("consent update not stored", {{"error", result.error().message}});
    return;
  }
  const bool sync_expired = sync_pending_ && clock_->now_steady() - sync_sent_at_ >= sync_timeout_;
  if (result->outcome == ApplyOutcome::kGap) {
    gap_.inc();
    ++gaps_;
    kLog.info("consent update above the cache version",
              {{"from_version", update->from_version}, {"cache_version", result->version}});
    if (!sync_pending_ || sync_expired) request_sync("gap");
    return;
  }
  applied_.inc();
  ++updates_applied_;
  kLog.debug("consent update applied", {{"to_version", result->version},
                                        {"stored", result->entries_stored},
                                        {"ignored", result->entries_ignored}});
  if (from_sync_answer && !update->more) sync_pending_ = false;
  if (result->version < highest_seen_ && (!sync_pending_ || sync_expired)) {
    request_sync("behind");
  }
}

nlohmann::json ConsentSync::status() const {
  std::lock_guard lock(mutex_);
  return {{"version", cache_.version()},
          {"entries", cache_.size()},
          {"sync_pending", sync_pending_},
          {"updates_applied", updates_applied_},
          {"gaps", gaps_}};
}

}  // namespace aisle::agent::privacy
