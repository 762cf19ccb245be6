#include "collector/segment_stack.hpp"

#include "collector/api/model_api.hpp"
#include "collector/api/segment_api.hpp"
#include "collector/api/segment_stream_api.hpp"
#include "collector/api/webhook_api.hpp"
#include "collector/segments/notify/notify_options.hpp"
#include "collector/segments/segment_options.hpp"
#include "common/event_json.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.segments");

// Sub-sections of `segments` that belong to the parts around the engine.
constexpr const char* kSubSections[] = {"propensity", "drift", "kpis",
                                        "downlink",   "webhooks", "stream"};

Error in_section(const std::string& section, const Error& error) {
  return make_error(error.code, section + ": " + error.message);
}

// The identifier types tried, in this order, to attribute a replayed event to its profile.
constexpr const char* kAttributionOrder[] = {"user_id",      "loyalty_id",   "email_sha256",
                                             "phone_sha256", "anonymous_id", "device_id",
                                             "session_id"};

}  // namespace

Result<std::unique_ptr<SegmentStack>> SegmentStack::open(const json& section,
                                                         SegmentStackDeps deps) {
  const json empty = json::object();
  const json& all = section.is_object() ? section : empty;
  json engine_section = all;
  for (const char* key : kSubSections) engine_section.erase(key);
  auto sub = [&](const char* key) -> const json& {
    auto it = all.find(key);
    return it == all.end() ? empty : *it;
  };

  auto options = segments::parse_segment_options(engine_section);
  if (!options) return in_section("segments", options.error());
  if (options->path.empty()) options->path = deps.data_dir + "/segments.db";
  auto propensity_options = segments::parse_propensity_options(sub("propensity"));
  if (!propensity_options) return in_section("segments.propensity", propensity_options.error());
  propensity_options->models_dir = deps.data_dir + "/models";
  auto drift = segments::parse_drift_options(sub("drift"));
  if (!drift) return in_section("segments.drift", drift.error());
  auto kpi_options = segments::parse_segment_kpi_options(sub("kpis"));
  if (!kpi_options) return in_section("segments.kpis", kpi_options.error());
  auto downlink_options = segments::parse_downlink_options(sub("downlink"));
  if (!downlink_options) return in_section("segments.downlink", downlink_options.error());
  auto webhook_options = segments::parse_webhook_options(sub("webhooks"));
  if (!webhook_options) return in_section("segments.webhooks", webhook_options.error());
  if (webhook_options->database_path.empty()) {
    webhook_options->database_path = deps.data_dir + "/webhooks.db";
  }
  auto stream_options = segments::parse_stream_options(sub("stream"));
  if (!stream_options) return in_section("segments.stream", stream_options.error());

  auto s = std::unique_ptr<SegmentStack>(new SegmentStack(std::move(deps)));
  SegmentStackDeps& d = s->deps_;

  if (propensity_options->enabled) {
    auto model = segments::PropensityModel::open(*propensity_options, *drift, d.clock, d.metrics);
    if (!model) return in_section("segments.propensity", model.error());
    s->propensity_ = std::move(*model);
  }
  s->fanout_ = std::make_shared<segments::ChangeFanout>(d.metrics);
  if (downlink_options->enabled) {
    s->downlink_ = std::make_unique<segments::AgentDownlink>(
        segments::AgentDownlinkOptions{d.tenant, downlink_options->max_changes_per_message, 1},
        d.publish, d.metrics);
    s->fanout_->add_channel(downlink_options->queue, *s->downlink_);
  }
  if (webhook_options->enabled) {
    auto store = segments::WebhookStore::open(
        {webhook_options->database_path, webhook_options->synchronous_full});
    if (!store) return in_section("segments.webhooks " + webhook_options->database_path,
                                  store.error());
    s->webhooks_ = std::make_unique<segments::WebhookDispatcher>(
        *webhook_options, std::move(*store), segments::make_curl_poster, d.metrics, d.clock);
    s->fanout_->add_channel(webhook_options->queue, *s->webhooks_);
  }
  if (stream_options->enabled) {
    s->stream_ = std::make_unique<segments::SegmentStreamHub>(*stream_options, d.metrics, d.clock);
    s->fanout_->add_channel(stream_options->queue, *s->stream_);
  }

  segments::SegmentEngineDeps engine_deps;
  engine_deps.clock = d.clock;
  engine_deps.metrics = &d.metrics;
  engine_deps.scores = s->propensity_;
  // Idle propensity sessions end on the engine's tick too, not only when other events arrive.
  if (s->propensity_) {
    engine_deps.on_tick = [model = s->propensity_] { model->expire_sessions(); };
  }
  SegmentStack* self = s.get();
  engine_deps.replay = [self](UnixMillis since,
                              const std::function<void(const profiles::ProfiledEvent&)>& each) {
    return self->replay(since, each);
  };
  auto engine = segments::SegmentEngine::open(*options, std::move(engine_deps));
  if (!engine) return in_section("segments " + options->path, engine.error());
  s->engine_ = std::move(*engine);
  segments::SegmentEngine* raw_engine = s->engine_.get();
  s->kpis_ = std::make_shared<segments::SegmentKpis>(
      *kpi_options, d.clock, d.metrics,
      [raw_engine](std::string_view profile_id, std::string_view segment_id) {
        return raw_engine->is_member(std::string(segment_id), std::string(profile_id));
      });
  s->engine_->add_sink(s->fanout_);
  s->engine_->add_sink(s->kpis_);
  return s;
}

