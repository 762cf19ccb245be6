// RecsService: the agent as the kiosks' recommendation server (docs/agent-recommendations.md).
// A kiosk's query is answered, in this order, by
//   1. the collector (mode "live"), unless the circuit breaker is open, within the timeout;
//   2. the cache of earlier live answers for the same shopper and context (mode "cache");
//   3. the store-local model: snapshot neighbours of the shopper's items seen in this store's
//      events, with the store's popularity (mode "offline");
//   4. the store's popularity alone (mode "popularity"; also for shoppers without
//      personalization consent, anonymous kiosks and shoppers without local history).
// handle() never fails: whatever the WAN does, a kiosk gets an answer naming its mode.
//
// Consent: a shopper whose personalization consent is denied (the agent's consent cache, else
// the flag of their latest local event) is asked about anonymously and gets popularity offline;
// an unknown decision follows `unknown_consent` offline and is left to the collector live.
//
// Snapshots arrive from the collector over HTTPS (fetched every snapshot_interval by a
// background thread) or pushed on the MQTT downlink (accept_pushed_snapshot, any thread); the
// newest is kept in memory and in `snapshot_path`, which is read at start so a restart without
// WAN still has a model.
//
// Thread-safe: handle() and observe() run concurrently on HTTP workers and ingest threads.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/recs/circuit_breaker.hpp"
#include "agent/recs/collector_client.hpp"
#include "agent/recs/local_model.hpp"
#include "agent/recs/rec_answer.hpp"
#include "agent/recs/rec_cache.hpp"
#include "agent/recs/recs_options.hpp"
#include "agent/recs/shopper_history.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"

namespace aisle::agent::privacy {
class ConsentCache;
}

namespace aisle::agent::recs {

class RecsService {
 public:
  // `upstream` may be null (no collector_url: offline answers only); `consent` may be null (no
  // consent cache: the events' own flags and `unknown_consent` decide). Reads the persisted
  // snapshot when there is one (a corrupt file is logged, counted and ignored).
  RecsService(RecsOptions options, std::string store_id, RecsUpstreamPtr upstream,
              const privacy::ConsentCache* consent, ClockPtr clock, metrics::Registry& metrics);
  ~RecsService();
  RecsService(const RecsService&) = delete;
  RecsService& operator=(const RecsService&) = delete;

  // Starts / stops the snapshot thread (stop is prompt: it interrupts the wait, and a download
  // in progress ends within snapshot_timeout). Idempotent.
  void start();
  void stop();

  RecAnswer handle(const RecQuery& query);

  // An event admitted by the agent's ingest (after pseudonymization): its items join the
  // history of each of its identities.
  void observe(const Event& event, std::string_view properties_json);

  // Fetches the snapshot now (the thread does this every interval).
  Status refresh_snapshot();
  // Decodes, checks (store, not older than the held one), installs and persists a snapshot.
  // `origin` labels metrics and logs ("http", "mqtt", "file").
  Status apply_snapshot_payload(const std::string& payload, const std::string& origin);
  // Hands a snapshot pushed on the MQTT downlink to the snapshot thread (decoding a large one
  // must not hold up the MQTT thread). Without a started thread it is applied at once.
  void accept_pushed_snapshot(std::string payload);

  // Erasure: forgets the identities' history and cached answers; returns entries removed.
  std::size_t erase(const std::vector<std::string>& identities);

  // {"breaker","cache_entries","history_shoppers","snapshot":{...}} for GET /v1/recs/status.
  nlohmann::json status() const;
  const RecsOptions& options() const { return options_; }

 private:
  enum class Personalization { kGranted, kDenied, kUnknown };
  Personalization personalization_of(const RecQuery& query) const;
  RecAnswer local_answer(const RecQuery& query, bool personalize);
  void run();
  void load_persisted_snapshot();
  void count(ServeMode mode, std::chrono::steady_clock::time_point started);

  RecsOptions options_;
  const std::string store_id_;
  RecsUpstreamPtr upstream_;
  const privacy::ConsentCache* consent_;
  ClockPtr clock_;
  metrics::Registry& metrics_;
  ShopperHistory history_;
  RecCache cache_;
  CircuitBreaker breaker_;
  LocalModel model_;

  std::mutex snapshot_mutex_;  // serializes installs and the persisted file

  std::mutex thread_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::string> pushed_;  // snapshots pushed on MQTT, waiting for the thread
  std::thread thread_;

  metrics::Counter* served_[4];
  metrics::Histogram* latency_[4];
  metrics::Counter* upstream_timeouts_;
  metrics::Counter* upstream_errors_;
  metrics::Counter* upstream_rejected_;
  metrics::Counter* upstream_skipped_;
  metrics::Counter* denied_consent_;
};

}  // namespace aisle::agent::recs
