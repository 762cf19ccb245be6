#include "agent/agent.hpp"

#include <malloc.h>

#include <filesystem>

#include "agent/http/agent_api.hpp"
#include "agent/privacy/privacy_config.hpp"
#include "agent/recs/recs_api.hpp"
#include "agent/segments/segment_routes.hpp"
#include "common/log.hpp"

namespace aisle::agent {
namespace {

const log::Logger kLog("agent");

struct AdapterParts {
  adapters::TransportPtr transport;
  adapters::DecoderPtr decoder;
};

// Builds one adapter's transport and decoder; a config error names the adapter and the key.
Result<AdapterParts> build_adapter(const AgentConfig& c, std::size_t i, const Clock& clock) {
  const AdapterConfig& a = c.adapters[i];
  const std::string where = "adapters[" + std::to_string(i) + "] (" + a.name + "): ";
  auto transport = adapters::make_transport(a.transport, clock);
  if (!transport) {
    return make_error(ErrorCode::kInvalidArgument, where + transport.error().message);
  }
  nlohmann::json options = a.decoder;
  const std::string type = options.value("type", "");
  options.erase("type");
  const bool agent_hashes_loyalty = c.privacy.pseudonymization.enabled &&
                                    c.privacy.pseudonymization.identities.count("loyalty_id") > 0;
  if (agent_hashes_loyalty && type.starts_with("pos_") && options.contains("loyalty_key")) {
    // Hashing twice would give loyalty_ids that match no other store's or channel's.
    return make_error(ErrorCode::kInvalidArgument,
                      where + "decoder option 'loyalty_key' must not be set: the agent "
                              "pseudonymizes loyalty_id itself (privacy.pseudonymization)");
  }
  auto decoder = adapters::make_decoder(type, options,
                                        {c.store_id, a.device_id, agent_hashes_loyalty});
  if (!decoder) return make_error(ErrorCode::kInvalidArgument, where + decoder.error().message);
  return AdapterParts{std::move(*transport), std::move(*decoder)};
}

Status build_adapters(const AgentConfig& c, AdapterIngestSink& sink, const Clock& clock,
                      metrics::Registry& metrics,
                      std::vector<std::unique_ptr<adapters::AdapterRunner>>& out) {
  for (std::size_t i = 0; i < c.adapters.size(); ++i) {
    auto parts = build_adapter(c, i, clock);
    if (!parts) return parts.error();
    if (!c.adapters[i].enabled) {
      kLog.info("adapter disabled in config", {{"adapter", c.adapters[i].name}});
      continue;
    }
    out.push_back(std::make_unique<adapters::AdapterRunner>(
        c.adapters[i].name, std::move(parts->transport), std::move(parts->decoder), sink, clock,
        metrics));
  }
  return ok_status();
}

nlohmann::json adapter_status_json(const adapters::AdapterRunner& runner) {
  const adapters::AdapterStatus s = runner.status();
  nlohmann::json j = {{"name", s.name},
                      {"transport", s.transport},
                      {"state", s.state},
                      {"frames", s.frames},
                      {"decode_errors", s.decode_errors},
                      {"events", s.events},
                      {"events_lost", s.events_lost},
                      {"reconnects", s.reconnects}};
  if (!s.last_error.empty()) j["last_error"] = s.last_error;
  return j;
}

}  // namespace

Status check_adapters(const AgentConfig& config) {
  for (std::size_t i = 0; i < config.adapters.size(); ++i) {
    auto parts = build_adapter(config, i, *SystemClock::instance());
    if (!parts) return parts.error();
  }
  return ok_status();
}

Status check_privacy(const AgentConfig& config) {
  auto registry = schema::Registry::load(config.schema_dirs());
  if (!registry) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot load event schemas:\n" + registry.error().message);
  }
  metrics::Registry scratch;
  auto filter = privacy::PrivacyFilter::create(config.privacy, **registry, nullptr, scratch);
  if (!filter) return filter.error();
  return ok_status();
}

Agent::Agent(AgentConfig config, ClockPtr clock)
    : config_(std::move(config)), clock_(std::move(clock)) {}

