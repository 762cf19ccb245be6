#include "collector/segments/learned/propensity_model.hpp"

#include <algorithm>
#include <cmath>

#include "common/log.hpp"
#include "common/time_format.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.segments.propensity");

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

nlohmann::json optional_number(std::optional<double> v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

LogisticParams params_of(const PropensityOptions& o) {
  return LogisticParams{o.hash_bits, o.learning_rate, o.l2};
}

std::vector<std::string> drift_feature_names() {
  return {kNumericFeatureNames.begin(), kNumericFeatureNames.begin() + kDriftFeatureCount};
}

}  // namespace

Result<std::unique_ptr<PropensityModel>> PropensityModel::open(PropensityOptions options,
                                                               DriftOptions drift, ClockPtr clock,
                                                               metrics::Registry& metrics) {
  std::optional<ModelVersions> versions;
  nlohmann::json loaded;
  if (!options.models_dir.empty()) {
    auto opened = ModelVersions::open(
        std::filesystem::path(options.models_dir) / kPurchasePropensity, options.max_versions);
    if (!opened) return opened.error();
    versions.emplace(std::move(*opened));
    if (versions->latest() > 0) {
      auto doc = versions->load(versions->latest());
      if (!doc) return doc.error();
      loaded = std::move(*doc);
    }
  }
  std::unique_ptr<PropensityModel> model(new PropensityModel(
      options, std::move(drift), std::move(clock), metrics, std::move(versions)));
  if (!loaded.is_null()) {
    auto weights =
        OnlineLogistic::from_json(loaded.value("model", nlohmann::json()), params_of(options));
    if (!weights) {
      return make_error(weights.error().code, model->versions_->dir().string() + "/v" +
                                                  std::to_string(model->versions_->latest()) +
                                                  ".json: " + weights.error().message);
    }
    model->model_ = std::move(*weights);
    model->version_ = model->versions_->latest();
    model->updates_at_save_ = model->model_.updates();
    model->version_gauge_.set(model->version_);
    kLog.info("loaded model", {{"model", kPurchasePropensity},
                               {"version", model->version_},
                               {"examples", model->model_.updates()}});
  }
  return model;
}

PropensityModel::PropensityModel(PropensityOptions options, DriftOptions drift, ClockPtr clock,
                                 metrics::Registry& metrics, std::optional<ModelVersions> versions)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      versions_(std::move(versions)),
      model_(params_of(options_)),
      evaluator_(options_.eval_window),
      drift_(std::make_unique<DriftDetector>(std::move(drift), drift_feature_names(), metrics,
                                             clock_)),
      rng_(options_.seed),
      auc_gauge_(metrics.gauge("aisle_collector_propensity_auc",
                               "Prequential AUC of purchase_propensity over the last eval_window "
                               "labelled examples")),
      logloss_gauge_(metrics.gauge("aisle_collector_propensity_logloss",
                                   "Prequential mean log-loss of purchase_propensity over the "
                                   "last eval_window labelled examples")),
      profiles_gauge_(metrics.gauge("aisle_collector_propensity_profiles",
                                    "Profiles whose session state the propensity model keeps")),
      version_gauge_(metrics.gauge("aisle_collector_propensity_model_version",
                                   "Saved version the live propensity weights descend from")),
      events_total_(metrics.counter("aisle_collector_propensity_events_total",
                                    "Events observed (scored) by the propensity model")),
      unattributed_total_(metrics.counter("aisle_collector_propensity_unattributed_total",
                                          "Events without a profile, not scored")),
      examples_positive_(metrics.counter("aisle_collector_propensity_examples_total",
                                         "Labelled examples trained on", {{"label", "positive"}})),
      examples_negative_(metrics.counter("aisle_collector_propensity_examples_total",
                                         "Labelled examples trained on", {{"label", "negative"}})),
      sessions_purchase_(metrics.counter("aisle_collector_propensity_labels_total",
                                         "Times a session's pending examples were labelled",
                                         {{"outcome", "purchase"}})),
      sessions_timeout_(metrics.counter("aisle_collector_propensity_labels_total",
                                        "Times a session's pending examples were labelled",
                                        {{"outcome", "timeout"}})),
      sessions_ended_(metrics.counter("aisle_collector_propensity_labels_total",
                                      "Times a session's pending examples were labelled",
                                      {{"outcome", "session_end"}})),
      evicted_total_(metrics.counter("aisle_collector_propensity_evicted_total",
                                     "Profiles whose state was evicted (max_profiles)")),
      examples_dropped_(metrics.counter("aisle_collector_propensity_examples_dropped_total",
                                        "Pending examples dropped unlabelled (eviction, erasure, "
                                        "merge overflow)")),
      saves_total_(
          metrics.counter("aisle_collector_propensity_saves_total", "Model versions saved")),
      save_failures_total_(metrics.counter("aisle_collector_propensity_save_failures_total",
                                           "Model saves that failed (logged)")) {}

