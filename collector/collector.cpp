#include "collector/collector.hpp"

#include "collector/api/collector_api.hpp"
#include "collector/api/dashboard_api.hpp"
#include "collector/api/recs_api.hpp"
#include "collector/recs_stack.hpp"
#include "collector/segment_stack.hpp"
#include "collector/api/privacy_api.hpp"
#include "collector/api/profile_api.hpp"
#include "common/log.hpp"
#include "common/wire/privacy.hpp"
#include "common/wire/topics.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector");

}  // namespace

Collector::Collector(CollectorConfig config, ClockPtr clock)
    : config_(std::move(config)), clock_(std::move(clock)) {}

Collector::~Collector() { stop(); }

Result<std::unique_ptr<Collector>> Collector::create(CollectorConfig config, ClockPtr clock) {
  if (!clock) clock = SystemClock::instance();
  std::unique_ptr<Collector> c(new Collector(std::move(config), std::move(clock)));
  const CollectorConfig& cfg = c->config_;

  auto registry = schema::Registry::load(cfg.schema_dirs());
  if (!registry) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot load event schemas:\n" + registry.error().message);
  }
  kLog.info("schemas loaded", {{"count", (*registry)->size()}});
  c->registry_ = std::make_shared<schema::RegistryHolder>(*registry, cfg.schema_dirs());
  EventValidatorOptions options;
  options.limits.max_bytes = cfg.max_event_bytes;
  options.limits.max_depth = cfg.max_depth;
  options.custom_identity_types = cfg.custom_identity_types;
  c->http_validator_ = std::make_unique<EventValidator>(c->registry_, options);
  c->batch_validator_ =
      std::make_unique<EventValidator>(c->registry_, batch_validator_options(options));

  auto store = SqliteEventStore::open(cfg.store, c->clock_, c->metrics_);
  if (!store) {
    return make_error(store.error().code,
                      "cannot open store " + cfg.store.path + ": " + store.error().message);
  }
  c->store_ = std::move(*store);
  c->retention_ = std::make_unique<RetentionJob>(*c->store_, cfg.retention, c->clock_, c->metrics_);
  c->tracker_ = std::make_unique<StreamTracker>(c->metrics_);
  auto progress = c->store_->load_stream_progress();
  if (!progress) {
    return make_error(progress.error().code,
                      "cannot read stream progress: " + progress.error().message);
  }
  c->tracker_->load(*progress);

  c->mqtt_ = std::make_unique<mqtt::MqttClient>(cfg.mqtt);
  c->processor_ = std::make_unique<BatchProcessor>(*c->batch_validator_, cfg.batch_limits);
  mqtt::MqttClient* client = c->mqtt_.get();
  c->pipeline_ = std::make_unique<BatchPipeline>(
      *c->processor_, *c->store_, *c->tracker_,
      [client](const std::string& topic, const std::string& payload) {
        return client->publish(topic, payload);
      },
      c->clock_, c->metrics_, cfg.queue_batches, cfg.ingest_workers);
  BatchPipeline* pipeline = c->pipeline_.get();

  auto privacy = PrivacyStack::open(
      cfg, *c->store_, *c->tracker_,
      [client](const std::string& topic, const std::string& payload) {
        return client->publish(topic, payload);
      },
      c->clock_, c->metrics_);
  if (!privacy) return privacy.error();
  c->privacy_ = std::move(*privacy);
  PrivacyStack* privacy_stack = c->privacy_.get();
  c->pipeline_->set_commit_hooks(&privacy_stack->hooks());
  if (cfg.segments.value("enabled", true)) {
    SegmentStackDeps deps{cfg.tenant,
                          cfg.data_dir,
                          *c->store_,
                          privacy_stack->profiles(),
                          [client](const std::string& topic, const std::string& payload, int) {
                            return client->publish(topic, payload);
                          },
                          [privacy_stack](const std::string& actor, const std::string& action,
                                          const std::string& target, const nlohmann::json& details) {
                            privacy_stack->audit_record(actor, action, target, details);
                          },
                          cfg.custom_identity_types,
                          c->clock_,
                          c->metrics_};
    auto segments = SegmentStack::open(cfg.segments, std::move(deps));
    if (!segments) return segments.error();
    c->segments_ = std::move(*segments);
    privacy_stack->add_listener(c->segments_.get());
  }
  if (cfg.recs.value("enabled", true)) {
    RecsStackDeps deps{cfg.tenant,
                       cfg.data_dir,
                       privacy_stack->profiles(),
                       [tracker = c->tracker_.get(), tenant = cfg.tenant] {
                         std::vector<wire::AgentAddress> agents;
                         for (const auto& a : tracker->agents()) {
                           agents.push_back({tenant, a.store_id, a.agent_id});
                         }
                         return agents;
                       },
                       [client](const std::string& topic, const std::string& payload) {
                         return client->publish(topic, payload);
                       },
                       [privacy_stack](const std::string& actor, const std::string& action,
                                       const std::string& target, const nlohmann::json& details) {
                         privacy_stack->audit_record(actor, action, target, details);
                       },
                       c->clock_,
                       c->metrics_};
    auto recs = RecsStack::open(cfg.recs, std::move(deps));
    if (!recs) return recs.error();
    c->recs_ = std::move(*recs);
    privacy_stack->add_listener(c->recs_.get());
  }
  if (cfg.dashboard.enabled) {
    DashboardSources sources;
    sources.agents = [tracker = c->tracker_.get()] { return tracker->agents(); };
    sources.recent_erasures = [privacy_stack](std::size_t limit) {
      nlohmann::json list = nlohmann::json::array();
      if (auto recent = privacy_stack->erasures().recent(limit)) {
        for (const auto& e : *recent) list.push_back(erasure_json(e));
      }
      return list;
    };
    if (c->segments_) {
      sources.segment_sizes = [segments = c->segments_.get()] { return segments->sizes(); };
    }
    if (c->recs_) {
      sources.recommendation_stats = [recs = c->recs_.get()] {
        return recommendation_stats_json(recs->service())["placements"];
      };
    }
    c->dashboard_ = std::make_unique<DashboardStats>(
        DashboardOptions{cfg.dashboard.step, cfg.dashboard.steps, cfg.dashboard.max_series,
                         DashboardOptions{}.max_segments, DashboardOptions{}.recent_erasures},
        std::move(sources), c->clock_, c->metrics_);
    privacy_stack->add_listener(c->dashboard_.get());
  }
  c->mqtt_->on_message([pipeline, privacy_stack](mqtt::Message&& message) {
    // Uplinks (consent sync requests, erasure receipts) are small and rare; batches go to the
    // pipeline.
    if (privacy_stack->on_uplink(message.topic, message.payload)) return;
    pipeline->submit(std::move(message));
  });
  Collector* self = c.get();
  c->mqtt_->on_connection_lost([self](const std::string& cause) {
    kLog.warn("connection to broker lost", {{"cause", cause}});
    {
      std::lock_guard lock(self->connection_mutex_);
      self->connection_lost_ = true;
    }
    self->connection_wake_.notify_one();
  });
  c->tls_watch_ = std::make_unique<pki::TlsFileWatch>(
      pki::TlsFiles{cfg.mqtt.cert_file, cfg.mqtt.key_file, cfg.mqtt.ca_file,
                    cfg.privacy.fleet_crl_file},
      cfg.tls, "aisle_collector", c->metrics_, c->clock_, [self] {
        self->mqtt_->reset_connection();
        {
          std::lock_guard lock(self->connection_mutex_);
          self->connection_lost_ = true;
        }
        self->connection_wake_.notify_one();
      });

  c->http_ingest_ = std::make_unique<HttpIngest>(*c->http_validator_, *c->store_, c->clock_,
                                                 c->metrics_);
  c->http_ingest_->set_commit_hooks(&privacy_stack->hooks());
  c->http_ingest_->set_ip_truncation(cfg.privacy.ipv4_prefix, cfg.privacy.ipv6_prefix);
  c->http_ingest_->set_consent_version_source(
      [privacy_stack] { return privacy_stack->profiles().consent_version(); });
  c->keys_ = std::make_unique<ApiKeys>(cfg.write_keys, cfg.admin_keys);
  http::ServerOptions http_options = cfg.http;
  // A catalog upload is one request body.
  if (c->recs_) {
    http_options.max_body_bytes = std::max(http_options.max_body_bytes, c->recs_->max_upload_bytes());
  }
  c->http_ = std::make_unique<http::HttpServer>(http_options, c->metrics_, "collector");
  CollectorApiContext api{*c->http_ingest_, *c->store_, *c->tracker_, *c->keys_, c->metrics_,
                          http::IngestEndpointLimits{cfg.max_events_per_request}};
  api.mqtt_connected = [client] { return client->connected(); };
  api.queued_batches = [pipeline] { return pipeline->queued(); };
  register_collector_api(*c->http_, std::move(api));
  register_privacy_api(*c->http_, PrivacyApiContext{privacy_stack->erasures(), *c->keys_});
  if (c->dashboard_) {
    register_dashboard_api(*c->http_,
                           DashboardApiContext{*c->dashboard_, *c->keys_, cfg.dashboard.public_data});
  }
  ProfileApiContext profile_api{privacy_stack->profiles(), *c->store_, *c->keys_, c->metrics_};
  profile_api.on_consent_change = [privacy_stack](const profiles::ConsentChange& change) {
    privacy_stack->publish_consent_change(change, "api");
  };
  profile_api.audit = [privacy_stack](const std::string& actor, const std::string& action,
                                      const std::string& target, const nlohmann::json& details) {
    privacy_stack->audit_record(actor, action, target, details);
  };
  profile_api.clock = c->clock_;
  profile_api.custom_identity_types = cfg.custom_identity_types;
  if (c->segments_) {
    profile_api.segments_of = [segments = c->segments_.get()](const std::string& profile_id) {
      return segments->segments_of(profile_id);
    };
  }
  register_profile_api(*c->http_, std::move(profile_api));
  if (c->segments_) c->segments_->register_routes(*c->http_, *c->keys_);
  if (c->recs_) c->recs_->register_routes(*c->http_, *c->keys_);
  c->metrics_.gauge_callback("aisle_collector_mqtt_connected", "1 when connected to the broker",
                             {}, [client] { return client->connected() ? 1.0 : 0.0; });
  c->metrics_.gauge("aisle_collector_info", "Build of this collector",
                    {{"version", AISLE_VERSION}, {"collector_id", cfg.collector_id}})
      .set(1);
  return c;
}

