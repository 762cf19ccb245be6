#include "collector/recs/models/als_model.hpp"

#include <algorithm>
#include <chrono>

#include "collector/recs/models/item_knn.hpp"
#include "common/log.hpp"

namespace aisle::collector::recs {
namespace {

const log::Logger kLog("collector.recs.als");

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::size_t gram_bytes(std::size_t k) { return k * k * sizeof(double); }

}  // namespace

const float* AlsSnapshot::item_vector(const std::string& item) const {
  const std::size_t k = trained->k;
  if (const auto it = trained->item_rows.find(item); it != trained->item_rows.end()) {
    return trained->item_factors.data() + static_cast<std::size_t>(it->second) * k;
  }
  if (const auto it = folded_rows.find(item); it != folded_rows.end()) {
    return folded_factors.data() + static_cast<std::size_t>(it->second) * k;
  }
  return nullptr;
}

AlsRecommender::AlsRecommender(AlsOptions options, metrics::Registry* metrics, std::string name)
    : name_(std::move(name)), options_(options), ids_(options.max_items) {
  if (metrics == nullptr) return;
  retrains_ok_ = &metrics->counter("aisle_collector_recs_als_retrains_total",
                                   "ALS retrains by result", {{"result", "ok"}});
  retrains_failed_ = &metrics->counter("aisle_collector_recs_als_retrains_total",
                                       "ALS retrains by result", {{"result", "failed"}});
  dropped_total_ = &metrics->counter("aisle_collector_recs_als_dropped_total",
                                     "Interactions the ALS log refused at its max_items bound");
  train_seconds_ = &metrics->gauge("aisle_collector_recs_als_train_seconds",
                                   "Duration of the last ALS retrain (copy, train, index)");
  users_gauge_ = &metrics->gauge("aisle_collector_recs_als_users", "Users in the served ALS model");
  items_gauge_ = &metrics->gauge("aisle_collector_recs_als_items", "Items in the served ALS model");
  folded_gauge_ = &metrics->gauge("aisle_collector_recs_als_folded_items",
                                  "Items folded into the served ALS model since its retrain");
}

AlsRecommender::~AlsRecommender() { stop(); }

void AlsRecommender::observe(const Interaction& interaction) {
  const double weight = kind_weight(options_.weights, interaction.kind);
  if (weight <= 0) return;
  const std::string& key =
      interaction.profile_id.empty() ? interaction.session_key : interaction.profile_id;
  if (key.empty()) return;  // nobody to learn a vector for
  std::lock_guard lock(log_mutex_);
  const auto item = ids_.intern(interaction.item);
  if (!item) {
    ++dropped_;
    if (dropped_total_ != nullptr) dropped_total_->inc();
    return;
  }
  std::uint32_t slot = 0;
  if (const auto it = user_slots_.find(key); it != user_slots_.end()) {
    slot = it->second;
  } else {
    const auto [claimed, reused] = claim_ring_slot(users_, options_.max_users, next_user_slot_);
    if (reused) {
      user_slots_.erase(users_[claimed].key);
      logged_pairs_ -= users_[claimed].items.size();
      users_[claimed].items.clear();
      users_[claimed].head = 0;
    }
    users_[claimed].key = key;
    user_slots_.emplace(key, claimed);
    slot = claimed;
  }
  LoggedUser& user = users_[slot];
  const auto value = static_cast<float>(weight);
  const auto found = std::find_if(user.items.begin(), user.items.end(),
                                  [&](const auto& entry) { return entry.first == *item; });
  if (found != user.items.end()) {
    found->second += value;
  } else if (user.items.size() < options_.max_user_items) {
    user.items.emplace_back(*item, value);
    ++logged_pairs_;
  } else {  // full: the oldest entry gives way
    user.items[user.head] = {*item, value};
    user.head = static_cast<std::uint32_t>((user.head + 1) % user.items.size());
  }

  if (*item < trained_item_count_ || options_.max_folded_items == 0) return;
  auto fresh = fresh_.find(*item);
  if (fresh == fresh_.end()) {
    if (fresh_.size() >= options_.max_folded_items) return;
    fresh = fresh_.emplace(*item, FreshItem{}).first;
  }
  auto& users = fresh->second.users;
  const auto known = std::find_if(users.begin(), users.end(),
                                  [&](const auto& entry) { return entry.first == key; });
  if (known != users.end()) {
    known->second += value;
  } else if (users.size() < options_.fold_in_users_per_item) {
    users.emplace_back(key, value);
  }
}

void AlsRecommender::forget(const std::string& user) {
  std::lock_guard lock(log_mutex_);
  if (const auto it = user_slots_.find(user); it != user_slots_.end()) {
    LoggedUser& logged = users_[it->second];
    logged_pairs_ -= logged.items.size();
    logged.items.clear();
    logged.items.shrink_to_fit();
    logged.head = 0;
    logged.key.clear();  // the slot stays in the ring, empty: retrains skip it
    user_slots_.erase(it);
  }
  for (auto& [id, item] : fresh_) {
    std::erase_if(item.users, [&](const auto& entry) { return entry.first == user; });
  }
}

Status AlsRecommender::retrain_now() {
  std::lock_guard train_lock(train_mutex_);
  const auto start = SteadyClock::now();
  auto model = std::make_shared<AlsTrainedModel>();
  model->k = options_.factors;
  SparseRows user_items;
  std::vector<std::string> user_keys;
  {
    // The copy is the only part that holds the log: the stream waits O(logged pairs), requests
    // never (they do not touch the log).
    std::lock_guard lock(log_mutex_);
    if (logged_pairs_ < options_.min_interactions) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "ALS: " + std::to_string(logged_pairs_) + " interactions logged, " +
                            std::to_string(options_.min_interactions) + " needed");
    }
    model->item_names.reserve(ids_.size());
    for (ItemId id = 0; id < ids_.size(); ++id) model->item_names.push_back(ids_.name(id));
    user_keys.reserve(user_slots_.size());
    user_items.offsets.reserve(user_slots_.size() + 1);
    user_items.columns.reserve(logged_pairs_);
    user_items.values.reserve(logged_pairs_);
    // Slot order: deterministic for a given stream (the hash map's order is not promised).
    for (const LoggedUser& user : users_) {
      if (user.items.empty()) continue;
      user_keys.push_back(user.key);
      user_items.add_row(user.items);
    }
  }
  const std::size_t items = model->item_names.size();
  AlsParams params;
  params.factors = options_.factors;
  params.iterations = options_.iterations;
  params.regularization = options_.regularization;
  params.alpha = options_.alpha;
  params.seed = options_.seed;
  AlsFactors factors = train_als(user_items, items, params);

  auto index = ItemVectorIndex::build(
      factors.items.data(), items, factors.k,
      {options_.hnsw_m, options_.hnsw_ef_construction, options_.hnsw_ef_search, options_.seed});
  if (!index) {
    if (retrains_failed_ != nullptr) retrains_failed_->inc();
    kLog.warn("ALS retrain failed; the previous model keeps serving",
              {{"error", index.error().message}});
    return index.error();
  }
  model->index = std::move(*index);
  model->item_rows.reserve(items);
  for (std::uint32_t row = 0; row < items; ++row) model->item_rows.emplace(model->item_names[row], row);
  model->user_rows.reserve(user_keys.size());
  for (std::uint32_t row = 0; row < user_keys.size(); ++row) {
    model->user_rows.emplace(std::move(user_keys[row]), row);
  }
  model->item_gram = gram_matrix(factors.items, factors.k);
  model->user_gram = gram_matrix(factors.users, factors.k);
  model->item_factors = std::move(factors.items);
  model->user_factors = std::move(factors.users);
  model->pairs = user_items.entries();
  model->train_seconds = seconds_since(start);

  auto snapshot = std::make_shared<AlsSnapshot>();
  snapshot->item_gram = model->item_gram;
  snapshot->trained = std::move(model);
  const AlsTrainedModel& trained = *snapshot->trained;
  publish(std::move(snapshot));
  {
    // Items now trained leave the fold-in queue; those first seen during the retrain stay.
    std::lock_guard lock(log_mutex_);
    trained_item_count_ = items;
    std::erase_if(fresh_, [&](const auto& entry) { return entry.first < items; });
  }
  if (retrains_ok_ != nullptr) retrains_ok_->inc();
  if (train_seconds_ != nullptr) train_seconds_->set(trained.train_seconds);
  if (users_gauge_ != nullptr) users_gauge_->set(static_cast<double>(trained.user_rows.size()));
  if (items_gauge_ != nullptr) items_gauge_->set(static_cast<double>(items));
  if (folded_gauge_ != nullptr) folded_gauge_->set(0);
  kLog.info("ALS model retrained", {{"users", trained.user_rows.size()},
                                    {"items", items},
                                    {"pairs", trained.pairs},
                                    {"seconds", trained.train_seconds}});
  return ok_status();
}

