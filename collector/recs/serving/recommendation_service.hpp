// RecommendationService: the collector's recommendation serving (docs/recommendations.md).
//
// As a ProfileListener it turns committed, profiled events into Interactions for the candidate
// sources (the models), keeps each profile's session state (SessionStore) and attributes clicks,
// cart adds and purchases carrying a rec_id to the answer that showed them (ExposureLog,
// Experiments). recommend() answers a request: the placement's strategy (or an experiment's arm)
// blends the sources, the business rules filter and re-weight, diversity spreads the top n, and
// the fallback chain (store popularity -> global popularity -> catalog) fills what is missing,
// so the answer is never empty while the catalog or popularity knows an item.
//
// Threads: on_events/on_merge/on_erase from the one identity-resolution thread; recommend(),
// store_snapshot() and the stats from any thread. The snapshot publisher runs its own thread
// between start_snapshot_publisher() and stop() (or destruction).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/profiles/profile_listener.hpp"
#include "collector/recs/rec_types.hpp"
#include "collector/recs/serving/blender.hpp"
#include "collector/recs/serving/catalog.hpp"
#include "collector/recs/serving/experiments.hpp"
#include "collector/recs/serving/exposure_log.hpp"
#include "collector/recs/serving/recs_options.hpp"
#include "collector/recs/serving/session_store.hpp"
#include "common/clock.hpp"
#include "common/event.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"
#include "common/wire/rec_snapshot.hpp"

namespace aisle::collector::recs {

// The profile's consent (ProfileService), nullopt when the profile is unknown.
using ConsentLookup = std::function<std::optional<ConsentFlags>(const std::string& profile_id)>;
// Publishes an encoded store snapshot (the lead maps it to the store's agents' downlinks,
// kind wire::kRecSnapshotDownlinkKind). Called on the publisher thread.
using SnapshotPublish = std::function<Status(const std::string& store_id, const std::string& payload)>;

struct RecRequest {
  std::string profile_id;  // "" for an anonymous shopper; also the experiment unit
  std::string store_id;
  std::string context_item;
  std::string placement;   // "" = "default"
  std::size_t n = 0;       // 0 = default_n; capped at max_n
};

struct RecItem {
  std::string sku;
  double score = 0;
  std::string source;  // the candidate source, or "popularity_store", "popularity_global", "catalog"
};

struct RecAnswer {
  std::string rec_id;  // UUIDv7
  std::string mode;    // "personalized" | "popular"
  std::string strategy;
  std::string placement;
  std::optional<Assignment> experiment;
  std::vector<RecItem> items;
};

class RecommendationService final : public profiles::ProfileListener {
 public:
  // `catalog` may be null (no availability or category rules then). Sources are looked up by
  // name() from the strategies; one named options.popularity_source serves the fallback chain.
  RecommendationService(RecsOptions options, std::vector<std::shared_ptr<CandidateSource>> sources,
                        Catalog* catalog, ConsentLookup consent, ClockPtr clock,
                        metrics::Registry& metrics, std::uint64_t experiment_seed = 0);
  ~RecommendationService() override;
  RecommendationService(const RecommendationService&) = delete;
  RecommendationService& operator=(const RecommendationService&) = delete;

  void on_events(const std::vector<profiles::ProfiledEvent>& events) override;
  void on_merge(const profiles::MergeRecord& merge) override;
  void on_erase(const profiles::ErasedProfile& erased) override;

  RecAnswer recommend(const RecRequest& request);

  // The compact snapshot agents serve from while the WAN is down: the store's popular items, its
  // assortment (catalog items available there; without a catalog, the popular items) with
  // category, availability and top neighbours from the `neighbour_source` ("item_knn").
  Result<wire::RecSnapshot> store_snapshot(const std::string& store_id) const;

  // Publishes every known store's snapshot (stores seen in events) now and then every
  // options.snapshot_interval, until stop().
  void start_snapshot_publisher(SnapshotPublish publish);
  void stop();
  // One round of publishing (also what the thread runs); returns the snapshots published.
  std::size_t publish_snapshots(const SnapshotPublish& publish);

  // Installs or removes an experiment at runtime (API); validated against the strategies and
  // persisted to options.experiments_path when set.
  // Loads the experiments persisted by earlier API changes (options.experiments_path). When the
  // file exists it replaces the configured experiments as a whole (an experiment removed through
  // the API stays removed). A file that cannot be read is an error (startup: exit 78).
  Status load_persisted_experiments();
  Status set_experiment(const std::string& placement, const ExperimentConfig& config);
  Result<bool> remove_experiment(const std::string& placement);
  Experiments& experiments() { return experiments_; }
  const Experiments& experiments() const { return experiments_; }
  const ExposureLog& exposures() const { return exposures_; }
  const RecsOptions& options() const { return options_; }
  std::vector<std::string> known_stores() const;
  std::optional<ShopperState> shopper(const std::string& profile_id) const {
    return sessions_.get(profile_id);
  }
  std::size_t profiles_held() const { return sessions_.size(); }

 private:
  void observe_event(const Event& event, const std::string& profile_id);
  void attribute(const Event& event);
  bool may_personalize(const std::string& profile_id) const;
  void feed(const Interaction& interaction, bool aggregate_only);
  std::vector<RankedItem> fallback(const RecContext& context, const RuleInput& rules,
                                   std::size_t n) const;
  Status persist_experiments() const;

  RecsOptions options_;
  std::vector<std::shared_ptr<CandidateSource>> sources_;
  std::map<std::string, CandidateSource*> by_name_;
  CandidateSource* popularity_ = nullptr;
  Catalog* catalog_;
  ConsentLookup consent_;
  ClockPtr clock_;
  UuidV7Generator rec_ids_;
  SessionStore sessions_;
  ExposureLog exposures_;
  Experiments experiments_;
  std::atomic<std::uint64_t> generation_{0};  // interactions observed (snapshot generation)

  mutable std::mutex stores_mutex_;
  std::set<std::string> stores_;  // stores seen in events (bounded)

  std::mutex publisher_mutex_;
  std::condition_variable publisher_wake_;
  bool stopping_ = false;
  std::thread publisher_;

  mutable std::mutex persist_mutex_;

  metrics::Registry& metrics_;  // the destructor detaches the gauge callbacks reading `this`

  metrics::Counter& requests_personalized_;
  metrics::Counter& requests_popular_;
  metrics::Counter& fallback_store_;
  metrics::Counter& fallback_global_;
  metrics::Counter& fallback_catalog_;
  metrics::Counter& empty_answers_;
  metrics::Histogram& latency_;
  metrics::Counter& interactions_view_;
  metrics::Counter& interactions_cart_;
  metrics::Counter& interactions_purchase_;
  metrics::Counter& snapshots_published_;
  metrics::Counter& snapshot_failures_;
  metrics::Histogram& snapshot_bytes_;
};

}  // namespace aisle::collector::recs