Agent::~Agent() { stop(); }

Result<std::unique_ptr<Agent>> Agent::create(AgentConfig config, ClockPtr clock,
                                             UplinkPtr uplink) {
  if (!clock) clock = SystemClock::instance();
  std::unique_ptr<Agent> agent(new Agent(std::move(config), std::move(clock)));
  const AgentConfig& c = agent->config_;

  auto registry = schema::Registry::load(c.schema_dirs());
  if (!registry) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot load event schemas:\n" + registry.error().message);
  }
  kLog.info("schemas loaded", {{"count", (*registry)->size()}});
  agent->registry_ = std::make_shared<schema::RegistryHolder>(*registry, c.schema_dirs());
  EventValidatorOptions validator_options;
  validator_options.limits.max_bytes = c.max_event_bytes;
  validator_options.limits.max_depth = c.max_depth;
  validator_options.custom_identity_types = c.custom_identity_types;
  // Raw e-mail addresses and phone numbers are accepted here only when this agent hashes them
  // (into email_sha256 / phone_sha256) before anything is stored.
  if (c.privacy.pseudonymization.enabled) {
    for (const char* raw_type : {"email", "phone"}) {
      if (c.privacy.pseudonymization.identities.count(raw_type)) {
        validator_options.custom_identity_types.insert(raw_type);
      }
    }
  }
  agent->validator_ = std::make_unique<EventValidator>(agent->registry_, validator_options);

  auto outbox = SqliteOutbox::open(c.outbox, agent->clock_, agent->metrics_);
  if (!outbox) {
    return make_error(outbox.error().code,
                      "cannot open outbox " + c.outbox.path + ": " + outbox.error().message);
  }
  agent->outbox_ = std::move(*outbox);

  // A config built in code (tests, benchmarks) may leave the path empty: beside the outbox, as
  // the config parser does.
  const std::string consent_path = c.privacy.consent.cache_path.empty()
                                       ? privacy::default_consent_cache_path(c.outbox.path)
                                       : c.privacy.consent.cache_path;
  auto consent_cache = privacy::ConsentCache::open(consent_path);
  if (!consent_cache) return consent_cache.error();
  agent->consent_cache_ = std::move(*consent_cache);
  privacy::PrivacyOptions privacy_options = c.privacy;
  for (const auto& adapter : c.adapters) {
    if (adapter.decoder.value("type", "").starts_with("pos_")) {
      privacy_options.redact_frames_of_adapters.insert(adapter.name);
    }
  }
  auto privacy = privacy::PrivacyFilter::create(std::move(privacy_options), **registry,
                                                agent->consent_cache_.get(), agent->metrics_);
  if (!privacy) return privacy.error();
  agent->privacy_ = std::move(*privacy);
  kLog.info("privacy",
            {{"pseudonymization", c.privacy.pseudonymization.enabled},
             {"consent_version", agent->consent_cache_->version()},
             {"consent_entries", agent->consent_cache_->size()},
             {"on_denied", privacy::consent_action_name(c.privacy.consent.on_denied)},
             {"on_unknown", privacy::consent_action_name(c.privacy.consent.on_unknown)}});

  IngestOptions ingest_options;
  ingest_options.tenant = c.tenant;
  ingest_options.store_id = c.store_id;
  ingest_options.agent_id = c.agent_id;
  ingest_options.critical_types = c.critical_types;
  ingest_options.bulk_types = c.bulk_types;
  ingest_options.max_quarantine_raw_bytes = c.max_event_bytes;
  agent->ingest_ = std::make_unique<IngestService>(*agent->validator_, *agent->outbox_,
                                                   ingest_options, agent->clock_,
                                                   agent->metrics_, agent->privacy_.get());

  const wire::AgentAddress address{c.tenant, c.store_id, c.agent_id};
  agent->uplink_ = uplink ? std::move(uplink) : std::make_unique<MqttUplink>(c.mqtt, address);
  agent->consent_sync_ = std::make_unique<privacy::ConsentSync>(
      *agent->consent_cache_, *agent->uplink_, address, agent->clock_,
      c.privacy.consent.sync_timeout, agent->metrics_);
  agent->consent_sync_->attach();
  agent->erasure_ = std::make_unique<ErasureHandler>(
      *agent->outbox_,
      AgentIdentity{c.tenant, c.store_id, c.agent_id, c.mqtt.key_file, c.mqtt.cert_file},
      agent->clock_, agent->metrics_);
  privacy::ConsentCache* cache = agent->consent_cache_.get();
  agent->erasure_->add_cache_purger(
      [cache](const std::vector<std::string>& identities) { return cache->purge(identities); });
  agent->erasure_listener_ = std::make_unique<ErasureListener>(*agent->erasure_, *agent->uplink_,
                                                               address, agent->metrics_);
  agent->erasure_listener_->attach();
  auto segment_options = parse_segment_listener_options(c.segments);
  if (!segment_options) {
    return make_error(segment_options.error().code, "segments: " + segment_options.error().message);
  }
  agent->segments_ = std::make_unique<SegmentListener>(
      *agent->uplink_, address, *segment_options, agent->metrics_, agent->clock_);
  agent->segments_->attach();
  if (auto status = agent->build_recs(address); !status) return status.error();
  agent->forwarder_ = std::make_unique<Forwarder>(*agent->outbox_, *agent->uplink_, c.forwarder,
                                                  address, agent->clock_, agent->metrics_);
  Forwarder* forwarder = agent->forwarder_.get();
  agent->outbox_->set_append_listener([forwarder] { forwarder->notify(); });
  if (!c.mqtt.cert_file.empty() || !c.mqtt.ca_file.empty()) {
    Uplink* uplink_ptr = agent->uplink_.get();
    agent->tls_watch_ = std::make_unique<pki::TlsFileWatch>(
        pki::TlsFiles{c.mqtt.cert_file, c.mqtt.key_file, c.mqtt.ca_file, ""}, c.tls, "aisle_agent",
        agent->metrics_, agent->clock_, [uplink_ptr, forwarder] {
          uplink_ptr->restart_connection();
          forwarder->notify();
        });
  }

  // Adapters are built (and their config checked) here, started in start().
  agent->adapter_sink_ = std::make_unique<AdapterIngestSink>(*agent->ingest_);
  if (auto status = build_adapters(c, *agent->adapter_sink_, *agent->clock_, agent->metrics_,
                                   agent->adapters_);
      !status) {
    return status.error();
  }

  agent->http_ = std::make_unique<http::HttpServer>(c.http, agent->metrics_, "agent");
  AgentApiContext api{*agent->ingest_, *agent->outbox_, agent->forwarder_.get(), agent->metrics_,
                      http::IngestEndpointLimits{c.max_events_per_request}, c.store_id,
                      c.agent_id};
  Agent* self = agent.get();
  api.accepting = [self] { return self->accepting_.load(); };
  api.adapters = [self] {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& runner : self->adapters_) list.push_back(adapter_status_json(*runner));
    return list;
  };
  api.consent = [self] { return self->consent_sync_->status(); };
  register_agent_api(*agent->http_, std::move(api));
  register_segment_routes(*agent->http_, *agent->segments_);
  if (agent->recs_) {
    recs::register_recs_routes(*agent->http_, *agent->recs_, c.store_id, agent->metrics_);
  }
  agent->metrics_.gauge("aisle_agent_info", "Build and identity of this agent",
                        {{"version", AISLE_VERSION}, {"store_id", c.store_id},
                         {"agent_id", c.agent_id}})
      .set(1);
  return agent;
}