std::size_t AlsRecommender::fold_in_items_now() {
  std::lock_guard train_lock(train_mutex_);
  const std::shared_ptr<const AlsSnapshot> current = snapshot_.load();
  if (!current) return 0;
  const AlsTrainedModel& trained = *current->trained;
  std::vector<std::pair<std::string, FreshItem>> fresh;
  {
    std::lock_guard lock(log_mutex_);
    fresh.reserve(fresh_.size());
    for (const auto& [id, item] : fresh_) fresh.emplace_back(ids_.name(id), item);
  }
  // Deterministic order whatever the hash map's.
  std::sort(fresh.begin(), fresh.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  auto next = std::make_shared<AlsSnapshot>();
  next->trained = current->trained;
  next->item_gram = trained.item_gram;
  const std::size_t k = trained.k;
  std::vector<std::uint32_t> rows;
  std::vector<float> values;
  std::vector<float> vector(k);
  SolveScratch scratch;
  for (const auto& [name, item] : fresh) {
    rows.clear();
    values.clear();
    for (const auto& [user, r] : item.users) {
      const auto it = trained.user_rows.find(user);
      if (it == trained.user_rows.end()) continue;  // a new user too: waits for the retrain
      rows.push_back(it->second);
      values.push_back(r);
    }
    if (rows.empty()) continue;
    if (!solve_row(trained.user_gram, trained.user_factors.data(), k, rows.data(), values.data(),
                   rows.size(), options_.alpha, options_.regularization, vector.data(), scratch)) {
      continue;
    }
    next->folded_rows.emplace(name, static_cast<std::uint32_t>(next->folded_names.size()));
    next->folded_names.push_back(name);
    next->folded_factors.insert(next->folded_factors.end(), vector.begin(), vector.end());
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) {
        next->item_gram[i * k + j] += static_cast<double>(vector[i]) * vector[j];
      }
    }
  }
  const std::size_t folded = next->folded_names.size();
  publish(std::move(next));
  if (folded_gauge_ != nullptr) folded_gauge_->set(static_cast<double>(folded));
  return folded;
}