void Collector::connection_loop() {
  Backoff backoff(std::chrono::milliseconds(500), config_.reconnect_max);
  auto& connects = metrics_.counter("aisle_collector_mqtt_connects_total", "Successful connects");
  auto& failures = metrics_.counter("aisle_collector_mqtt_connect_failures_total",
                                    "Failed connect attempts");
  const std::string subscription = wire::shared_events_subscription(config_.share_group);
  while (true) {
    {
      std::lock_guard lock(connection_mutex_);
      if (stopping_) return;
      connection_lost_ = false;
    }
    Status status = mqtt_->connect();
    if (status) status = mqtt_->subscribe(subscription);
    for (const char* kind : {"consent_sync", "erasure_receipt"}) {
      if (status) {
        status = mqtt_->subscribe(wire::shared_uplink_subscription(config_.share_group, kind));
      }
    }
    std::chrono::milliseconds wait;
    if (status) {
      connects.inc();
      backoff.reset();
      kLog.info("subscribed", {{"subscription", subscription}});
      std::unique_lock lock(connection_mutex_);
      connection_wake_.wait(lock, [this] { return stopping_ || connection_lost_; });
      if (stopping_) return;
      wait = backoff.next();
    } else {
      failures.inc();
      wait = backoff.next();
      kLog.warn("cannot connect to broker; will retry",
                {{"error", status.error().message}, {"retry_in_ms", wait.count()}});
    }
    std::unique_lock lock(connection_mutex_);
    connection_wake_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) return;
  }
}

