#include "collector/segments/notify/webhook_dispatcher.hpp"

#include <algorithm>

#include "collector/segments/notify/change_message.hpp"
#include "common/backoff.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "common/uuid.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.webhooks");

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxSegmentsPerWebhook = 100;

bool retryable(const PostResult& r) {
  return r.status == 0 || r.status >= 500 || r.status == 408 || r.status == 429;
}

bool valid_segment_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == ':';
  });
}

Status validate(const WebhookSpec& spec) {
  const auto& url = spec.url;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return make_error(ErrorCode::kInvalidArgument, "url: must start with http:// or https://");
  }
  if (url.size() > kMaxUrlBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "url: longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  }
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return make_error(ErrorCode::kInvalidArgument, "url: contains spaces or control characters");
  }
  if (!spec.secret.empty() && (spec.secret.size() < 16 || spec.secret.size() > 256)) {
    return make_error(ErrorCode::kInvalidArgument, "secret: must be 16 to 256 characters");
  }
  if (spec.segments.size() > kMaxSegmentsPerWebhook) {
    return make_error(ErrorCode::kInvalidArgument,
                      "segments: more than " + std::to_string(kMaxSegmentsPerWebhook));
  }
  for (std::size_t i = 0; i < spec.segments.size(); ++i) {
    if (!valid_segment_id(spec.segments[i])) {
      return make_error(ErrorCode::kInvalidArgument,
                        "segments[" + std::to_string(i) +
                            "]: must be 1 to 128 characters of [A-Za-z0-9_.:-]");
    }
  }
  return ok_status();
}

}  // namespace

std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body) {
  return "sha256=" + crypto::hmac_sha256_hex(secret, timestamp + "." + body);
}

WebhookDispatcher::WebhookDispatcher(WebhookOptions options, std::unique_ptr<WebhookStore> store,
                                     WebhookPosterFactory posters, metrics::Registry& metrics,
                                     ClockPtr clock)
    : options_(std::move(options)),
      store_(std::move(store)),
      posters_(std::move(posters)),
      clock_(std::move(clock)),
      random_(std::random_device{}()),
      enqueued_(metrics.counter("aisle_collector_webhook_enqueued_total",
                                "Webhook deliveries queued (one per change and matching webhook)")),
      delivered_(metrics.counter("aisle_collector_webhook_deliveries_total",
                                 "Webhook delivery attempts by outcome",
                                 {{"outcome", "delivered"}})),
      retried_(metrics.counter("aisle_collector_webhook_deliveries_total",
                               "Webhook delivery attempts by outcome", {{"outcome", "retried"}})),
      failed_(metrics.counter("aisle_collector_webhook_deliveries_total",
                              "Webhook delivery attempts by outcome", {{"outcome", "failed"}})),
      dead_lettered_(metrics.counter("aisle_collector_webhook_dead_letters_total",
                                     "Webhook deliveries moved to the dead letters")),
      store_errors_(metrics.counter("aisle_collector_webhook_store_errors_total",
                                    "Webhook database operations that failed")),
      latency_(metrics.histogram("aisle_collector_webhook_delivery_latency_seconds",
                                 "From a change's acceptance to its delivery's 2xx answer",
                                 metrics::latency_buckets_seconds())) {
  if (options_.workers == 0) options_.workers = 1;
  if (options_.max_attempts == 0) options_.max_attempts = 1;
  WebhookStore* raw = store_.get();
  metrics.gauge_callback("aisle_collector_webhook_pending", "Webhook deliveries not yet delivered",
                         {}, [raw] { return static_cast<double>(raw->pending_count().value_or(0)); });
  metrics.gauge_callback("aisle_collector_webhook_dead_letters",
                         "Webhook deliveries in the dead letters", {},
                         [raw] { return static_cast<double>(raw->dead_letter_count().value_or(0)); });
  refresh_webhooks();
}

WebhookDispatcher::~WebhookDispatcher() { stop(); }

void WebhookDispatcher::refresh_webhooks() {
  auto list = store_->list();
  if (!list) {
    store_errors_.inc();
    kLog.error("cannot read webhook registrations", {{"error", list.error().message}});
    return;
  }
  {
    const std::lock_guard lock(mutex_);
    webhooks_ = std::move(*list);
    ++generation_;
  }
  wake_.notify_all();
}

void WebhookDispatcher::poke() {
  {
    const std::lock_guard lock(mutex_);
    ++generation_;
  }
  wake_.notify_all();
}