void AlsRecommender::publish(std::shared_ptr<AlsSnapshot> next) {
  // The generation is set before the store: a reader never sees a snapshot without it.
  next->generation = generation_.fetch_add(1) + 1;
  snapshot_.store(std::move(next));
}

std::optional<std::vector<float>> AlsRecommender::query_vector(const RecContext& context) const {
  const std::shared_ptr<const AlsSnapshot> current = snapshot_.load();
  if (!current) return std::nullopt;
  return query_vector(*current, context);
}

std::optional<std::vector<float>> AlsRecommender::query_vector(const AlsSnapshot& snapshot,
                                                               const RecContext& context) const {
  const AlsTrainedModel& trained = *snapshot.trained;
  const std::size_t k = trained.k;
  // The session's last context_items items (views) and the cart, r summed per item.
  std::vector<std::pair<const float*, float>> entries;
  const auto add = [&](const std::string& item, double weight) {
    const float* vector = snapshot.item_vector(item);
    if (vector == nullptr || weight <= 0) return;
    for (auto& entry : entries) {
      if (entry.first == vector) {
        entry.second += static_cast<float>(weight);
        return;
      }
    }
    entries.emplace_back(vector, static_cast<float>(weight));
  };
  const std::size_t skip = context.session_items.size() > options_.context_items
                               ? context.session_items.size() - options_.context_items
                               : 0;
  for (std::size_t i = skip; i < context.session_items.size(); ++i) {
    add(context.session_items[i], options_.weights.view);
  }
  if (context.session_items.empty() && !context.context_item.empty()) {
    add(context.context_item, options_.weights.view);
  }
  for (const std::string& item : context.cart) add(item, options_.weights.cart);

  std::vector<float> query(k);
  if (!entries.empty()) {
    // The fold-in: the training's user step against the fixed item factors, on a matrix of just
    // the entries' vectors.
    std::vector<float> others;
    others.reserve(entries.size() * k);
    std::vector<std::uint32_t> columns;
    std::vector<float> values;
    for (const auto& [vector, r] : entries) {
      columns.push_back(static_cast<std::uint32_t>(columns.size()));
      values.push_back(r);
      others.insert(others.end(), vector, vector + k);
    }
    SolveScratch scratch;
    if (solve_row(snapshot.item_gram, others.data(), k, columns.data(), values.data(),
                  columns.size(), options_.alpha, options_.regularization, query.data(),
                  scratch)) {
      return query;
    }
  }
  if (!context.profile_id.empty()) {
    if (const auto it = trained.user_rows.find(context.profile_id); it != trained.user_rows.end()) {
      const float* vector = trained.user_factors.data() + static_cast<std::size_t>(it->second) * k;
      query.assign(vector, vector + k);
      return query;
    }
  }
  return std::nullopt;
}