PropensityModel::~PropensityModel() {
  {
    std::lock_guard lock(saver_mutex_);
    saver_stop_ = true;
  }
  saver_cv_.notify_all();
  if (saver_.joinable()) saver_.join();
}

void PropensityModel::start() {
  if (!versions_ || options_.save_interval_ms <= 0 || saver_.joinable()) return;
  {
    std::lock_guard lock(saver_mutex_);
    saver_stop_ = false;
  }
  saver_ = std::thread([this] { saver_loop(); });
}

void PropensityModel::stop() {
  {
    std::lock_guard lock(saver_mutex_);
    saver_stop_ = true;
  }
  saver_cv_.notify_all();
  if (saver_.joinable()) saver_.join();
  if (!versions_) return;
  bool dirty = false;
  {
    std::lock_guard lock(mutex_);
    dirty = model_.updates() != updates_at_save_;
  }
  if (dirty) {
    if (auto saved = save(); !saved) {
      kLog.error("cannot save the model at stop", {{"error", saved.error().message}});
    }
  }
}

void PropensityModel::saver_loop() {
  std::unique_lock lock(saver_mutex_);
  while (!saver_stop_) {
    saver_cv_.wait_for(lock, std::chrono::milliseconds(options_.save_interval_ms),
                       [this] { return saver_stop_; });
    if (saver_stop_) break;
    lock.unlock();
    bool dirty = false;
    {
      std::lock_guard model_lock(mutex_);
      dirty = model_.updates() != updates_at_save_;
    }
    if (dirty) {
      if (auto saved = save(); !saved) {
        kLog.warn("periodic model save failed", {{"error", saved.error().message}});
      }
    }
    lock.lock();
  }
}