Status Agent::build_recs(const wire::AgentAddress& address) {
  auto options = recs::parse_recs_options(config_.recommendations);
  if (!options) return options.error();
  if (!options->enabled) return ok_status();
  // Mutual TLS with the agent's MQTT identity unless the section names other files.
  auto& client = options->collector;
  if (client.ca_file.empty()) client.ca_file = config_.mqtt.ca_file;
  if (client.cert_file.empty()) client.cert_file = config_.mqtt.cert_file;
  if (client.key_file.empty()) client.key_file = config_.mqtt.key_file;
  if (options->snapshot_path.empty()) {
    const auto dir = std::filesystem::path(config_.outbox.path).parent_path();
    options->snapshot_path = (dir / "recs_snapshot.zst").string();
  }
  recs::RecsUpstreamPtr upstream;
  if (!client.url.empty()) {
    auto curl =
        recs::CurlCollectorClient::create(client, options->snapshot_limits.max_payload_bytes);
    if (!curl) return curl.error();
    upstream = std::move(*curl);
  }
  recs_ = std::make_unique<recs::RecsService>(std::move(*options), config_.store_id,
                                              std::move(upstream), consent_cache_.get(), clock_,
                                              metrics_);
  recs::RecsService* service = recs_.get();
  ingest_->set_admitted_observer(
      [service](const Event& event, std::string_view properties) {
        service->observe(event, properties);
      });
  erasure_->add_cache_purger(
      [service](const std::vector<std::string>& identities) { return service->erase(identities); });
  uplink_->subscribe(wire::downlink_topic(address, wire::kRecSnapshotDownlinkKind),
                     [service](std::string payload) {
                       service->accept_pushed_snapshot(std::move(payload));
                     });
  return ok_status();
}