Status Collector::start() {
  if (segments_) segments_->start();
  if (recs_) recs_->start();
  privacy_->start();
  pipeline_->start();
  connection_thread_ = std::thread([this] { connection_loop(); });
  retention_->start();
  if (auto status = http_->start(); !status) {
    return make_error(status.error().code, "HTTP API: " + status.error().message);
  }
  kLog.info("collector started",
            {{"http_port", http_->port()}, {"mqtt", config_.mqtt.uri}, {"store", config_.store.path}});
  return ok_status();
}

void Collector::stop() {
  if (stopped_) return;
  stopped_ = true;
  kLog.info("stopping", {{"grace_ms", config_.shutdown_grace.count()}});
  if (retention_) retention_->stop();
  if (http_) http_->stop();
  {
    std::lock_guard lock(connection_mutex_);
    stopping_ = true;
  }
  connection_wake_.notify_all();
  if (connection_thread_.joinable()) connection_thread_.join();
  // Drain what already arrived (commit + ack) before the connection closes.
  if (pipeline_) pipeline_->stop(config_.shutdown_grace);
  if (privacy_) privacy_->stop();
  // After the feed stopped: entries and exits it decided are delivered before the link closes.
  if (segments_) segments_->stop();
  if (recs_) recs_->stop();
  if (mqtt_) mqtt_->disconnect();
  kLog.info("stopped");
}

Status Collector::reload() {
  Status tls = ok_status();
  if (auto reloaded = tls_watch_->reload(); !reloaded) tls = reloaded.error();
  if (auto status = registry_->reload(); !status) {
    kLog.error("schema reload failed; keeping the previous schemas",
               {{"error", status.error().message}});
    return status;
  }
  kLog.info("schemas reloaded", {{"count", registry_->current()->size()}});
  return tls;
}

void Collector::tick() { tls_watch_->poll(); }

}  // namespace aisle::collector
