#include "collector/recs/models/offline_eval.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "collector/recs/models/als_model.hpp"
#include "collector/recs/models/item_knn.hpp"
#include "collector/recs/models/popularity.hpp"
#include "collector/recs/models/session_knn.hpp"

namespace aisle::collector::recs {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Splits "a\tb\tc" into exactly three fields.
bool split3(const std::string& line, std::string_view (&fields)[3]) {
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t end = i < 2 ? line.find('\t', start) : line.size();
    if (end == std::string::npos) return false;
    fields[i] = std::string_view(line).substr(start, end - start);
    start = end + 1;
  }
  return fields[2].find('\t') == std::string_view::npos;
}

Interaction to_interaction(const SessionClick& click, const std::string& prefix,
                           bool with_profile) {
  Interaction interaction;
  interaction.session_key = prefix + click.session;
  if (with_profile) interaction.profile_id = interaction.session_key;
  interaction.item = click.item;
  interaction.kind = InteractionKind::kView;
  interaction.at = click.at;
  return interaction;
}

}  // namespace

Result<std::vector<SessionClick>> load_session_clicks(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open");
  std::vector<SessionClick> clicks;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    std::string_view fields[3];
    if (!split3(line, fields)) {
      return make_error(ErrorCode::kInvalidArgument,
                        where + "expected 3 tab-separated fields SessionId, ItemId, Time");
    }
    if (number == 1) {
      if (fields[0] != "SessionId" || fields[1] != "ItemId" || fields[2] != "Time") {
        return make_error(ErrorCode::kInvalidArgument,
                          where + "expected the header SessionId<TAB>ItemId<TAB>Time");
      }
      continue;
    }
    if (fields[0].empty() || fields[1].empty()) {
      return make_error(ErrorCode::kInvalidArgument, where + "empty SessionId or ItemId");
    }
    // Time: Unix seconds with an optional fraction; std::from_chars for double is in GCC 12.
    double seconds = 0;
    const auto [end, error] =
        std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), seconds);
    if (error != std::errc() || end != fields[2].data() + fields[2].size() ||
        !std::isfinite(seconds) || seconds < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        where + "Time must be Unix seconds, got '" + std::string(fields[2]) + "'");
    }
    clicks.push_back({std::string(fields[0]), std::string(fields[1]),
                      static_cast<UnixMillis>(std::llround(seconds * 1000))});
  }
  if (in.bad()) return make_error(ErrorCode::kIo, path + ": read error");
  return clicks;
}

EvalResult evaluate_model(CandidateSource& model, const std::vector<SessionClick>& train,
                          const std::vector<SessionClick>& test, const EvalOptions& options) {
  EvalResult result;
  result.strategy = model.name();

  // Train: every click in time order (stable: a file's order breaks ties).
  const auto train_start = Clock::now();
  std::vector<const SessionClick*> ordered;
  ordered.reserve(train.size());
  std::unordered_set<std::string> known_items;
  for (const SessionClick& click : train) {
    ordered.push_back(&click);
    known_items.insert(click.item);
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const SessionClick* a, const SessionClick* b) { return a->at < b->at; });
  for (const SessionClick* click : ordered) model.observe(to_interaction(*click, "train:", false));
  // A batch-trained model (ALS) trains once the stream is replayed, as its scheduler would.
  if (auto* als = dynamic_cast<AlsRecommender*>(&model); als != nullptr) {
    if (auto status = als->retrain_now(); !status) result.train_error = status.error().message;
  }
  result.train_seconds = seconds_since(train_start);

  // Test: drop clicks on unseen items, then sessions shorter than 2; each session in time order.
  std::unordered_map<std::string, std::vector<const SessionClick*>> sessions;
  std::vector<std::string> session_order;
  for (const SessionClick& click : test) {
    if (known_items.count(click.item) == 0) continue;
    auto [it, inserted] = sessions.try_emplace(click.session);
    if (inserted) session_order.push_back(click.session);
    it->second.push_back(&click);
  }
  std::vector<const SessionClick*> test_clicks;  // kept, in the order they are replayed
  for (const std::string& id : session_order) {
    auto& clicks = sessions[id];
    if (clicks.size() < 2) continue;
    std::stable_sort(clicks.begin(), clicks.end(),
                     [](const SessionClick* a, const SessionClick* b) { return a->at < b->at; });
    ++result.test_sessions_kept;
    test_clicks.insert(test_clicks.end(), clicks.begin(), clicks.end());
  }
  result.test_clicks_kept = test_clicks.size();
  if (options.stream_test) {
    // Live order: sessions interleave as their clicks happened.
    std::stable_sort(test_clicks.begin(), test_clicks.end(),
                     [](const SessionClick* a, const SessionClick* b) { return a->at < b->at; });
  }

  std::unordered_map<std::string, std::vector<std::string>> prefixes;
  double reciprocal_ranks = 0;
  const auto predict_start = Clock::now();
  for (const SessionClick* click : test_clicks) {
    std::vector<std::string>& prefix = prefixes[click->session];
    if (!prefix.empty()) {
      RecContext context;
      if (options.stream_test) context.profile_id = "test:" + click->session;
      context.session_items = prefix;
      context.context_item = prefix.back();
      context.now = click->at;
      context.exclude_current = options.exclude_current;
      const std::vector<Candidate> list = model.candidates(context, options.list_length);
      ++result.predictions;
      for (std::size_t rank = 0; rank < list.size(); ++rank) {
        if (list[rank].item == click->item) {
          ++result.hits;
          reciprocal_ranks += 1.0 / static_cast<double>(rank + 1);
          break;
        }
      }
    }
    prefix.push_back(click->item);
    if (options.stream_test) model.observe(to_interaction(*click, "test:", true));
  }
  const double predict_seconds = seconds_since(predict_start);
  if (result.predictions > 0) {
    const auto predictions = static_cast<double>(result.predictions);
    result.hit_rate = static_cast<double>(result.hits) / predictions;
    result.mrr = reciprocal_ranks / predictions;
    result.micros_per_prediction = predict_seconds * 1e6 / predictions;
  }
  return result;
}

