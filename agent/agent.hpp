// Agent: the composition of one store agent — schema registry, validator, outbox, ingest,
// forwarder and the local HTTP API — built from an AgentConfig. main.cpp only adds signals and
// systemd notifications; tests run an Agent in-process.
#pragma once

#include <atomic>
#include <memory>

#include "agent/adapter_ingest_sink.hpp"
#include "agent/agent_config.hpp"
#include "agent/forwarder/forwarder.hpp"
#include "agent/forwarder/uplink.hpp"
#include "agent/ingest/ingest_service.hpp"
#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/privacy/consent_cache.hpp"
#include "agent/privacy/consent_sync.hpp"
#include "agent/privacy/erasure.hpp"
#include "agent/privacy/erasure_listener.hpp"
#include "agent/privacy/privacy_filter.hpp"
#include "agent/recs/recs_service.hpp"
#include "agent/segments/segment_listener.hpp"
#include "common/event_validator.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"
#include "common/pki/tls_file_watch.hpp"
#include "common/schema/registry.hpp"
#include "firmware_adapters/adapter_runner.hpp"

namespace aisle::agent {

// Builds (without starting) every configured adapter's transport and decoder, so that
// --check-config finds what Agent::create() would refuse; the error names the adapter and key.
Status check_adapters(const AgentConfig& config);
// Loads the schemas and checks the privacy section against them (the key file, minimization and
// anonymization lists keeping required properties, pseudonymized properties), as create() does.
Status check_privacy(const AgentConfig& config);

class Agent {
 public:
  // Opens everything; fails with a message naming the part (schemas, outbox, HTTP bind).
  // `uplink` may be given by tests; by default an MqttUplink from the config.
  static Result<std::unique_ptr<Agent>> create(AgentConfig config, ClockPtr clock = nullptr,
                                               UplinkPtr uplink = nullptr);
  ~Agent();

  // Starts the forwarder, the HTTP server and the firmware adapters (a transport that cannot
  // start, e.g. a busy TCP port, fails the start naming the adapter).
  Status start();
  // SIGTERM: stop the adapters first (every frame they took is decoded and committed), refuse
  // new HTTP input, let in-flight batches be acknowledged within the grace time, stop.
  // Everything not acknowledged stays in the outbox.
  void stop();
  // SIGHUP: reload schemas (the previous set stays active on failure), then reload_tls().
  Status reload();
  // Renewed TLS files (mqtt.cert_file/key_file/ca_file) are put in use by reconnecting the
  // uplink (common/pki/tls_file_watch.hpp); unchanged files change nothing.
  Status reload_tls();
  // Periodic work from the main loop: outbox maintenance when due, the TLS files' check.
  void tick();

  int http_port() const { return http_->port(); }
  metrics::Registry& metrics() { return metrics_; }
  Outbox& outbox() { return *outbox_; }
  Ingest& ingest() { return *ingest_; }
  const AgentConfig& config() const { return config_; }
  // The consent cache fed from the collector (the erasure handler purges it).
  privacy::ConsentCache& consent_cache() { return *consent_cache_; }
  const privacy::PrivacyFilter& privacy_filter() const { return *privacy_; }
  // The kiosks' recommendation server; null without a `recommendations` section.
  recs::RecsService* recs() { return recs_.get(); }
  // The enabled adapters, in config order.
  const std::vector<std::unique_ptr<adapters::AdapterRunner>>& adapters() const {
    return adapters_;
  }

 private:
  explicit Agent(AgentConfig config, ClockPtr clock);
  // The recommendation server from the `recommendations` section (nothing without one).
  Status build_recs(const wire::AgentAddress& address);

  AgentConfig config_;
  ClockPtr clock_;
  metrics::Registry metrics_;
  std::shared_ptr<schema::RegistryHolder> registry_;
  std::unique_ptr<EventValidator> validator_;
  std::unique_ptr<SqliteOutbox> outbox_;
  std::unique_ptr<privacy::ConsentCache> consent_cache_;
  // Declared before ingest_, uplink_ and http_, whose callbacks reach it: destroyed after them.
  std::unique_ptr<recs::RecsService> recs_;
  std::unique_ptr<SegmentListener> segments_;
  std::unique_ptr<privacy::PrivacyFilter> privacy_;
  std::unique_ptr<IngestService> ingest_;
  // Declared before uplink_: destroyed after it, so no MQTT callback outlives its target.
  std::unique_ptr<privacy::ConsentSync> consent_sync_;
  std::unique_ptr<ErasureHandler> erasure_;
  std::unique_ptr<ErasureListener> erasure_listener_;
  UplinkPtr uplink_;
  std::unique_ptr<Forwarder> forwarder_;
  // After uplink_ and forwarder_: destroyed before them (its reconnect reaches both).
  std::unique_ptr<pki::TlsFileWatch> tls_watch_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<AdapterIngestSink> adapter_sink_;
  std::vector<std::unique_ptr<adapters::AdapterRunner>> adapters_;
  std::atomic<bool> accepting_{true};
  std::chrono::steady_clock::time_point next_maintenance_{};
  bool stopped_ = false;
};

}  // namespace aisle::agent