std::vector<Candidate> AlsRecommender::candidates(const RecContext& context, std::size_t n) const {
  std::vector<Candidate> result;
  const std::shared_ptr<const AlsSnapshot> current = snapshot_.load();
  if (!current || n == 0) return result;
  const auto query = query_vector(*current, context);
  if (!query) return result;
  const AlsTrainedModel& trained = *current->trained;
  const std::size_t k = trained.k;
  const bool exclude = context.exclude_current && !context.context_item.empty();
  const std::size_t want = n + (exclude ? 1 : 0);

  std::vector<Candidate> merged;
  for (const VectorHit& hit : trained.index->search(query->data(), want)) {
    merged.push_back({trained.item_names[hit.first], hit.second});
  }
  const std::size_t folded = current->folded_names.size();
  for (const VectorHit& hit :
       brute_force_top(current->folded_factors.data(), folded, k, query->data(), want)) {
    merged.push_back({current->folded_names[hit.first], hit.second});
  }
  std::sort(merged.begin(), merged.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
  for (Candidate& candidate : merged) {
    if (result.size() >= n) break;
    // A predicted preference <= 0 is no recommendation (and would break the blender's
    // normalization by the best score).
    if (!(candidate.score > 0)) break;
    if (exclude && candidate.item == context.context_item) continue;
    result.push_back(std::move(candidate));
  }
  return result;
}

void AlsRecommender::start() {
  std::lock_guard lock(thread_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void AlsRecommender::stop() {
  {
    std::lock_guard lock(thread_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlsRecommender::run() {
  const auto retrain_every = std::chrono::milliseconds(options_.retrain_interval_ms);
  const auto fold_in_every = std::chrono::milliseconds(options_.fold_in_interval_ms);
  auto next_retrain = SteadyClock::now();  // as soon as min_interactions are logged
  auto next_fold_in = SteadyClock::now() + fold_in_every;
  std::unique_lock lock(thread_mutex_);
  while (!stopping_) {
    const auto wake_at = std::min(next_retrain, next_fold_in);
    if (wake_.wait_until(lock, wake_at, [this] { return stopping_; })) break;
    lock.unlock();
    const auto now = SteadyClock::now();
    if (now >= next_retrain) {
      const Status status = retrain_now();
      const bool waiting = !status && status.error().code == ErrorCode::kFailedPrecondition;
      if (!status && !waiting) {
        kLog.warn("ALS retrain failed", {{"error", status.error().message}});
      }
      // No model yet: try again at the next fold-in tick instead of a whole interval later.
      next_retrain = (waiting && !snapshot_.load()) ? now + fold_in_every : now + retrain_every;
      next_fold_in = now + fold_in_every;
    } else if (now >= next_fold_in) {
      fold_in_items_now();
      next_fold_in = now + fold_in_every;
    }
    lock.lock();
  }
}

AlsStatus AlsRecommender::status() const {
  AlsStatus status;
  const std::shared_ptr<const AlsSnapshot> current = snapshot_.load();
  if (!current) return status;
  status.generation = current->generation;
  status.trained_users = current->trained->user_rows.size();
  status.trained_items = current->trained->item_names.size();
  status.trained_pairs = current->trained->pairs;
  status.folded_items = current->folded_names.size();
  status.last_train_seconds = current->trained->train_seconds;
  return status;
}

ModelStats AlsRecommender::stats() const {
  ModelStats stats;
  {
    std::lock_guard lock(log_mutex_);
    stats.items = ids_.size();
    stats.sessions = user_slots_.size();
    stats.entries = logged_pairs_;
    stats.dropped_interactions = dropped_;
    std::size_t bytes = ids_.approx_bytes() + user_slots_.size() * 64;
    for (const LoggedUser& user : users_) {
      bytes += sizeof(LoggedUser) + user.key.capacity() +
               user.items.capacity() * sizeof(std::pair<ItemId, float>);
    }
    for (const auto& [id, item] : fresh_) bytes += 64 + item.users.capacity() * 40;
    stats.approx_bytes = bytes;
  }
  if (const std::shared_ptr<const AlsSnapshot> current = snapshot_.load()) {
    const AlsTrainedModel& trained = *current->trained;
    std::size_t bytes = (trained.item_factors.capacity() + trained.user_factors.capacity() +
                         current->folded_factors.capacity()) *
                            sizeof(float) +
                        3 * gram_bytes(trained.k) + trained.index->approx_bytes();
    for (const std::string& item : trained.item_names) bytes += 2 * (item.size() + 1) + 80;
    for (const auto& [user, row] : trained.user_rows) bytes += user.size() + 1 + 48;
    for (const std::string& item : current->folded_names) bytes += 2 * (item.size() + 1) + 80;
    stats.approx_bytes += bytes;
  }
  return stats;
}

}  // namespace aisle::collector::recs
