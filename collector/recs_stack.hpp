// RecsStack: the collector's recommendations composed from the `recs` config section
// (docs/recommendations.md, docs/recommendation-models.md) — the streaming models (item-kNN,
// V-SKNN, popularity; ALS when recs.models.als.enabled, retrained on its own thread), the catalog, the recommendation service with its blender, attribution
// and experiments, and the periodic store snapshots pushed to agents for offline serving. The
// Collector owns one, hands it profiled events (a ProfileListener of the PrivacyStack) and
// registers its routes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/api/api_keys.hpp"
#include "collector/profiles/profile_listener.hpp"
#include "collector/profiles/profile_service.hpp"
#include "collector/recs/models/als_model.hpp"
#include "collector/recs/serving/catalog.hpp"
#include "collector/recs/serving/recommendation_service.hpp"
#include "collector/recs/serving/recs_options.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"
#include "common/wire/topics.hpp"

namespace aisle::collector {

struct RecsStackDeps {
  std::string tenant;
  std::string data_dir;
  profiles::ProfileService& profiles;
  // The agents known per store (snapshots go to each agent of the store).
  std::function<std::vector<wire::AgentAddress>()> known_agents;
  std::function<Status(const std::string& topic, const std::string& payload)> publish;
  std::function<void(const std::string& actor, const std::string& action,
                     const std::string& target, const nlohmann::json& details)>
      audit;
  ClockPtr clock;
  metrics::Registry& metrics;
};

class RecsStack final : public profiles::ProfileListener {
 public:
  // `section` is the config's `recs` object ({} = defaults). Errors name the key.
  static Result<std::unique_ptr<RecsStack>> open(const nlohmann::json& section,
                                                 RecsStackDeps deps);
  ~RecsStack() override;

  void start();  // the snapshot publisher, and the ALS retrain thread when ALS is enabled
  void stop();

  // /v1/catalog/items..., /v1/recommendations..., /v1/experiments..., /v1/recs/snapshot
  void register_routes(http::HttpServer& server, const ApiKeys& keys);
  // The HTTP body limit the catalog upload needs.
  std::size_t max_upload_bytes() const { return options_.catalog.max_upload_bytes; }

  void on_events(const std::vector<profiles::ProfiledEvent>& events) override;
  void on_merge(const profiles::MergeRecord& merge) override;
  void on_erase(const profiles::ErasedProfile& erased) override;

  recs::RecommendationService& service() { return *service_; }
  // The ALS source ("als"), null unless recs.models.als.enabled.
  recs::AlsRecommender* als() { return als_.get(); }

 private:
  explicit RecsStack(RecsStackDeps deps) : deps_(std::move(deps)) {}

  RecsStackDeps deps_;
  recs::RecsOptions options_;
  std::unique_ptr<recs::Catalog> catalog_;
  std::shared_ptr<recs::AlsRecommender> als_;
  std::unique_ptr<recs::RecommendationService> service_;
  bool stopped_ = false;
};

}  // namespace aisle::collector
