#include "collector/recs_stack.hpp"

#include "collector/api/catalog_api.hpp"
#include "collector/api/recs_api.hpp"
#include "collector/recs/models/item_knn.hpp"
#include "collector/recs/models/model_options.hpp"
#include "collector/recs/models/popularity.hpp"
#include "collector/recs/models/session_knn.hpp"
#include "common/log.hpp"
#include "common/wire/rec_snapshot.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.recs");

Error in_section(const std::string& section, const Error& error) {
  return make_error(error.code, section + ": " + error.message);
}

}  // namespace

Result<std::unique_ptr<RecsStack>> RecsStack::open(const json& section, RecsStackDeps deps) {
  const json empty = json::object();
  const json& all = section.is_object() ? section : empty;
  auto options = recs::parse_recs_options(all, deps.data_dir);
  if (!options) return in_section("recs", options.error());
  auto models = recs::parse_recs_models_options(all.contains("models") ? all.at("models") : empty);
  if (!models) return in_section("recs.models", models.error());

  auto s = std::unique_ptr<RecsStack>(new RecsStack(std::move(deps)));
  s->options_ = *options;
  RecsStackDeps& d = s->deps_;
  auto catalog = recs::Catalog::open(
      {options->catalog.path, options->catalog.synchronous_full, options->catalog.max_items},
      d.clock, d.metrics);
  if (!catalog) return in_section("recs.catalog " + options->catalog.path, catalog.error());
  s->catalog_ = std::move(*catalog);

  std::vector<std::shared_ptr<recs::CandidateSource>> sources = {
      std::make_shared<recs::ItemKnn>(models->item_knn),
      std::make_shared<recs::SessionKnn>("vsknn", models->session_knn),
      std::make_shared<recs::Popularity>(models->popularity)};
  if (models->als.enabled) {
    // Matrix factorization: served from snapshots its own thread retrains (start()).
    s->als_ = std::make_shared<recs::AlsRecommender>(models->als, &d.metrics);
    sources.push_back(s->als_);
  }
  profiles::ProfileService* profile_service = &d.profiles;
  s->service_ = std::make_unique<recs::RecommendationService>(
      *options, std::move(sources), s->catalog_.get(),
      // Per request: from the identity graph in memory, not the profile's SQLite row.
      [profile_service](const std::string& profile_id) -> std::optional<ConsentFlags> {
        return profile_service->consent_of_profile(profile_id);
      },
      d.clock, d.metrics);
  if (auto status = s->service_->load_persisted_experiments(); !status) {
    return in_section("recs.experiments", status.error());
  }
  return s;
}

RecsStack::~RecsStack() { stop(); }

void RecsStack::start() {
  if (als_) als_->start();
  RecsStackDeps* d = &deps_;
  service_->start_snapshot_publisher(
      [d](const std::string& store_id, const std::string& payload) -> Status {
        Status result = ok_status();
        for (const auto& agent : d->known_agents()) {
          if (agent.store_id != store_id) continue;
          auto status = d->publish(
              wire::downlink_topic(agent, wire::kRecSnapshotDownlinkKind), payload);
          if (!status) result = status;
        }
        return result;
      });
}

void RecsStack::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (service_) service_->stop();
  if (als_) als_->stop();
}

void RecsStack::register_routes(http::HttpServer& server, const ApiKeys& keys) {
  register_catalog_api(server, CatalogApiContext{*catalog_, keys, deps_.metrics, options_.catalog,
                                                 deps_.audit, 100});
  profiles::ProfileService* profile_service = &deps_.profiles;
  register_recs_api(server,
                    RecsApiContext{*service_, keys, deps_.metrics,
                                   [profile_service](std::string_view type, std::string_view value) {
                                     return profile_service->lookup(type, value);
                                   },
                                   deps_.audit});
}

void RecsStack::on_events(const std::vector<profiles::ProfiledEvent>& events) {
  service_->on_events(events);
}
void RecsStack::on_merge(const profiles::MergeRecord& merge) { service_->on_merge(merge); }
void RecsStack::on_erase(const profiles::ErasedProfile& erased) {
  service_->on_erase(erased);
  if (als_) {
    als_->forget(erased.profile_id);
    for (const std::string& merged : erased.merged_profile_ids) als_->forget(merged);
  }
}

}  // namespace aisle::collector
