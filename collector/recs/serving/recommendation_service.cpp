// RecommendationService, the serving half: requests, fallback chain, snapshots, experiments.
#include "collector/recs/serving/recommendation_service.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector::recs {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.recs");

constexpr const char* kStoreFallback = "popularity_store";
constexpr const char* kGlobalFallback = "popularity_global";
constexpr const char* kCatalogFallback = "catalog";
constexpr const char* kPopularStrategy = "popular";
constexpr const char* kNeighbourSource = "item_knn";

std::vector<double> request_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5};
}

}  // namespace

RecommendationService::RecommendationService(RecsOptions options,
                                             std::vector<std::shared_ptr<CandidateSource>> sources,
                                             Catalog* catalog, ConsentLookup consent,
                                             ClockPtr clock, metrics::Registry& metrics,
                                             std::uint64_t experiment_seed)
    : options_(std::move(options)),
      sources_(std::move(sources)),
      catalog_(catalog),
      consent_(std::move(consent)),
      clock_(std::move(clock)),
      rec_ids_(clock_),
      sessions_(options_.session.max_profiles),
      exposures_(options_.attribution, metrics),
      experiments_(experiment_seed != 0 ? experiment_seed : std::random_device{}()),
      metrics_(metrics),
      requests_personalized_(metrics.counter("aisle_collector_recs_requests_total",
                                             "Recommendation answers by mode",
                                             {{"mode", "personalized"}})),
      requests_popular_(metrics.counter("aisle_collector_recs_requests_total",
                                        "Recommendation answers by mode", {{"mode", "popular"}})),
      fallback_store_(metrics.counter("aisle_collector_recs_fallback_total",
                                      "Answers completed by a fallback level",
                                      {{"level", kStoreFallback}})),
      fallback_global_(metrics.counter("aisle_collector_recs_fallback_total",
                                       "Answers completed by a fallback level",
                                       {{"level", kGlobalFallback}})),
      fallback_catalog_(metrics.counter("aisle_collector_recs_fallback_total",
                                        "Answers completed by a fallback level",
                                        {{"level", kCatalogFallback}})),
      empty_answers_(metrics.counter(
          "aisle_collector_recs_empty_answers_total",
          "Answers with no item (neither models nor catalog know any item for the request)")),
      latency_(metrics.histogram("aisle_collector_recs_request_seconds",
                                 "Time to compute a recommendation answer (without HTTP)",
                                 request_buckets())),
      interactions_view_(metrics.counter("aisle_collector_recs_interactions_total",
                                         "Interactions fed to the models", {{"kind", "view"}})),
      interactions_cart_(metrics.counter("aisle_collector_recs_interactions_total",
                                         "Interactions fed to the models", {{"kind", "cart"}})),
      interactions_purchase_(metrics.counter("aisle_collector_recs_interactions_total",
                                             "Interactions fed to the models",
                                             {{"kind", "purchase"}})),
      snapshots_published_(metrics.counter("aisle_collector_recs_snapshots_published_total",
                                           "Store snapshots published to agents")),
      snapshot_failures_(metrics.counter(
          "aisle_collector_recs_snapshot_failures_total",
          "Store snapshots that could not be built, encoded or published")),
      snapshot_bytes_(metrics.histogram("aisle_collector_recs_snapshot_bytes",
                                        "Size of encoded store snapshots",
                                        metrics::size_buckets_bytes())) {
  for (const auto& source : sources_) {
    by_name_[source->name()] = source.get();
  }
  for (const auto& [strategy, weights] : options_.strategies) {
    for (const auto& [source, weight] : weights) {
      if (!by_name_.count(source)) {
        kLog.warn("a strategy names a candidate source that is not running; it is skipped",
                  {{"strategy", strategy}, {"source", source}});
      }
    }
  }
  auto it = by_name_.find(options_.popularity_source);
  if (it != by_name_.end()) popularity_ = it->second;
  for (const auto& [placement, config] : options_.experiments) experiments_.set(placement, config);
  metrics.gauge_callback("aisle_collector_recs_profiles", "Profiles with session state held", {},
                         [this] { return static_cast<double>(sessions_.size()); });
  metrics.gauge_callback("aisle_collector_recs_exposures", "Answers remembered for attribution",
                         {}, [this] { return static_cast<double>(exposures_.size()); });
}

