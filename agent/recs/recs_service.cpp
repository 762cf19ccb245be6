#include "agent/recs/recs_service.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/privacy/consent_cache.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"

namespace aisle::agent::recs {
namespace {

const log::Logger kLog("agent.recs");

constexpr ServeMode kModes[] = {ServeMode::kLive, ServeMode::kCache, ServeMode::kOffline,
                                ServeMode::kPopularity};

ShopperHistoryOptions history_options(const RecsOptions& o) {
  return {o.history_shoppers, o.history_items, o.history_ttl};
}

LocalModelWeights model_weights(const RecsOptions& o) {
  return {o.popularity_weight, o.view_weight, o.cart_weight, o.purchase_weight};
}

std::string new_rec_id() {
  return "rec-" + crypto::random_hex(8);
}

Status write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return make_error(ErrorCode::kIo, "cannot write " + temporary);
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return make_error(ErrorCode::kIo, "cannot rename to " + path + ": " + error.message());
  return ok_status();
}

}  // namespace

RecsService::RecsService(RecsOptions options, std::string store_id, RecsUpstreamPtr upstream,
                         const privacy::ConsentCache* consent, ClockPtr clock,
                         metrics::Registry& metrics)
    : options_(std::move(options)),
      store_id_(std::move(store_id)),
      upstream_(std::move(upstream)),
      consent_(consent),
      clock_(std::move(clock)),
      metrics_(metrics),
      history_(history_options(options_), clock_),
      cache_(options_.cache_entries, options_.cache_ttl, clock_),
      breaker_(options_.breaker_failures, options_.breaker_cooldown, clock_),
      model_(model_weights(options_)) {
  for (const ServeMode mode : kModes) {
    const auto i = static_cast<int>(mode);
    served_[i] = &metrics.counter("aisle_agent_recs_requests_total",
                                  "Kiosk recommendation requests answered, by mode",
                                  {{"mode", serve_mode_name(mode)}});
    latency_[i] =
        &metrics.histogram("aisle_agent_recs_request_seconds",
                           "Time to answer a kiosk recommendation request, by mode",
                           metrics::latency_buckets_seconds(), {{"mode", serve_mode_name(mode)}});
  }
  upstream_timeouts_ = &metrics.counter("aisle_agent_recs_upstream_failures_total",
                                        "Live requests to the collector that failed, by reason",
                                        {{"reason", "timeout"}});
  upstream_errors_ = &metrics.counter("aisle_agent_recs_upstream_failures_total",
                                      "Live requests to the collector that failed, by reason",
                                      {{"reason", "error"}});
  upstream_rejected_ = &metrics.counter("aisle_agent_recs_upstream_failures_total",
                                        "Live requests to the collector that failed, by reason",
                                        {{"reason", "rejected"}});
  upstream_skipped_ =
      &metrics.counter("aisle_agent_recs_upstream_skipped_total",
                       "Requests not sent to the collector because the circuit breaker is open");
  denied_consent_ = &metrics.counter(
      "aisle_agent_recs_consent_denied_total",
      "Requests of shoppers without personalization consent (answered without their identity)");
  metrics.gauge_callback(
      "aisle_agent_recs_breaker_open",
      "1 while the circuit breaker keeps requests away from the collector", {},
      [this] { return breaker_.state() == CircuitBreaker::State::kClosed ? 0.0 : 1.0; });
  metrics.gauge_callback("aisle_agent_recs_cache_entries", "Cached live answers", {},
                         [this] { return static_cast<double>(cache_.size()); });
  metrics.gauge_callback("aisle_agent_recs_history_shoppers", "Identities with recent local items",
                         {}, [this] { return static_cast<double>(history_.shoppers()); });
  metrics.gauge_callback("aisle_agent_recs_snapshot_age_seconds",
                         "Age of the held snapshot (generated_at to now); -1 without one", {},
                         [this] {
                           const auto [generated_at, generation] = model_.snapshot_version();
                           (void)generation;
                           if (!model_.has_snapshot()) return -1.0;
                           return static_cast<double>(clock_->now_unix_ms() - generated_at) / 1000;
                         });
  load_persisted_snapshot();
}

RecsService::~RecsService() {
  stop();
}

