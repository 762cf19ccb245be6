// SegmentStack: the collector's behavioural segments composed from the `segments` config section
// (docs/segments.md) — the segment engine, the purchase-propensity model its score() conditions
// read, the per-segment KPIs, and the delivery of every entry/exit to the shopper's store agent
// (MQTT downlink), to registered webhooks and to the SSE stream. The Collector owns one, hands it
// every profiled event (it is a ProfileListener of the PrivacyStack) and registers its routes.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/api/api_keys.hpp"
#include "collector/profiles/profile_listener.hpp"
#include "collector/profiles/profile_service.hpp"
#include "collector/segments/kpi/segment_kpis.hpp"
#include "collector/segments/learned/propensity_model.hpp"
#include "collector/segments/notify/agent_downlink.hpp"
#include "collector/segments/notify/change_fanout.hpp"
#include "collector/segments/notify/segment_stream_hub.hpp"
#include "collector/segments/notify/webhook_dispatcher.hpp"
#include "collector/segments/segment_engine.hpp"
#include "collector/store/event_store.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

using AuditFunction = std::function<void(const std::string& actor, const std::string& action,
                                         const std::string& target, const nlohmann::json& details)>;

struct SegmentStackDeps {
  std::string tenant;
  std::string data_dir;  // default home of segments.db, webhooks.db and models/
  EventStore& store;     // backfills replay stored events
  profiles::ProfileService& profiles;
  segments::PublishWithQos publish;
  AuditFunction audit;
  std::set<std::string, std::less<>> custom_identity_types;
  ClockPtr clock;
  metrics::Registry& metrics;
};

class SegmentStack final : public profiles::ProfileListener {
 public:
  // `section` is the config's `segments` object ({} = defaults). Errors name the key.
  static Result<std::unique_ptr<SegmentStack>> open(const nlohmann::json& section,
                                                    SegmentStackDeps deps);
  ~SegmentStack() override;

  void start();
  // Stops the engine first, then delivers what is queued (fanout), then the webhooks.
  void stop();

  // GET /v1/segments/stream (before /v1/segments/{id}), /v1/segments..., /v1/webhooks...,
  // /v1/models...
  void register_routes(http::HttpServer& server, const ApiKeys& keys);

  void on_events(const std::vector<profiles::ProfiledEvent>& events) override;
  void on_merge(const profiles::MergeRecord& merge) override;
  void on_erase(const profiles::ErasedProfile& erased) override;

  segments::SegmentEngine& engine() { return *engine_; }
  // Members per active segment (dashboard).
  std::map<std::string, std::uint64_t> sizes() const;
  // The profile's segments with entered_at, for GET /v1/profiles/{id}.
  nlohmann::json segments_of(const std::string& profile_id) const;

 private:
  explicit SegmentStack(SegmentStackDeps deps) : deps_(std::move(deps)) {}
  std::string profile_of(const Event& event) const;
  // Stored events since `since` (occurred_at) in commit order, each with its profile now.
  Status replay(UnixMillis since,
                const std::function<void(const profiles::ProfiledEvent&)>& each) const;

  SegmentStackDeps deps_;
  std::shared_ptr<segments::PropensityModel> propensity_;
  std::shared_ptr<segments::SegmentKpis> kpis_;
  std::unique_ptr<segments::AgentDownlink> downlink_;
  std::unique_ptr<segments::WebhookDispatcher> webhooks_;
  std::unique_ptr<segments::SegmentStreamHub> stream_;
  std::shared_ptr<segments::ChangeFanout> fanout_;
  std::unique_ptr<segments::SegmentEngine> engine_;
  bool stopped_ = false;
};

}  // namespace aisle::collector