RecommendationService::~RecommendationService() {
  stop();
  metrics_.gauge_callback("aisle_collector_recs_profiles", "Profiles with session state held", {},
                          [] { return 0.0; });
  metrics_.gauge_callback("aisle_collector_recs_exposures", "Answers remembered for attribution",
                          {}, [] { return 0.0; });
}

std::vector<RankedItem> RecommendationService::fallback(const RecContext& context,
                                                        const RuleInput& rules,
                                                        std::size_t n) const {
  std::vector<RankedItem> out;
  std::unordered_set<std::string> seen;
  auto take = [&](std::vector<RankedItem> items) {
    apply_rules(items, rules, options_, catalog_);
    for (auto& item : items) {
      if (out.size() >= n) break;
      if (seen.insert(item.item).second) out.push_back(std::move(item));
    }
  };
  const std::size_t ask = n * options_.candidate_multiplier;
  if (popularity_ != nullptr) {
    if (!context.store_id.empty()) {
      auto items = blend({{kStoreFallback, 1.0, popularity_->candidates(context, ask)}});
      take(std::move(items));
      if (!out.empty()) fallback_store_.inc();
    }
    if (out.size() < n) {
      RecContext global = context;
      global.store_id.clear();
      const std::size_t before = out.size();
      take(blend({{kGlobalFallback, 1.0, popularity_->candidates(global, ask)}}));
      if (out.size() > before) fallback_global_.inc();
    }
  }
  if (out.size() < n && catalog_ != nullptr) {
    const std::size_t before = out.size();
    auto skus = catalog_->fallback_items(context.store_id, n + seen.size() + rules.cart.size() +
                                                               rules.purchases.size() + 1,
                                         [](const CatalogItem&) { return true; });
    std::vector<RankedItem> items;
    for (std::size_t i = 0; i < skus.size(); ++i) {
      // Catalog order carries no preference; a small decreasing score keeps it stable.
      items.push_back({skus[i], 1.0 / static_cast<double>(i + 2), kCatalogFallback, "", -1});
    }
    take(std::move(items));
    if (out.size() > before) fallback_catalog_.inc();
  }
  return out;
}

RecAnswer RecommendationService::recommend(const RecRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  RecAnswer answer;
  answer.rec_id = rec_ids_.next().to_string();
  answer.placement = request.placement.empty() ? "default" : request.placement;
  const std::size_t n =
      std::min(options_.max_n, request.n == 0 ? options_.default_n : request.n);
  const PlacementOptions& placement = options_.placement(answer.placement);
  const UnixMillis now = clock_->now_unix_ms();
  const bool personalize = may_personalize(request.profile_id);

  std::optional<ShopperState> state;
  if (personalize) state = sessions_.get(request.profile_id);

  RecContext context;
  context.store_id = request.store_id;
  context.context_item = request.context_item;
  context.placement = answer.placement;
  context.now = now;
  context.exclude_current = placement.exclude_current;
  RuleInput rules;
  rules.store_id = request.store_id;
  rules.context_item = request.context_item;
  rules.exclude_current = placement.exclude_current;
  rules.exclude_cart = placement.exclude_cart;
  rules.now = now;
  if (personalize) {
    context.profile_id = request.profile_id;
    if (state) {
      context.session_items = state->session_items;
      context.cart = state->cart;
      rules.cart = state->cart;
      rules.purchases = state->purchases;
    }
  }

  std::vector<RankedItem> ranked;
  if (personalize) {
    answer.experiment = experiments_.assign(answer.placement, request.profile_id);
    answer.strategy = answer.experiment ? answer.experiment->strategy
                      : !placement.strategy.empty() ? placement.strategy
                                                    : options_.default_strategy;
    auto strategy = options_.strategies.find(answer.strategy);
    if (strategy != options_.strategies.end()) {
      std::vector<SourceCandidates> lists;
      const std::size_t ask = n * options_.candidate_multiplier;
      for (const auto& [name, weight] : strategy->second) {
        auto source = by_name_.find(name);
        if (source == by_name_.end() || weight <= 0) continue;
        lists.push_back({name, weight, source->second->candidates(context, ask)});
      }
      ranked = blend(lists);
      apply_rules(ranked, rules, options_, catalog_);
    }
  } else {
    answer.strategy = kPopularStrategy;
  }
  const bool from_models = std::any_of(ranked.begin(), ranked.end(), [&](const RankedItem& i) {
    return i.source != options_.popularity_source;
  });

  // Diversity over the personalized ranking, then the fallback chain fills what is missing,
  // below every personalized item.
  std::vector<RankedItem> top = diversify(std::move(ranked), placement.diversity, n);
  if (top.size() < n) {
    RecContext popular = context;
    popular.profile_id.clear();
    popular.session_items.clear();
    popular.cart.clear();
    auto more = fallback(popular, rules, n + top.size());
    const double floor = top.empty() ? 1.0 : top.back().score;
    double best = 0;
    for (const auto& m : more) best = std::max(best, m.score);
    std::unordered_set<std::string> shown;
    for (const auto& t : top) shown.insert(t.item);
    std::vector<RankedItem> extra;
    for (auto& m : more) {
      if (shown.count(m.item)) continue;
      if (best > 0) m.score = floor * 0.5 * m.score / best;
      extra.push_back(std::move(m));
    }
    auto spread = diversify(std::move(extra), placement.diversity, n - top.size());
    for (auto& s : spread) top.push_back(std::move(s));
  }
  if (top.empty()) {
    // Every candidate was ruled out (the only items known were just bought, or on screen):
    // an answer that repeats them beats an empty carousel.
    RuleInput relaxed;
    relaxed.store_id = rules.store_id;
    relaxed.context_item = rules.context_item;
    relaxed.exclude_current = rules.exclude_current;
    relaxed.now = now;
    RecContext popular = context;
    popular.profile_id.clear();
    popular.session_items.clear();
    popular.cart.clear();
    top = fallback(popular, relaxed, n);
  }

  answer.mode = personalize && from_models ? "personalized" : "popular";
  (answer.mode == "personalized" ? requests_personalized_ : requests_popular_).inc();
  if (top.empty()) empty_answers_.inc();
  for (auto& t : top) answer.items.push_back({std::move(t.item), t.score, std::move(t.source)});

  Exposure exposure;
  exposure.placement = answer.placement;
  exposure.strategy = answer.strategy;
  exposure.mode = answer.mode;
  exposure.assignment = answer.experiment;
  exposure.at = now;
  exposures_.record(answer.rec_id, std::move(exposure));
  if (answer.experiment) experiments_.record_exposure(answer.placement, *answer.experiment);
  latency_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return answer;
}

