// AlsRecommender ("als"): matrix factorization for implicit feedback (Hu, Koren & Volinsky 2008;
// the arithmetic is in als_solver.hpp), served as a CandidateSource.
//
// Life of the data:
// - observe() appends to a bounded interaction log: user -> (item, r), r summing the kind weights
//   (view 1, cart 3, purchase 5). A user is the profile, or the session when there is none.
// - A retrain (retrain_now(), or the background thread every retrain_interval) copies the log,
//   trains user and item factors, builds an HNSW index over the item vectors and publishes the
//   result as a new immutable snapshot with one atomic shared_ptr store. Requests keep the
//   snapshot they loaded; the previous one is freed when its last reader is done.
// - Between retrains, items first seen after the last retrain are folded in (fold_in_items_now(),
//   or the thread every fold_in_interval): each item's vector is the one least-squares solve
//   against the fixed user factors of the users who interacted with it (users the trained model
//   knows). They are searched exactly (few), beside the HNSW index.
// - A request's vector: the current session (its last context_items items, the cart) folded in
//   against the fixed item factors — one k x k solve, the same step training takes for a user —
//   or, when the session is empty, the profile's trained vector. Then the top items by inner
//   product (HNSW + the folded items). Scores are the predicted preferences; items predicted at
//   or below 0 are not proposed.
//
// Threads: observe() from the one stream thread (log mutex, O(1)); candidates() from any number
// of request threads, lock-free with respect to training (they only load the snapshot pointer);
// retrain_now() / fold_in_items_now() serialized by a train mutex, on the background thread
// between start() and stop() or on the caller's thread (tests, offline evaluation). A retrain
// holds the log mutex only while it copies the log (O(logged pairs)), never while it trains.
//
// Memory: the log (max_users x up to max_user_items x 8 B + keys), the snapshot (items x k x 4 B
// item factors + users x k x 4 B user factors + the HNSW graph ~ items x (2 hnsw_m x 4 + 16) B +
// item and user names), and during a retrain a second snapshot being built.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collector/recs/models/als_solver.hpp"
#include "collector/recs/models/item_ids.hpp"
#include "collector/recs/models/item_vector_index.hpp"
#include "collector/recs/models/model_options.hpp"
#include "collector/recs/models/model_support.hpp"
#include "collector/recs/rec_types.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector::recs {

// One retrain's result; immutable once published.
struct AlsTrainedModel {
  std::size_t k = 0;
  std::vector<std::string> item_names;  // by row; row == the log's ItemId
  std::unordered_map<std::string, std::uint32_t> item_rows;
  std::vector<float> item_factors;  // rows x k
  std::vector<double> item_gram;    // Y^T Y
  std::unordered_map<std::string, std::uint32_t> user_rows;
  std::vector<float> user_factors;  // rows x k
  std::vector<double> user_gram;    // X^T X (item fold-in)
  std::unique_ptr<ItemVectorIndex> index;
  std::size_t pairs = 0;  // (user, item) pairs trained on
  double train_seconds = 0;
};

// What a request reads: the trained model and the items folded in since.
struct AlsSnapshot {
  std::shared_ptr<const AlsTrainedModel> trained;
  std::vector<std::string> folded_names;
  std::unordered_map<std::string, std::uint32_t> folded_rows;
  std::vector<float> folded_factors;  // folded rows x k
  std::vector<double> item_gram;      // over trained and folded item vectors (session fold-in)
  std::uint64_t generation = 0;       // grows with every publish

  // The vector of `item` (trained or folded), nullptr when unknown.
  const float* item_vector(const std::string& item) const;
};

struct AlsStatus {
  std::uint64_t generation = 0;  // snapshots published (0: no model yet)
  std::size_t trained_users = 0;
  std::size_t trained_items = 0;
  std::size_t trained_pairs = 0;
  std::size_t folded_items = 0;
  double last_train_seconds = 0;
};

class AlsRecommender final : public CandidateSource {
 public:
  // `metrics` may be null (offline evaluation, tests); otherwise the model exports
  // aisle_collector_recs_als_* (docs/recommendation-models.md).
  explicit AlsRecommender(AlsOptions options, metrics::Registry* metrics = nullptr,
                          std::string name = "als");
  ~AlsRecommender() override;
  AlsRecommender(const AlsRecommender&) = delete;
  AlsRecommender& operator=(const AlsRecommender&) = delete;

  const char* name() const override { return name_.c_str(); }
  void observe(const Interaction& interaction) override;
  std::vector<Candidate> candidates(const RecContext& context, std::size_t n) const override;

  // Erasure: removes the user's (profile's) interactions from the log and the fold-in queue. Its
  // trained vector leaves the served model with the next retrain (within retrain_interval).
  void forget(const std::string& user);

  // Trains on the log now and publishes the model. kFailedPrecondition while fewer than
  // min_interactions pairs are logged; the served model is kept on any error.
  Status retrain_now();
  // Folds the items first seen since the last retrain into the served model; returns how many.
  std::size_t fold_in_items_now();

  // The background thread: a retrain every retrain_interval (and as soon as min_interactions are
  // logged when no model exists yet), a fold-in every fold_in_interval. stop() joins it.
  void start();
  void stop();

  // The snapshot requests currently read (null before the first retrain).
  std::shared_ptr<const AlsSnapshot> snapshot() const { return snapshot_.load(); }
  // The vector a request with `context` would search with (nullopt: the model cannot serve it).
  std::optional<std::vector<float>> query_vector(const RecContext& context) const;
  AlsStatus status() const;
  ModelStats stats() const;

 private:
  struct LoggedUser {
    std::string key;
    std::vector<std::pair<ItemId, float>> items;  // distinct items, r summed
    std::uint32_t head = 0;  // the entry replaced next once items is full
  };
  struct FreshItem {
    std::vector<std::pair<std::string, float>> users;  // user key, r
  };

  std::optional<std::vector<float>> query_vector(const AlsSnapshot& snapshot,
                                                 const RecContext& context) const;
  void publish(std::shared_ptr<AlsSnapshot> next);
  void run();

  const std::string name_;
  const AlsOptions options_;

  // The interaction log (observe) and the items awaiting fold-in.
  mutable std::mutex log_mutex_;
  ItemIds ids_;
  std::vector<LoggedUser> users_;
  std::uint32_t next_user_slot_ = 0;
  std::unordered_map<std::string, std::uint32_t> user_slots_;
  std::size_t logged_pairs_ = 0;
  std::size_t dropped_ = 0;
  std::size_t trained_item_count_ = 0;  // items [0, this) are in the served model
  std::unordered_map<ItemId, FreshItem> fresh_;

  std::mutex train_mutex_;  // one retrain or fold-in at a time
  std::atomic<std::shared_ptr<const AlsSnapshot>> snapshot_;
  std::atomic<std::uint64_t> generation_{0};

  std::mutex thread_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;

  metrics::Counter* retrains_ok_ = nullptr;
  metrics::Counter* retrains_failed_ = nullptr;
  metrics::Counter* dropped_total_ = nullptr;
  metrics::Gauge* train_seconds_ = nullptr;
  metrics::Gauge* users_gauge_ = nullptr;
  metrics::Gauge* items_gauge_ = nullptr;
  metrics::Gauge* folded_gauge_ = nullptr;
};

}  // namespace aisle::collector::recs
