// PropensityModel: the learned score "purchase_propensity" (docs/propensity.md). An online
// logistic regression over hashed event features and per-profile session features predicts
// whether the current session will end with a purchase; it is scored on every event and trained
// when the session's outcome is known, prequentially (each example was scored before it is
// trained on). The weights are saved as numbered versions and can be rolled back.
//
// Threads: observe(), on_merge() and forget() come from the segment engine's thread; score(),
// describe(), versions(), rollback() and save() may come from API threads and the saver thread.
// One mutex guards the model and the per-profile state; file I/O happens outside it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "collector/segments/learned/drift_detector.hpp"
#include "collector/segments/learned/managed_model.hpp"
#include "collector/segments/learned/model_versions.hpp"
#include "collector/segments/learned/online_logistic.hpp"
#include "collector/segments/learned/prequential.hpp"
#include "collector/segments/learned/session_features.hpp"
#include "collector/segments/score_provider.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::segments {

inline constexpr const char* kPurchasePropensity = "purchase_propensity";

// Configuration section `segments.propensity` (docs/propensity.md).
struct PropensityOptions {
  bool enabled = true;
  // Where versions are saved: <models_dir>/purchase_propensity/v<n>.json. Not read from the
  // section: the lead sets it to <data_dir>/models. Empty: nothing is saved or loaded.
  std::string models_dir;
  std::int64_t session_gap_ms = 30 * 60 * 1000;  // inactivity that ends a session
  std::size_t max_profiles = 100'000;            // per-profile state kept (LRU beyond)
  std::size_t max_examples_per_session = 20;     // reservoir sample of scored events per session
  int hash_bits = 18;                            // hashed categorical slots: 2^hash_bits
  double learning_rate = 0.1;
  double l2 = 1e-6;
  std::size_t eval_window = 10'000;         // examples in the prequential AUC/log-loss
  std::size_t gauge_every = 5'000;          // examples between AUC/log-loss gauge refreshes...
  std::int64_t gauge_interval_ms = 10'000;  // ...or this much collector time, when slower
  std::int64_t save_interval_ms = 10 * 60 * 1000;  // 0: only at stop and on demand
  std::size_t max_versions = 50;
  std::size_t max_sweep_per_event = 16;  // timed-out sessions closed per observed event
  std::uint64_t seed = 1;                // reservoir sampling (deterministic)
};
Result<PropensityOptions> parse_propensity_options(const nlohmann::json& section);

class PropensityModel final : public ScoreProvider, public ManagedModel {
 public:
  // Loads the latest saved version when options.models_dir has one. Fails when it cannot be read
  // or was saved with another feature layout (hash_bits).
  static Result<std::unique_ptr<PropensityModel>> open(PropensityOptions options,
                                                       DriftOptions drift, ClockPtr clock,
                                                       metrics::Registry& metrics);
  ~PropensityModel() override;

  // Starts the periodic saver (every save_interval_ms). stop() ends it and saves once more.
  void start();
  void stop();

  // ScoreProvider
  std::vector<std::string> models() const override { return {kPurchasePropensity}; }
  void observe(const profiles::ProfiledEvent& event) override;
  std::optional<double> score(std::string_view model, std::string_view profile_id) const override;
  void on_merge(const profiles::MergeRecord& merge) override;
  void forget(std::string_view profile_id) override;

  // ManagedModel
  std::string name() const override { return kPurchasePropensity; }
  nlohmann::json describe() const override;
  Result<std::vector<nlohmann::json>> versions() const override;
  Result<nlohmann::json> rollback(std::uint32_t version) override;

  // Saves the live model as a new version; returns its number. kFailedPrecondition without a
  // models_dir.
  Result<std::uint32_t> save();

  // Closes (as timed out, label 0) every open session of a profile not seen for session_gap_ms
  // of collector time. observe() does this for a few sessions per event; call it from a timer so
  // sessions also end while no events arrive.
  void expire_sessions();

  // Bytes held: weights, per-profile state, evaluator window, drift windows.
  std::size_t memory_bytes() const;
  std::size_t profiles() const;
  // Prequential window, oldest first (tests).
  std::vector<PrequentialEvaluator::Entry> evaluation_window() const;
  const DriftDetector& drift() const { return *drift_; }

 private:
  struct Example {
    FeatureVector x;
    float score = 0;  // the model's score when the example was taken (before any training on it)
  };
  struct Entry;
  using EntryList = std::list<Entry*>;
  struct Entry {
    const std::string* id = nullptr;  // the map key
    PropensitySession session;
    std::vector<Example> pending;  // examples of the open session not yet labelled
    std::uint32_t taken = 0;       // examples offered to the reservoir since the last label
    float score = 0;
    bool scored = false;
    std::chrono::steady_clock::time_point seen{};  // collector time of the latest event
    EntryList::iterator lru;
    EntryList::iterator open_it;  // valid when session.open
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  PropensityModel(PropensityOptions options, DriftOptions drift, ClockPtr clock,
                  metrics::Registry& metrics, std::optional<ModelVersions> versions);

  Entry& touch(const std::string& profile_id);
  void erase(Entry& entry);
  void open_session(Entry& e, UnixMillis at);
  // Labels the session's pending examples and trains on them. `outcome` names the metric label.
  void label_pending(Entry& e, bool label);
  enum class CloseReason { kTimeout, kEnded };
  void close_session(Entry& e, CloseReason reason);
  void sweep(std::chrono::steady_clock::time_point now, std::size_t limit);
  void take_example(Entry& e, const FeatureVector& x, double score);
  void refresh_gauges();
  void observe_drift(const PropensitySession& session);
  nlohmann::json describe_locked() const;
  nlohmann::json snapshot_locked(nlohmann::json& meta) const;
  void saver_loop();

  PropensityOptions options_;
  ClockPtr clock_;
  std::optional<ModelVersions> versions_;

  mutable std::mutex mutex_;
  OnlineLogistic model_;
  PrequentialEvaluator evaluator_;
  std::unique_ptr<DriftDetector> drift_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  EntryList lru_;   // front: most recently touched
  EntryList open_;  // open sessions, front: most recently touched
  std::uint64_t rng_;
  std::uint32_t version_ = 0;  // the version the live weights were last saved as or loaded from
  std::uint64_t updates_at_save_ = 0;  // model_.updates() at that save (unsaved changes?)
  std::uint64_t examples_since_gauges_ = 0;
  std::chrono::steady_clock::time_point gauges_refreshed_{};
  std::uint64_t events_ = 0;

  std::mutex saver_mutex_;
  std::condition_variable saver_cv_;
  bool saver_stop_ = false;
  std::thread saver_;

  metrics::Gauge& auc_gauge_;
  metrics::Gauge& logloss_gauge_;
  metrics::Gauge& profiles_gauge_;
  metrics::Gauge& version_gauge_;
  metrics::Counter& events_total_;
  metrics::Counter& unattributed_total_;
  metrics::Counter& examples_positive_;
  metrics::Counter& examples_negative_;
  metrics::Counter& sessions_purchase_;
  metrics::Counter& sessions_timeout_;
  metrics::Counter& sessions_ended_;
  metrics::Counter& evicted_total_;
  metrics::Counter& examples_dropped_;
  metrics::Counter& saves_total_;
  metrics::Counter& save_failures_total_;
};

}  // namespace aisle::collector::segments