Result<wire::RecSnapshot> RecommendationService::store_snapshot(const std::string& store_id) const {
  wire::RecSnapshot snapshot;
  snapshot.store_id = store_id;
  snapshot.generated_at = clock_->now_unix_ms();
  snapshot.model_generation = generation_.load(std::memory_order_relaxed);
  RecContext context;
  context.store_id = store_id;
  context.now = snapshot.generated_at;
  if (popularity_ != nullptr) {
    for (const auto& c : popularity_->candidates(context, options_.snapshot_popular)) {
      if (c.score >= 0 && std::isfinite(c.score)) snapshot.popularity.push_back({c.item, c.score});
    }
  }
  std::vector<std::string> assortment;
  if (catalog_ != nullptr && catalog_->size() > 0) {
    assortment = catalog_->assortment(store_id, options_.snapshot_max_items);
  } else {
    for (const auto& p : snapshot.popularity) assortment.push_back(p.sku);
  }
  std::vector<wire::SnapshotItem> items(assortment.size());
  for (std::size_t i = 0; i < assortment.size(); ++i) items[i].sku = assortment[i];
  if (catalog_ != nullptr) {
    catalog_->visit(assortment, [&](std::size_t i, const CatalogItem* item) {
      if (item == nullptr) return;
      items[i].category = item->category;
      items[i].available = item->available_in(store_id);
    });
  }
  auto knn = by_name_.find(kNeighbourSource);
  if (knn != by_name_.end()) {
    for (auto& item : items) {
      RecContext neighbours = context;
      neighbours.context_item = item.sku;
      neighbours.session_items = {item.sku};
      neighbours.exclude_current = true;
      for (const auto& c : knn->second->candidates(neighbours, options_.snapshot_neighbours)) {
        if (c.item != item.sku && c.score >= 0 && std::isfinite(c.score)) {
          item.neighbours.push_back({c.item, c.score});
        }
      }
    }
  }
  snapshot.items = std::move(items);
  return snapshot;
}

