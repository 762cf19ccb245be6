// WebhookDispatcher: delivers segment changes to registered webhooks (docs/segment-triggers.md,
// "Webhooks").
//
// As a ChangeChannel (the fanout's webhooks worker) it turns each change into one pending
// delivery per matching enabled webhook, stored in the WebhookStore before anything is sent.
// A pool of `workers` threads then POSTs them:
//   - per webhook, one delivery in flight at a time, in the order the changes were accepted;
//     a delivery being retried holds back the later ones of that webhook (strict order);
//   - 2xx: delivered. 5xx, 408, 429, timeouts and connection errors: retried after a full-jitter
//     exponential backoff (common/backoff.hpp). Other statuses (4xx, 3xx): not retried.
//   - after max_attempts failed attempts, or a non-retryable answer, the delivery moves to the
//     webhook's dead letters, which the API lists and can redeliver.
// Every request is signed: X-Aisle-Timestamp: <unix seconds>, X-Aisle-Signature:
// sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>; X-Aisle-Delivery carries the
// change_id (the idempotency key: delivery is at least once).
//
// Lifecycle: start() launches the workers (pending deliveries from before a restart are picked
// up); stop() interrupts waiting workers and joins them after their current request.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/segments/notify/change_fanout.hpp"
#include "collector/segments/notify/notify_options.hpp"
#include "collector/segments/notify/webhook_poster.hpp"
#include "collector/segments/notify/webhook_store.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::segments {

// The signature header value for a body sent at `timestamp` (unix seconds, as sent).
std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body);

// What registering a webhook takes (the API's body).
struct WebhookSpec {
  std::string url;
  std::string secret;  // "" = generate one (returned once, by the API's create answer)
  std::vector<std::string> segments;
  bool enabled = true;
};

class WebhookDispatcher final : public ChangeChannel {
 public:
  WebhookDispatcher(WebhookOptions options, std::unique_ptr<WebhookStore> store,
                    WebhookPosterFactory posters, metrics::Registry& metrics,
                    ClockPtr clock = SystemClock::instance());
  ~WebhookDispatcher() override;

  void start();
  void stop();

  // Fanout worker thread: stores the deliveries and wakes the workers.
  void deliver(std::vector<SegmentChange>& changes) override;

  // Registration (API threads). create() validates the spec: kInvalidArgument naming the field,
  // kResourceExhausted beyond max_webhooks.
  Result<Webhook> create(const WebhookSpec& spec);
  Result<std::vector<Webhook>> list();
  Result<std::optional<Webhook>> get(const std::string& id);
  Result<bool> remove(const std::string& id);
  Result<std::vector<DeadLetter>> dead_letters(const std::string& webhook_id, std::size_t limit);
  Result<std::size_t> redeliver(const std::string& webhook_id);

  WebhookStore& store() { return *store_; }

 private:
  void refresh_webhooks();
  // Wakes idle workers: new work may be due (taken under the lock, so no wake-up is lost).
  void poke();
  void work();
  // One attempt of one delivery; updates the store and the metrics.
  void attempt(WebhookPoster& poster, const Webhook& webhook, Delivery delivery);
  std::chrono::milliseconds backoff_delay(int failed_attempts);

  WebhookOptions options_;
  std::unique_ptr<WebhookStore> store_;
  WebhookPosterFactory posters_;
  ClockPtr clock_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // bumped by poke()
  std::vector<Webhook> webhooks_;   // registrations, refreshed on every change through the API
  std::set<std::string> in_flight_;  // webhooks with a delivery being attempted
  std::vector<std::thread> workers_;
  std::mt19937_64 random_;

  metrics::Counter& enqueued_;
  metrics::Counter& delivered_;
  metrics::Counter& retried_;
  metrics::Counter& failed_;
  metrics::Counter& dead_lettered_;
  metrics::Counter& store_errors_;
  metrics::Histogram& latency_;
};

}  // namespace aisle::collector::segments