Status Agent::start() {
  forwarder_->start();
  if (recs_) recs_->start();
  if (auto status = http_->start(); !status) {
    return make_error(status.error().code, "HTTP API: " + status.error().message);
  }
  // Ingest is ready (built in create()); adapters feed it from now on.
  for (const auto& runner : adapters_) {
    if (auto status = runner->start(); !status) {
      return make_error(status.error().code,
                        "adapter " + runner->name() + ": " + status.error().message);
    }
  }
  kLog.info("agent started", {{"store_id", config_.store_id},
                              {"agent_id", config_.agent_id},
                              {"http_port", http_->port()},
                              {"outbox", config_.outbox.path}});
  return ok_status();
}

void Agent::stop() {
  if (stopped_) return;
  stopped_ = true;
  accepting_ = false;
  kLog.info("stopping", {{"grace_ms", config_.shutdown_grace.count()}});
  // Adapters first, while ingest and the outbox are open: every frame taken is committed.
  for (const auto& runner : adapters_) runner->stop();
  // Long polls of kiosks waiting for segment changes end now, or the server would wait for them.
  if (segments_) segments_->stop();
  // Stop answering first so no request is half-accepted, then drain the forwarder.
  if (http_) http_->stop();
  if (recs_) recs_->stop();
  if (erasure_listener_) erasure_listener_->stop();  // an erasure in progress finishes first
  if (forwarder_) forwarder_->stop(config_.shutdown_grace);
  if (outbox_) {
    if (auto status = outbox_->maintain(); !status) {
      kLog.warn("final outbox maintenance failed", {{"error", status.error().message}});
    }
  }
  kLog.info("stopped");
}

Status Agent::reload() {
  // Renewed certificates are put in use whether or not the schemas load.
  const Status tls = reload_tls();
  if (auto status = registry_->reload(); !status) {
    kLog.error("schema reload failed; keeping the previous schemas",
               {{"error", status.error().message}});
    return status;
  }
  kLog.info("schemas reloaded", {{"count", registry_->current()->size()}});
  return tls;
}

Status Agent::reload_tls() {
  if (!tls_watch_) return ok_status();
  auto reloaded = tls_watch_->reload();
  if (!reloaded) return reloaded.error();
  return ok_status();
}

void Agent::tick() {
  if (tls_watch_) tls_watch_->poll();
  const auto now = clock_->now_steady();
  if (now < next_maintenance_) return;
  next_maintenance_ = now + config_.maintenance_interval;
  if (auto status = outbox_->maintain(); !status) {
    kLog.warn("outbox maintenance failed", {{"error", status.error().message}});
  }
  // Batches and request bodies of a drained backlog leave free heap behind; give it back so an
  // idle agent returns to its idle footprint (docs/BENCHMARKS.md, agent RSS).
  malloc_trim(0);
}

}  // namespace aisle::agent