std::size_t RecommendationService::publish_snapshots(const SnapshotPublish& publish) {
  std::size_t published = 0;
  for (const auto& store : known_stores()) {
    auto snapshot = store_snapshot(store);
    if (!snapshot) {
      snapshot_failures_.inc();
      kLog.warn("cannot build a store snapshot",
                {{"store_id", store}, {"error", snapshot.error().message}});
      continue;
    }
    auto payload = wire::encode_rec_snapshot(*snapshot);
    if (!payload) {
      snapshot_failures_.inc();
      kLog.warn("cannot encode a store snapshot",
                {{"store_id", store}, {"error", payload.error().message}});
      continue;
    }
    snapshot_bytes_.observe(static_cast<double>(payload->size()));
    if (auto s = publish(store, *payload); !s) {
      snapshot_failures_.inc();
      kLog.warn("cannot publish a store snapshot; agents fetch it over HTTPS",
                {{"store_id", store}, {"error", s.error().message}});
      continue;
    }
    snapshots_published_.inc();
    ++published;
  }
  return published;
}

void RecommendationService::start_snapshot_publisher(SnapshotPublish publish) {
  std::lock_guard lock(publisher_mutex_);
  if (publisher_.joinable()) return;
  stopping_ = false;
  publisher_ = std::thread([this, publish = std::move(publish)] {
    std::unique_lock wait_lock(publisher_mutex_);
    while (!stopping_) {
      wait_lock.unlock();
      publish_snapshots(publish);
      wait_lock.lock();
      publisher_wake_.wait_for(wait_lock, options_.snapshot_interval,
                               [this] { return stopping_; });
    }
  });
}

void RecommendationService::stop() {
  {
    std::lock_guard lock(publisher_mutex_);
    stopping_ = true;
  }
  publisher_wake_.notify_all();
  if (publisher_.joinable()) publisher_.join();
}

Status RecommendationService::set_experiment(const std::string& placement,
                                             const ExperimentConfig& config) {
  std::vector<std::string> names;
  for (const auto& [name, w] : options_.strategies) names.push_back(name);
  if (auto s = validate_experiment(config, names, "experiment"); !s) return s;
  experiments_.set(placement, config);
  return persist_experiments();
}

Result<bool> RecommendationService::remove_experiment(const std::string& placement) {
  const bool existed = experiments_.remove(placement);
  if (auto s = persist_experiments(); !s) return s.error();
  return existed;
}

Status RecommendationService::persist_experiments() const {
  if (options_.experiments_path.empty()) return ok_status();
  std::lock_guard lock(persist_mutex_);
  json document = json::object();
  for (const auto& [placement, config] : experiments_.all()) {
    document[placement] = experiment_to_json(config);
  }
  const std::string tmp = options_.experiments_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << document.dump(2) << "\n";
    out.flush();
    if (!out) {
      return make_error(ErrorCode::kIo, "cannot write " + tmp + " (experiments not persisted)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.experiments_path, ec);
  if (ec) {
    return make_error(ErrorCode::kIo,
                      "cannot rename " + tmp + " to " + options_.experiments_path + ": " +
                          ec.message());
  }
  return ok_status();
}

Status RecommendationService::load_persisted_experiments() {
  if (options_.experiments_path.empty() ||
      !std::filesystem::exists(options_.experiments_path)) {
    return ok_status();
  }
  std::ifstream in(options_.experiments_path);
  std::stringstream text;
  text << in.rdbuf();
  auto document = parse_json(text.str(), JsonLimits{4 * 1024 * 1024, 16});
  if (!document) {
    return make_error(ErrorCode::kDataLoss,
                      options_.experiments_path + ": " + document.error().message);
  }
  if (!document->is_object()) {
    return make_error(ErrorCode::kDataLoss, options_.experiments_path + ": must be an object");
  }
  std::vector<std::string> names;
  for (const auto& [name, w] : options_.strategies) names.push_back(name);
  std::map<std::string, ExperimentConfig> persisted;
  for (const auto& [placement, e] : document->items()) {
    const std::string at = options_.experiments_path + ": " + placement;
    auto config = experiment_from_json(e, at);
    if (!config) return config.error();
    if (auto s = validate_experiment(*config, names, at); !s) return s;
    persisted[placement] = std::move(*config);
  }
  for (const auto& [placement, config] : experiments_.all()) experiments_.remove(placement);
  for (const auto& [placement, config] : persisted) experiments_.set(placement, config);
  kLog.info("experiments loaded", {{"path", options_.experiments_path},
                                   {"experiments", std::to_string(persisted.size())}});
  return ok_status();
}

}  // namespace aisle::collector::recs