void WebhookDispatcher::start() {
  init_curl_once();
  const std::lock_guard lock(mutex_);
  if (!workers_.empty()) return;
  stopping_ = false;
  for (std::size_t i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { work(); });
  }
  kLog.info("webhook delivery started", {{"workers", options_.workers},
                                         {"webhooks", webhooks_.size()},
                                         {"pending", store_->pending_count().value_or(-1)}});
}

void WebhookDispatcher::stop() {
  std::vector<std::thread> workers;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    workers.swap(workers_);
  }
  wake_.notify_all();
  for (auto& w : workers) w.join();
}

void WebhookDispatcher::deliver(std::vector<SegmentChange>& changes) {
  std::vector<Webhook> hooks;
  {
    const std::lock_guard lock(mutex_);
    hooks = webhooks_;
  }
  const UnixMillis now = clock_->now_unix_ms();
  std::vector<Delivery> deliveries;
  for (const auto& change : changes) {
    std::string body;
    for (const auto& hook : hooks) {
      if (!hook.enabled || !hook.wants(change.segment_id)) continue;
      if (body.empty()) body = change_json(change);
      Delivery d;
      d.webhook_id = hook.id;
      d.change_id = change.change_id;
      d.event_type = change.kind == SegmentChangeKind::kEntered ? "segment_entered"
                                                                 : "segment_exited";
      d.body = body;
      d.next_attempt_at = now;
      d.created_at = now;
      deliveries.push_back(std::move(d));
    }
  }
  if (deliveries.empty()) return;
  const auto pending = store_->pending_count().value_or(0);
  if (pending + static_cast<std::int64_t>(deliveries.size()) >
      static_cast<std::int64_t>(options_.max_pending)) {
    // Receivers are down for long: keep accepting changes, but as dead letters (redeliverable)
    // rather than growing the pending queue without bound.
    for (const auto& d : deliveries) {
      DeadLetter l{0, d.webhook_id, d.change_id, d.event_type, d.body, 0, now, now,
                   "pending limit reached (segments.webhooks.max_pending)"};
      if (auto s = store_->add_dead_letter(l); !s) {
        store_errors_.inc();
      } else {
        dead_lettered_.inc();
      }
    }
    kLog.warn("webhook pending limit reached; changes dead-lettered",
              {{"pending", pending}, {"changes", deliveries.size()}});
    return;
  }
  auto added = store_->enqueue(deliveries);
  if (!added) {
    store_errors_.inc();
    kLog.error("cannot queue webhook deliveries; these changes are not delivered to webhooks",
               {{"deliveries", deliveries.size()}, {"error", added.error().message}});
    return;
  }
  enqueued_.inc(static_cast<double>(*added));
  poke();
}

std::chrono::milliseconds WebhookDispatcher::backoff_delay(int failed_attempts) {
  std::uint64_t seed = 0;
  {
    const std::lock_guard lock(mutex_);
    seed = random_();
  }
  Backoff backoff(options_.backoff_base, options_.backoff_cap, seed);
  for (int i = 1; i < failed_attempts && backoff.ceiling_ms() < options_.backoff_cap.count(); ++i) {
    (void)backoff.next();
  }
  return backoff.next();
}

void WebhookDispatcher::work() {
  WebhookPosterPtr poster = posters_();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const std::uint64_t seen = generation_;
    // The query runs under the dispatcher's lock, so a head another worker just finished (its
    // store update precedes its in_flight_ removal) is never picked again.
    auto heads = store_->due_heads(clock_->now_unix_ms(), in_flight_.size() + options_.workers);
    std::optional<Delivery> picked;
    std::optional<Webhook> hook;
    if (!heads) {
      store_errors_.inc();
      kLog.error("cannot read pending webhook deliveries", {{"error", heads.error().message}});
    } else {
      for (auto& d : *heads) {
        if (in_flight_.count(d.webhook_id)) continue;
        auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                               [&](const Webhook& w) { return w.id == d.webhook_id; });
        if (it == webhooks_.end() || !it->enabled) continue;
        hook = *it;
        picked = std::move(d);
        break;
      }
    }
    if (picked) {
      in_flight_.insert(picked->webhook_id);
      lock.unlock();
      attempt(*poster, *hook, std::move(*picked));
      lock.lock();
      in_flight_.erase(hook->id);
      ++generation_;  // the webhook's next delivery may be due
      wake_.notify_all();
      continue;
    }
    // Nothing to do now: sleep until the earliest retry is due, new work arrives, or at most
    // poll_interval (a safety net for timing races).
    auto wait = options_.poll_interval;
    if (auto next = store_->next_due(); next && *next) {
      const auto until = std::chrono::milliseconds(**next - clock_->now_unix_ms());
      if (until.count() > 0) wait = std::min(wait, until);
    }
    wake_.wait_for(lock, wait, [&] { return stopping_ || generation_ != seen; });
  }
}