PropensityModel::Entry& PropensityModel::touch(const std::string& profile_id) {
  if (auto it = entries_.find(profile_id); it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  while (!lru_.empty() && entries_.size() >= options_.max_profiles) {
    Entry& victim = *lru_.back();
    examples_dropped_.inc(static_cast<double>(victim.pending.size()));
    evicted_total_.inc();
    erase(victim);
  }
  auto [it, inserted] = entries_.try_emplace(profile_id);
  Entry& e = it->second;
  e.id = &it->first;
  lru_.push_front(&e);
  e.lru = lru_.begin();
  profiles_gauge_.set(static_cast<double>(entries_.size()));
  return e;
}

void PropensityModel::erase(Entry& e) {
  lru_.erase(e.lru);
  if (e.session.open) open_.erase(e.open_it);
  entries_.erase(entries_.find(*e.id));
  profiles_gauge_.set(static_cast<double>(entries_.size()));
}

void PropensityModel::open_session(Entry& e, UnixMillis at) {
  e.session.start(at);
  e.pending.clear();
  e.taken = 0;
  open_.push_front(&e);
  e.open_it = open_.begin();
}

void PropensityModel::label_pending(Entry& e, bool label) {
  if (e.pending.empty()) return;
  observe_drift(e.session);
  // Prequential order: every pending example carries the score it got when it was taken, before
  // this (or any later) training step could have seen it.
  for (const auto& ex : e.pending) {
    evaluator_.add(ex.score, label);
    model_.update(ex.x, label);
  }
  (label ? examples_positive_ : examples_negative_).inc(static_cast<double>(e.pending.size()));
  examples_since_gauges_ += e.pending.size();
  e.pending.clear();
  e.taken = 0;
  // The exact AUC sorts the window: refresh after gauge_every examples, or after
  // gauge_interval_ms on a quiet stream, not on every label.
  if (examples_since_gauges_ >= options_.gauge_every ||
      (examples_since_gauges_ > 0 && clock_->now_steady() - gauges_refreshed_ >=
                                         std::chrono::milliseconds(options_.gauge_interval_ms))) {
    refresh_gauges();
  }
}

void PropensityModel::observe_drift(const PropensitySession& session) {
  // One value per labelled session (or part of a session up to a purchase), not per event:
  // consecutive events of one session are strongly correlated, which the KS test (independent
  // samples) would read as drift.
  const auto raw = session.raw_features(session.last_event);
  drift_->observe(raw.data(), kDriftFeatureCount);
}

void PropensityModel::close_session(Entry& e, CloseReason reason) {
  if (!e.session.open) return;
  if (!e.pending.empty()) {
    (reason == CloseReason::kTimeout ? sessions_timeout_ : sessions_ended_).inc();
  }
  label_pending(e, false);
  e.session.open = false;
  e.scored = false;
  open_.erase(e.open_it);
}

void PropensityModel::take_example(Entry& e, const FeatureVector& x, double score) {
  ++e.taken;
  const Example example{x, static_cast<float>(score)};
  if (e.pending.size() < options_.max_examples_per_session) {
    // Grow by doubling but never past the cap (a plain push_back would reach 32 for a cap of 20).
    if (e.pending.size() == e.pending.capacity()) {
      e.pending.reserve(std::min(std::max<std::size_t>(4, 2 * e.pending.capacity()),
                                 options_.max_examples_per_session));
    }
    e.pending.push_back(example);
    return;
  }
  // Reservoir sampling: every event of a long session has the same chance to be kept.
  const std::uint64_t j = splitmix64(rng_) % e.taken;
  if (j < e.pending.size()) e.pending[j] = example;
}

void PropensityModel::refresh_gauges() {
  examples_since_gauges_ = 0;
  gauges_refreshed_ = clock_->now_steady();
  if (auto auc = evaluator_.auc()) auc_gauge_.set(*auc);
  if (auto loss = evaluator_.log_loss()) logloss_gauge_.set(*loss);
}

void PropensityModel::observe(const profiles::ProfiledEvent& profiled) {
  if (!options_.enabled || profiled.event == nullptr) return;
  events_total_.inc();
  if (profiled.profile_id.empty()) {
    unattributed_total_.inc();
    return;
  }
  const Event& event = *profiled.event;
  const auto now = clock_->now_steady();
  std::lock_guard lock(mutex_);
  ++events_;
  Entry& e = touch(profiled.profile_id);
  e.seen = now;
  // A late event does not move the session's clock backwards.
  const UnixMillis at = std::max(event.occurred_at, e.session.last_event);
  if (e.session.open && at - e.session.last_event > options_.session_gap_ms) {
    close_session(e, CloseReason::kTimeout);
  }
  if (event.type == "session_start" && e.session.open && e.session.events > 0) {
    close_session(e, CloseReason::kEnded);
  }
  if (!e.session.open) open_session(e, at);
  open_.splice(open_.begin(), open_, e.open_it);
  e.session.apply(event, at);

  const auto raw = e.session.raw_features(at);
  const FeatureVector x = make_features(model_, event, raw);
  const double p = model_.predict(x);
  e.score = static_cast<float>(p);
  e.scored = true;

  if (is_sale(event)) {
    if (!e.pending.empty()) sessions_purchase_.inc();
    label_pending(e, true);
    e.session.record_purchase(at);
  } else if (event.type == "session_end") {
    close_session(e, CloseReason::kEnded);
  } else {
    take_example(e, x, p);
  }

  sweep(now, options_.max_sweep_per_event);
}

void PropensityModel::sweep(std::chrono::steady_clock::time_point now, std::size_t limit) {
  // open_ is in processing order (front: most recently seen), so the idle sessions are at the
  // back and the walk stops at the first one still within its gap.
  const auto gap = std::chrono::milliseconds(options_.session_gap_ms);
  for (std::size_t swept = 0; swept < limit && !open_.empty(); ++swept) {
    Entry& oldest = *open_.back();
    if (now - oldest.seen <= gap) break;
    close_session(oldest, CloseReason::kTimeout);
  }
}

void PropensityModel::expire_sessions() {
  std::lock_guard lock(mutex_);
  sweep(clock_->now_steady(), SIZE_MAX);
  refresh_gauges();
}

std::optional<double> PropensityModel::score(std::string_view model,
                                             std::string_view profile_id) const {
  if (model != kPurchasePropensity) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(profile_id);
  if (it == entries_.end() || !it->second.scored) return std::nullopt;
  return it->second.score;
}

void PropensityModel::on_merge(const profiles::MergeRecord& merge) {
  std::lock_guard lock(mutex_);
  if (entries_.find(merge.from) == entries_.end()) return;
  Entry& into = touch(merge.into);
  const auto from_it = entries_.find(merge.from);  // touch() may have evicted it
  if (from_it == entries_.end()) return;
  Entry& from = from_it->second;
  const bool adopt = !into.session.open && from.session.open;
  into.session.merge_from(from.session);
  if (adopt) {
    into.pending = std::move(from.pending);
    into.taken = from.taken;
    into.score = from.score;
    into.scored = from.scored;
    into.seen = std::max(into.seen, from.seen);
    open_.push_front(&into);
    into.open_it = open_.begin();
  } else {
    for (const auto& ex : from.pending) {
      if (into.pending.size() < options_.max_examples_per_session) {
        into.pending.push_back(ex);
      } else {
        examples_dropped_.inc();
      }
    }
  }
  from.pending.clear();
  erase(from);
}

void PropensityModel::forget(std::string_view profile_id) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(profile_id);
  if (it == entries_.end()) return;
  // Erasure: the pending examples are dropped, not trained on.
  examples_dropped_.inc(static_cast<double>(it->second.pending.size()));
  erase(it->second);
}

