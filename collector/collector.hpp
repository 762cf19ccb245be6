// Collector: the composition of the central service — schemas and validators, the event store,
// the MQTT batch pipeline with its connection, the stream tracker and the HTTP API — from a
// CollectorConfig. main.cpp adds signals and systemd; tests run a Collector in-process.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "collector/api/api_keys.hpp"
#include "collector/collector_config.hpp"
#include "collector/dashboard/dashboard_stats.hpp"
#include "collector/recs_stack.hpp"
#include "collector/segment_stack.hpp"
#include "collector/ingest/batch_pipeline.hpp"
#include "collector/ingest/batch_processor.hpp"
#include "collector/ingest/http_ingest.hpp"
#include "collector/ingest/stream_tracker.hpp"
#include "collector/privacy/privacy_stack.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/backoff.hpp"
#include "common/event_validator.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"
#include "common/mqtt/mqtt_client.hpp"
#include "common/schema/registry.hpp"

namespace aisle::collector {

class Collector {
 public:
  static Result<std::unique_ptr<Collector>> create(CollectorConfig config,
                                                   ClockPtr clock = nullptr);
  ~Collector();

  // Starts the pipeline, the MQTT connection (in the background, with backoff) and the API.
  Status start();
  // Stops taking batches, lets queued ones commit and ack within the grace time, stops.
  void stop();
  // SIGHUP: schemas, then renewed TLS files (a reconnect when they changed).
  Status reload();
  // Periodic work from the main loop: the TLS files' check (common/pki/tls_file_watch.hpp).
  void tick();

  int http_port() const { return http_->port(); }
  bool mqtt_connected() const { return mqtt_->connected(); }
  metrics::Registry& metrics() { return metrics_; }
  EventStore& store() { return *store_; }
  PrivacyStack& privacy() { return *privacy_; }

 private:
  explicit Collector(CollectorConfig config, ClockPtr clock);
  void connection_loop();

  CollectorConfig config_;
  ClockPtr clock_;
  metrics::Registry metrics_;
  std::shared_ptr<schema::RegistryHolder> registry_;
  std::unique_ptr<EventValidator> batch_validator_;  // batches: ids and times must be present
  std::unique_ptr<EventValidator> http_validator_;   // web/mobile: the collector fills them
  std::unique_ptr<SqliteEventStore> store_;
  std::unique_ptr<RetentionJob> retention_;  // events older than store.events_retention
  std::unique_ptr<StreamTracker> tracker_;
  std::unique_ptr<BatchProcessor> processor_;
  std::unique_ptr<BatchPipeline> pipeline_;
  std::unique_ptr<HttpIngest> http_ingest_;
  // Listeners of the privacy stack's feed: declared before it, so they outlive its thread.
  std::unique_ptr<DashboardStats> dashboard_;
  std::unique_ptr<SegmentStack> segments_;
  std::unique_ptr<RecsStack> recs_;
  std::unique_ptr<PrivacyStack> privacy_;
  std::unique_ptr<ApiKeys> keys_;
  std::unique_ptr<mqtt::MqttClient> mqtt_;
  std::unique_ptr<http::HttpServer> http_;

  std::thread connection_thread_;
  std::mutex connection_mutex_;
  std::condition_variable connection_wake_;
  bool connection_lost_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  // Last: destroyed first, its reconnect reaches mqtt_ and the connection state above.
  std::unique_ptr<pki::TlsFileWatch> tls_watch_;
};

}  // namespace aisle::collector