SegmentStack::~SegmentStack() { stop(); }

void SegmentStack::start() {
  if (webhooks_) webhooks_->start();
  fanout_->start();
  if (propensity_) propensity_->start();
  engine_->start();
}

void SegmentStack::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (engine_) engine_->stop();
  if (fanout_) fanout_->stop();
  if (webhooks_) webhooks_->stop();
  if (propensity_) propensity_->stop();
}

void SegmentStack::register_routes(http::HttpServer& server, const ApiKeys& keys) {
  // The stream first: httplib matches routes in registration order, and /v1/segments/{id}
  // would take "stream" as an id.
  if (stream_) {
    register_segment_stream_api(
        server, SegmentStreamApiContext{*stream_, keys, deps_.metrics, std::chrono::milliseconds(200)});
  }
  segments::SegmentKpis* kpis = kpis_.get();
  register_segment_api(
      server, SegmentApiContext{*engine_, keys, deps_.metrics,
                                [kpis](const std::string& segment_id) { return kpis->stats(segment_id); },
                                deps_.audit, 100});
  if (webhooks_) {
    register_webhook_api(server,
                         WebhookApiContext{*webhooks_, keys, deps_.metrics, deps_.audit, 1000});
  }
  std::vector<segments::ManagedModel*> models;
  if (propensity_) models.push_back(propensity_.get());
  register_model_api(server, ModelApiContext{std::move(models), keys, deps_.metrics, deps_.audit});
}

void SegmentStack::on_events(const std::vector<profiles::ProfiledEvent>& events) {
  engine_->on_events(events);
  for (const auto& e : events) {
    if (!e.profile_id.empty()) kpis_->observe(e);
  }
}

void SegmentStack::on_merge(const profiles::MergeRecord& merge) {
  engine_->on_merge(merge);
  kpis_->on_merge(merge);
}

void SegmentStack::on_erase(const profiles::ErasedProfile& erased) {
  engine_->on_erase(erased);
  kpis_->forget(erased.profile_id);
  for (const auto& id : erased.merged_profile_ids) kpis_->forget(id);
}

std::map<std::string, std::uint64_t> SegmentStack::sizes() const {
  std::map<std::string, std::uint64_t> out;
  for (const auto& info : engine_->list()) {
    if (!info.retired) out[info.segment_id] = info.members;
  }
  return out;
}

json SegmentStack::segments_of(const std::string& profile_id) const {
  return segment_memberships_json(*engine_, profile_id);
}

// The profile of a replayed event: its identifiers in attribution order, then custom types
// (each looked up once).
std::string SegmentStack::profile_of(const Event& event) const {
  for (const char* type : kAttributionOrder) {
    auto it = event.identities.find(type);
    if (it == event.identities.end()) continue;
    if (auto id = deps_.profiles.lookup(type, it->second)) return std::move(*id);
  }
  for (const auto& [type, value] : event.identities) {
    if (is_standard_identity_type(type)) continue;  // tried above
    if (auto id = deps_.profiles.lookup(type, value)) return std::move(*id);
  }
  return {};
}

Status SegmentStack::replay(UnixMillis since,
                            const std::function<void(const profiles::ProfiledEvent&)>& each) const {
  // Events are selected by when they were stored. One that occurred at `since` is normally
  // stored shortly after, but a producer clock running ahead puts occurred_at after the store
  // time: a day of margin, then the filter on occurred_at.
  const UnixMillis ingested_since = since - 24LL * 3600 * 1000;
  EventDecodeOptions options;
  options.custom_identity_types = &deps_.custom_identity_types;
  std::int64_t cursor = 0;
  std::uint64_t undecodable = 0;
  for (;;) {
    auto page = deps_.store.scan_events(cursor, ingested_since, 1000, cursor);
    if (!page) return page.error();
    if (page->empty()) break;
    for (auto& stored : *page) {
      if (stored.occurred_at < since) continue;
      json payload = json::parse(stored.payload, nullptr, false);
      Event event;
      std::vector<schema::ValidationError> errors;
      if (payload.is_discarded() || !decode_event(std::move(payload), event, errors, options)) {
        ++undecodable;
        continue;
      }
      std::string profile_id = profile_of(event);
      if (profile_id.empty()) continue;
      each(profiles::ProfiledEvent{&event, profile_id});
    }
  }
  if (undecodable > 0) {
    kLog.warn("stored events skipped by a segment backfill: they cannot be decoded",
              {{"events", undecodable}});
  }
  return ok_status();
}

}  // namespace aisle::collector