nlohmann::json PropensityModel::describe_locked() const {
  return {{"name", kPurchasePropensity},
          {"version", version_},
          {"examples", model_.updates()},
          {"unsaved_examples", model_.updates() - updates_at_save_},
          {"window_examples", evaluator_.size()},
          {"window_positives", evaluator_.positives()},
          {"auc", optional_number(evaluator_.auc())},
          {"log_loss", optional_number(evaluator_.log_loss())},
          {"profiles", entries_.size()},
          {"open_sessions", open_.size()},
          {"hash_bits", options_.hash_bits},
          {"events", events_}};
}

nlohmann::json PropensityModel::describe() const {
  nlohmann::json j;
  {
    std::lock_guard lock(mutex_);
    j = describe_locked();
  }
  j["memory_bytes"] = memory_bytes();
  j["drift"] = drift_->status_json();
  return j;
}

Result<std::vector<nlohmann::json>> PropensityModel::versions() const {
  if (!versions_) return std::vector<nlohmann::json>{};
  return versions_->list_meta();
}

Result<std::uint32_t> PropensityModel::save() {
  if (!versions_) {
    return make_error(ErrorCode::kFailedPrecondition, "model " + std::string(kPurchasePropensity) +
                                                          " has no models_dir to save to");
  }
  nlohmann::json meta;
  nlohmann::json body;
  std::uint64_t updates = 0;
  {
    std::lock_guard lock(mutex_);
    const auto d = describe_locked();
    meta = {{"model", kPurchasePropensity},
            {"saved_at", format_rfc3339_ms(clock_->now_unix_ms())},
            {"parent", version_},
            {"examples", d["examples"]},
            {"auc", d["auc"]},
            {"log_loss", d["log_loss"]},
            {"window_examples", d["window_examples"]},
            {"hash_bits", options_.hash_bits}};
    body["model"] = model_.to_json();
    updates = model_.updates();
  }
  auto saved = versions_->save(std::move(meta), std::move(body));
  if (!saved) {
    save_failures_total_.inc();
    return saved.error();
  }
  saves_total_.inc();
  {
    std::lock_guard lock(mutex_);
    version_ = *saved;
    updates_at_save_ = updates;
  }
  version_gauge_.set(*saved);
  kLog.info("saved model",
            {{"model", kPurchasePropensity}, {"version", *saved}, {"examples", updates}});
  return *saved;
}

Result<nlohmann::json> PropensityModel::rollback(std::uint32_t version) {
  if (!versions_) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "model " + std::string(kPurchasePropensity) + " keeps no versions");
  }
  auto doc = versions_->load(version);
  if (!doc) return doc.error();
  auto weights =
      OnlineLogistic::from_json(doc->value("model", nlohmann::json()), params_of(options_));
  if (!weights) return weights.error();
  {
    std::lock_guard lock(mutex_);
    model_ = std::move(*weights);
    // The window measured the replaced weights; the restored ones start a fresh measurement.
    evaluator_.reset();
    version_ = version;
    updates_at_save_ = model_.updates();
  }
  auto saved = save();
  if (!saved) return saved.error();
  kLog.warn("model rolled back",
            {{"model", kPurchasePropensity}, {"to_version", version}, {"saved_as", *saved}});
  return describe();
}

std::size_t PropensityModel::memory_bytes() const {
  std::lock_guard lock(mutex_);
  // Per profile: the hash-map node (key, Entry, next pointer, cached hash), the key's heap buffer
  // when longer than the small-string buffer, the pending examples, SKU hashes and the LRU and
  // open-session list nodes (3 words each).
  std::size_t bytes = sizeof(*this) + model_.memory_bytes() +
                      options_.eval_window * sizeof(PrequentialEvaluator::Entry) +
                      entries_.bucket_count() * sizeof(void*);
  constexpr std::size_t kNode = sizeof(std::pair<const std::string, Entry>) + 2 * sizeof(void*);
  constexpr std::size_t kListNode = 3 * sizeof(void*);
  for (const auto& [id, e] : entries_) {
    bytes += kNode + kListNode + (e.session.open ? kListNode : 0) +
             (id.capacity() > 15 ? id.capacity() + 1 : 0) + e.pending.capacity() * sizeof(Example) +
             e.session.items.capacity() * sizeof(std::uint32_t);
  }
  return bytes + drift_->memory_bytes();
}

std::size_t PropensityModel::profiles() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::vector<PrequentialEvaluator::Entry> PropensityModel::evaluation_window() const {
  std::lock_guard lock(mutex_);
  return evaluator_.entries();
}

}  // namespace aisle::collector::segments