std::vector<std::string> eval_strategy_names() {
  return {"popularity", "item_knn", "sknn", "vsknn", "vsknn_reclick", "als"};
}

RecsModelsOptions default_eval_models_options() {
  RecsModelsOptions options;
  // The evaluation data carry no kinds, stores or categories; decay stays on as in production.
  options.popularity.hour_weight = 0;
  options.popularity.category_weight = 0;
  // Tuned on the train split (last day of train_full held out): docs/EVALUATION.md.
  options.session_knn.reclick_weight = 2;
  // ALS, sessions as users: k, alpha and lambda tuned on the same validation split
  // (docs/recommendation-models.md, "ALS": figures and tuning).
  options.als.min_interactions = 1;
  options.als.factors = 64;
  options.als.alpha = 100;
  options.als.regularization = 1;
  return options;
}

Result<std::unique_ptr<CandidateSource>> make_eval_strategy(const std::string& name,
                                                            const RecsModelsOptions& base) {
  if (name == "popularity") return std::unique_ptr<CandidateSource>(new Popularity(base.popularity));
  if (name == "item_knn") return std::unique_ptr<CandidateSource>(new ItemKnn(base.item_knn));
  if (name == "sknn") {
    // The reference configuration: cosine over item sets, no weighting, no re-click blend.
    SessionKnnOptions options = base.session_knn;
    options.similarity = SessionKnnOptions::Similarity::kCosine;
    options.idf = false;
    options.match_decay = false;
    options.reclick_weight = 0;
    return std::unique_ptr<CandidateSource>(new SessionKnn("sknn", options));
  }
  if (name == "vsknn") {
    SessionKnnOptions options = base.session_knn;
    options.similarity = SessionKnnOptions::Similarity::kPositionDecay;
    options.reclick_weight = 0;
    return std::unique_ptr<CandidateSource>(new SessionKnn("vsknn", options));
  }
  if (name == "vsknn_reclick") {
    SessionKnnOptions options = base.session_knn;
    options.similarity = SessionKnnOptions::Similarity::kPositionDecay;
    if (options.reclick_weight <= 0) options.reclick_weight = 2;
    return std::unique_ptr<CandidateSource>(new SessionKnn("vsknn_reclick", options));
  }
  if (name == "als") return std::unique_ptr<CandidateSource>(new AlsRecommender(base.als));
  std::string known;
  for (const std::string& strategy : eval_strategy_names()) known += " " + strategy;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown strategy '" + name + "' (known:" + known + ", all)");
}

}  // namespace aisle::collector::recs