void RecsService::start() {
  std::lock_guard lock(thread_mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void RecsService::stop() {
  {
    std::lock_guard lock(thread_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RecsService::run() {
  auto next_fetch = clock_->now_steady();
  std::unique_lock lock(thread_mutex_);
  while (!stopping_) {
    if (!pushed_.empty()) {
      std::vector<std::string> pushed;
      pushed.swap(pushed_);
      lock.unlock();
      for (const auto& payload : pushed) (void)apply_snapshot_payload(payload, "mqtt");
      lock.lock();
      continue;
    }
    if (upstream_ && clock_->now_steady() >= next_fetch) {
      lock.unlock();
      const Status fetched = refresh_snapshot();
      lock.lock();
      next_fetch =
          clock_->now_steady() + (fetched ? options_.snapshot_interval : options_.snapshot_retry);
      continue;
    }
    // The wait is on the real clock (a condition variable cannot wait on an injected one); a
    // manual clock in tests is paired with refresh_snapshot() calls instead.
    const auto wait = upstream_ ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                      next_fetch - clock_->now_steady())
                                : options_.snapshot_interval;
    wake_.wait_for(lock, std::max(wait, std::chrono::milliseconds(1)),
                   [this] { return stopping_ || !pushed_.empty(); });
  }
}

Status RecsService::refresh_snapshot() {
  if (!upstream_) {
    return make_error(ErrorCode::kFailedPrecondition, "no collector_url: snapshots come by MQTT");
  }
  auto payload = upstream_->fetch_snapshot(store_id_);
  if (!payload) {
    metrics_
        .counter("aisle_agent_recs_snapshot_errors_total",
                 "Snapshots that could not be fetched or were refused, by origin",
                 {{"origin", "http"}})
        .inc();
    kLog.warn("snapshot fetch failed; keeping the held one", {{"error", payload.error().message}});
    return payload.error();
  }
  return apply_snapshot_payload(*payload, "http");
}

Status RecsService::apply_snapshot_payload(const std::string& payload, const std::string& origin) {
  auto refuse = [&](const Error& error) -> Status {
    metrics_
        .counter("aisle_agent_recs_snapshot_errors_total",
                 "Snapshots that could not be fetched or were refused, by origin",
                 {{"origin", origin}})
        .inc();
    kLog.warn("snapshot refused", {{"origin", origin}, {"error", error.message}});
    return error;
  };
  auto snapshot = wire::decode_rec_snapshot(payload, options_.snapshot_limits);
  if (!snapshot) return refuse(snapshot.error());
  if (snapshot->store_id != store_id_) {
    return refuse(
        make_error(ErrorCode::kInvalidArgument, "snapshot is for store '" + snapshot->store_id +
                                                    "', this agent serves '" + store_id_ + "'"));
  }
  std::lock_guard lock(snapshot_mutex_);
  const auto held = model_.snapshot_version();
  const std::pair<UnixMillis, std::uint64_t> offered{snapshot->generated_at,
                                                     snapshot->model_generation};
  if (model_.has_snapshot() && offered < held) {
    // A late push or a fetch racing a push: keep the newer one (not an error).
    metrics_
        .counter("aisle_agent_recs_snapshot_stale_total",
                 "Snapshots older than the held one, ignored")
        .inc();
    return ok_status();
  }
  const std::size_t items = snapshot->items.size();
  const UnixMillis generated_at = snapshot->generated_at;
  model_.set_snapshot(std::move(*snapshot));
  metrics_
      .counter("aisle_agent_recs_snapshot_updates_total", "Snapshots installed, by origin",
               {{"origin", origin}})
      .inc();
  metrics_.gauge("aisle_agent_recs_snapshot_items", "Items in the held snapshot")
      .set(static_cast<double>(items));
  kLog.info("snapshot installed",
            {{"origin", origin}, {"items", items}, {"generated_at", generated_at}});
  if (origin != "file" && !options_.snapshot_path.empty()) {
    if (auto status = write_file_atomically(options_.snapshot_path, payload); !status) {
      kLog.warn("cannot persist the snapshot", {{"error", status.error().message}});
    }
  }
  return ok_status();
}

void RecsService::load_persisted_snapshot() {
  if (options_.snapshot_path.empty() || !std::filesystem::exists(options_.snapshot_path)) return;
  std::ifstream in(options_.snapshot_path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  (void)apply_snapshot_payload(bytes.str(), "file");
}

void RecsService::accept_pushed_snapshot(std::string payload) {
  {
    std::lock_guard lock(thread_mutex_);
    if (thread_.joinable() && !stopping_) {
      pushed_.push_back(std::move(payload));
      wake_.notify_all();
      return;
    }
  }
  (void)apply_snapshot_payload(payload, "mqtt");
}

void RecsService::observe(const Event& event, std::string_view properties_json) {
  history_.observe(event, properties_json);
}

std::size_t RecsService::erase(const std::vector<std::string>& identities) {
  std::size_t erased = history_.erase(identities);
  for (const auto& identity : identities) {
    erased += cache_.erase_prefix("i:" + identity + '\x1f');
  }
  return erased;
}

RecsService::Personalization RecsService::personalization_of(const RecQuery& query) const {
  if (!query.identity.empty()) {
    if (consent_ != nullptr) {
      if (const auto entry = consent_->find(query.identity)) {
        if (entry->flags.personalization == ConsentState::kGranted)
          return Personalization::kGranted;
        if (entry->flags.personalization == ConsentState::kDenied) return Personalization::kDenied;
      }
    }
    switch (history_.personalization(query.identity)) {
      case ConsentState::kGranted: return Personalization::kGranted;
      case ConsentState::kDenied: return Personalization::kDenied;
      case ConsentState::kUnknown: break;
    }
  }
  return Personalization::kUnknown;
}

void RecsService::count(ServeMode mode, std::chrono::steady_clock::time_point started) {
  const auto i = static_cast<int>(mode);
  served_[i]->inc();
  // Measured on the real clock: an injected manual clock would report zero.
  latency_[i]->observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

RecAnswer RecsService::handle(const RecQuery& original) {
  const auto started = std::chrono::steady_clock::now();
  const Personalization consent = personalization_of(original);
  RecQuery query = original;
  if (consent == Personalization::kDenied) {
    // Asked about anonymously: neither the collector nor the cache key learns who it is.
    denied_consent_->inc();
    query.identity.clear();
    query.profile.clear();
  }
  const bool identified = !query.identity.empty() || !query.profile.empty();
  const std::string key = RecCache::key_of(query, identified);

  if (upstream_) {
    if (breaker_.allow()) {
      auto live = upstream_->recommend(query, store_id_);
      if (live) {
        breaker_.record_success();
        live->mode = ServeMode::kLive;
        cache_.put(key, *live);
        count(ServeMode::kLive, started);
        return std::move(*live);
      }
      if (live.error().code == ErrorCode::kInvalidArgument) {
        // The collector is reachable but refused the request or answered garbage: the WAN is
        // fine, so the breaker must not open for it.
        breaker_.record_success();
        upstream_rejected_->inc();
      } else {
        breaker_.record_failure();
        (live.error().code == ErrorCode::kDeadlineExceeded ? upstream_timeouts_ : upstream_errors_)
            ->inc();
      }
      kLog.debug("live recommendation failed", {{"error", live.error().message}});
    } else {
      upstream_skipped_->inc();
    }
    if (auto cached = cache_.get(key)) {
      cached->mode = ServeMode::kCache;
      count(ServeMode::kCache, started);
      return std::move(*cached);
    }
  }
  const bool personalize = consent == Personalization::kGranted ||
                           (consent == Personalization::kUnknown &&
                            options_.unknown_consent == UnknownConsent::kPersonalize);
  RecAnswer answer = local_answer(query, personalize && !query.identity.empty());
  count(answer.mode, started);
  return answer;
}

RecAnswer RecsService::local_answer(const RecQuery& query, bool personalize) {
  RecAnswer answer;
  answer.rec_id = new_rec_id();
  const std::vector<RecentItem> history =
      personalize ? history_.recent(query.identity) : std::vector<RecentItem>{};
  answer.items = model_.recommend(history, query.context_item, query.n);
  const bool neighbours = !answer.items.empty() &&
                          answer.items.front().source == std::string_view(kLocalNeighbourSource);
  answer.mode = neighbours ? ServeMode::kOffline : ServeMode::kPopularity;
  answer.strategy = neighbours ? kLocalNeighbourSource : kLocalPopularitySource;
  return answer;
}

nlohmann::json RecsService::status() const {
  const auto [generated_at, generation] = model_.snapshot_version();
  nlohmann::json snapshot = {{"present", model_.has_snapshot()}};
  if (model_.has_snapshot()) {
    snapshot["generated_at"] = generated_at;
    snapshot["model_generation"] = generation;
  }
  return {{"collector", upstream_ ? options_.collector.url : ""},
          {"breaker", breaker_state_name(breaker_.state())},
          {"cache_entries", cache_.size()},
          {"history_shoppers", history_.shoppers()},
          {"snapshot", std::move(snapshot)}};
}

}  // namespace aisle::agent::recs