void WebhookDispatcher::attempt(WebhookPoster& poster, const Webhook& webhook, Delivery d) {
  const UnixMillis now = clock_->now_unix_ms();
  const std::string timestamp = std::to_string(now / 1000);
  PostRequest request;
  request.url = webhook.url;
  request.body = d.body;
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.request_timeout;
  request.headers = {{"Content-Type", "application/json"},
                     {"X-Aisle-Event", d.event_type},
                     {"X-Aisle-Delivery", d.change_id},
                     {"X-Aisle-Webhook", webhook.id},
                     {"X-Aisle-Timestamp", timestamp},
                     {"X-Aisle-Signature", webhook_signature(webhook.secret, timestamp, d.body)}};
  const PostResult result = poster.post(request);
  const UnixMillis done = clock_->now_unix_ms();
  if (result.status >= 200 && result.status < 300) {
    if (auto s = store_->mark_delivered(d.id); !s) {
      // Sent but not marked: it will be sent again (at least once; receivers deduplicate).
      store_errors_.inc();
      kLog.error("cannot mark a webhook delivery done; it will be repeated",
                 {{"webhook_id", webhook.id}, {"error", s.error().message}});
    }
    delivered_.inc();
    latency_.observe(static_cast<double>(std::max<UnixMillis>(0, done - d.created_at)) / 1000.0);
    return;
  }
  failed_.inc();
  const int attempts = d.attempts + 1;
  const std::string error = result.status != 0 ? "HTTP " + std::to_string(result.status)
                                               : (result.timed_out ? "timeout: " : "") + result.error;
  if (retryable(result) && attempts < static_cast<int>(options_.max_attempts)) {
    const auto delay = backoff_delay(attempts);
    if (auto s = store_->reschedule(d.id, attempts, done + delay.count(), error); !s) {
      store_errors_.inc();
    }
    retried_.inc();
    kLog.debug("webhook delivery failed; retrying",
               {{"webhook_id", webhook.id}, {"change_id", d.change_id}, {"attempts", attempts},
                {"delay_ms", delay.count()}, {"error", error}});
    return;
  }
  if (auto s = store_->dead_letter(d.id, attempts, done, error); !s) {
    store_errors_.inc();
    kLog.error("cannot dead-letter a webhook delivery",
               {{"webhook_id", webhook.id}, {"error", s.error().message}});
    return;
  }
  dead_lettered_.inc();
  kLog.warn("webhook delivery dead-lettered",
            {{"webhook_id", webhook.id}, {"change_id", d.change_id}, {"attempts", attempts},
             {"retryable", retryable(result)}, {"error", error}});
}

Result<Webhook> WebhookDispatcher::create(const WebhookSpec& spec) {
  if (auto s = validate(spec); !s) return s.error();
  auto existing = store_->list();
  if (!existing) return existing.error();
  if (existing->size() >= options_.max_webhooks) {
    return make_error(ErrorCode::kResourceExhausted,
                      "webhook limit reached (" + std::to_string(options_.max_webhooks) +
                          ", segments.webhooks.max_webhooks)");
  }
  static UuidV7Generator ids;
  Webhook w;
  w.id = ids.next().to_string();
  w.url = spec.url;
  w.secret = spec.secret.empty() ? crypto::random_hex(32) : spec.secret;
  w.segments = spec.segments;
  w.enabled = spec.enabled;
  w.created_at = clock_->now_unix_ms();
  if (auto s = store_->add(w); !s) return s.error();
  refresh_webhooks();
  kLog.info("webhook registered", {{"webhook_id", w.id}, {"url", w.url},
                                   {"segments", w.segments.size()}});
  return w;
}

Result<std::vector<Webhook>> WebhookDispatcher::list() { return store_->list(); }

Result<std::optional<Webhook>> WebhookDispatcher::get(const std::string& id) {
  return store_->get(id);
}

Result<bool> WebhookDispatcher::remove(const std::string& id) {
  auto removed = store_->remove(id);
  if (removed && *removed) {
    refresh_webhooks();
    kLog.info("webhook removed", {{"webhook_id", id}});
  }
  return removed;
}

Result<std::vector<DeadLetter>> WebhookDispatcher::dead_letters(const std::string& webhook_id,
                                                                std::size_t limit) {
  return store_->dead_letters(webhook_id, limit);
}

Result<std::size_t> WebhookDispatcher::redeliver(const std::string& webhook_id) {
  auto moved = store_->redeliver(webhook_id, clock_->now_unix_ms());
  if (moved) poke();
  return moved;
}

}  // namespace aisle::collector::segments
