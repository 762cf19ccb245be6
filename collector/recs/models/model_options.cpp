#include "collector/recs/models/model_options.hpp"

#include <set>
#include <string>
#include <utility>

#include "common/config.hpp"

namespace aisle::collector::recs {
namespace {

// Reads one object's keys, remembers the first error with its path, and rejects unknown keys.
class SectionReader {
 public:
  SectionReader(std::string path, const nlohmann::json& section)
      : path_(std::move(path)), section_(section) {
    if (!section_.is_object()) fail("", "must be an object");
  }

  std::size_t get_size(const char* key, std::size_t fallback, std::size_t min, std::size_t max) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) return fallback;
    if (!value->is_number_unsigned() && !value->is_number_integer()) {
      fail(key, "must be an integer");
      return fallback;
    }
    const auto number = value->get<std::int64_t>();
    if (number < static_cast<std::int64_t>(min) || number > static_cast<std::int64_t>(max)) {
      fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return fallback;
    }
    return static_cast<std::size_t>(number);
  }
  double get_double(const char* key, double fallback, double min, double max) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) return fallback;
    if (!value->is_number()) {
      fail(key, "must be a number");
      return fallback;
    }
    const auto number = value->get<double>();
    if (!(number >= min && number <= max)) {
      fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return fallback;
    }
    return number;
  }
  bool get_bool(const char* key, bool fallback) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) {
      fail(key, "must be true or false");
      return fallback;
    }
    return value->get<bool>();
  }
  std::string get_string(const char* key, const std::string& fallback) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) return fallback;
    if (!value->is_string()) {
      fail(key, "must be a string");
      return fallback;
    }
    return value->get<std::string>();
  }
  // A duration ("30m", "7d", or milliseconds); "0" or 0 disables what it controls.
  std::int64_t get_duration_ms(const char* key, std::int64_t fallback) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) return fallback;
    const auto ms = parse_duration_ms(*value);
    if (!ms || *ms < 0) {
      fail(key, "must be a duration such as \"12h\" or \"7d\" (0 disables decay)");
      return fallback;
    }
    return *ms;
  }
  const nlohmann::json* get_object(const char* key) {
    const nlohmann::json* value = take(key);
    if (value != nullptr && !value->is_object()) {
      fail(key, "must be an object");
      return nullptr;
    }
    return value;
  }
  KindWeights get_weights(const char* key) {
    KindWeights weights;
    const nlohmann::json* value = get_object(key);
    if (value == nullptr) return weights;
    SectionReader inner(path_ + "." + key, *value);
    weights.view = inner.get_double("view", weights.view, 0, 1000);
    weights.cart = inner.get_double("cart", weights.cart, 0, 1000);
    weights.purchase = inner.get_double("purchase", weights.purchase, 0, 1000);
    if (auto status = inner.finish(); !status && error_.empty()) error_ = status.error().message;
    return weights;
  }
  void fail(const std::string& key, const std::string& message) {
    if (error_.empty()) error_ = path_ + (key.empty() ? "" : "." + key) + ": " + message;
  }
  Status finish() {
    if (error_.empty() && section_.is_object()) {
      for (const auto& [key, value] : section_.items()) {
        if (read_.count(key) == 0) {
          fail(key, "unknown key");
          break;
        }
      }
    }
    if (!error_.empty()) return make_error(ErrorCode::kInvalidArgument, error_);
    return ok_status();
  }

 private:
  const nlohmann::json* take(const char* key) {
    read_.insert(key);
    if (!section_.is_object()) return nullptr;
    const auto it = section_.find(key);
    return it == section_.end() ? nullptr : &*it;
  }

  std::string path_;
  const nlohmann::json& section_;
  std::set<std::string> read_;
  std::string error_;
};

constexpr std::size_t kBig = 100'000'000;

Result<SessionKnnOptions> parse_session_knn(const std::string& path, const nlohmann::json& j) {
  SectionReader reader(path, j);
  SessionKnnOptions options;
  const std::string similarity = reader.get_string("similarity", "position_decay");
  if (similarity == "cosine") {
    options.similarity = SessionKnnOptions::Similarity::kCosine;
  } else if (similarity == "position_decay") {
    options.similarity = SessionKnnOptions::Similarity::kPositionDecay;
  } else {
    reader.fail("similarity", "must be \"cosine\" or \"position_decay\"");
  }
  options.neighbours = reader.get_size("neighbours", options.neighbours, 1, 10'000);
  options.sample_size = reader.get_size("sample_size", options.sample_size, 1, 100'000);
  options.sessions_per_item =
      reader.get_size("sessions_per_item", options.sessions_per_item, 1, 100'000);
  options.max_sessions = reader.get_size("max_sessions", options.max_sessions, 1, kBig);
  options.max_session_items =
      reader.get_size("max_session_items", options.max_session_items, 1, 10'000);
  options.max_items = reader.get_size("max_items", options.max_items, 1, kBig);
  options.position_decay = reader.get_double("position_decay", options.position_decay, 0, 1);
  options.position_floor = reader.get_double("position_floor", options.position_floor, 0, 1);
  options.match_decay = reader.get_bool("match_decay", options.match_decay);
  options.idf = reader.get_bool("idf", options.idf);
  options.reclick_weight = reader.get_double("reclick_weight", options.reclick_weight, 0, 1000);
  options.reclick_decay = reader.get_double("reclick_decay", options.reclick_decay, 0, 1);
  if (options.sample_size < options.neighbours) {
    reader.fail("sample_size", "must be at least neighbours");
  }
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

Result<ItemKnnOptions> parse_item_knn(const std::string& path, const nlohmann::json& j) {
  SectionReader reader(path, j);
  ItemKnnOptions options;
  options.weights = reader.get_weights("weights");
  options.half_life_ms = reader.get_duration_ms("half_life", options.half_life_ms);
  options.neighbours_kept = reader.get_size("neighbours_kept", options.neighbours_kept, 1, 10'000);
  options.session_window = reader.get_size("session_window", options.session_window, 1, 1'000);
  options.max_sessions = reader.get_size("max_sessions", options.max_sessions, 1, kBig);
  options.max_items = reader.get_size("max_items", options.max_items, 1, kBig);
  options.context_items = reader.get_size("context_items", options.context_items, 1, 100);
  options.context_decay = reader.get_double("context_decay", options.context_decay, 0, 1);
  options.count_repeats = reader.get_bool("count_repeats", options.count_repeats);
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

Result<PopularityOptions> parse_popularity(const std::string& path, const nlohmann::json& j) {
  SectionReader reader(path, j);
  PopularityOptions options;
  options.weights = reader.get_weights("weights");
  options.half_life_ms = reader.get_duration_ms("half_life", options.half_life_ms);
  options.max_items_per_key =
      reader.get_size("max_items_per_key", options.max_items_per_key, 2, kBig);
  options.max_keys = reader.get_size("max_keys", options.max_keys, 1, kBig);
  options.max_items = reader.get_size("max_items", options.max_items, 1, kBig);
  options.top_cached = reader.get_size("top_cached", options.top_cached, 1, 10'000);
  options.store_weight = reader.get_double("store_weight", options.store_weight, 0, 1000);
  options.hour_weight = reader.get_double("hour_weight", options.hour_weight, 0, 1000);
  options.category_weight = reader.get_double("category_weight", options.category_weight, 0, 1000);
  if (options.top_cached > options.max_items_per_key / 2) {
    reader.fail("top_cached", "must be at most max_items_per_key / 2");
  }
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

Result<AlsOptions> parse_als(const std::string& path, const nlohmann::json& j) {
  SectionReader reader(path, j);
  AlsOptions options;
  options.enabled = reader.get_bool("enabled", options.enabled);
  options.weights = reader.get_weights("weights");
  options.factors = reader.get_size("factors", options.factors, 2, 256);
  options.iterations = reader.get_size("iterations", options.iterations, 1, 100);
  options.regularization =
      reader.get_double("regularization", options.regularization, 1e-6, 1e6);
  options.alpha = reader.get_double("alpha", options.alpha, 0, 1e6);
  options.seed = reader.get_size("seed", options.seed, 0, kBig);
  options.retrain_interval_ms =
      reader.get_duration_ms("retrain_interval", options.retrain_interval_ms);
  options.fold_in_interval_ms =
      reader.get_duration_ms("fold_in_interval", options.fold_in_interval_ms);
  if (options.retrain_interval_ms < 1000) {
    reader.fail("retrain_interval", "must be at least 1s");
  }
  if (options.fold_in_interval_ms < 1000) {
    reader.fail("fold_in_interval", "must be at least 1s");
  }
  options.min_interactions = reader.get_size("min_interactions", options.min_interactions, 1, kBig);
  options.max_users = reader.get_size("max_users", options.max_users, 1, kBig);
  options.max_user_items = reader.get_size("max_user_items", options.max_user_items, 1, 100'000);
  options.max_items = reader.get_size("max_items", options.max_items, 1, kBig);
  options.max_folded_items =
      reader.get_size("max_folded_items", options.max_folded_items, 0, 1'000'000);
  options.fold_in_users_per_item =
      reader.get_size("fold_in_users_per_item", options.fold_in_users_per_item, 1, 100'000);
  options.context_items = reader.get_size("context_items", options.context_items, 1, 1'000);
  options.hnsw_m = reader.get_size("hnsw_m", options.hnsw_m, 2, 100);
  options.hnsw_ef_construction =
      reader.get_size("hnsw_ef_construction", options.hnsw_ef_construction, 10, 10'000);
  options.hnsw_ef_search = reader.get_size("hnsw_ef_search", options.hnsw_ef_search, 10, 10'000);
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

}  // namespace

Result<AlsOptions> parse_als_options(const nlohmann::json& section) {
  return parse_als("recs.models.als", section);
}

Result<SessionKnnOptions> parse_session_knn_options(const nlohmann::json& section) {
  return parse_session_knn("recs.models.session_knn", section);
}
Result<ItemKnnOptions> parse_item_knn_options(const nlohmann::json& section) {
  return parse_item_knn("recs.models.item_knn", section);
}
Result<PopularityOptions> parse_popularity_options(const nlohmann::json& section) {
  return parse_popularity("recs.models.popularity", section);
}

Result<RecsModelsOptions> parse_recs_models_options(const nlohmann::json& section) {
  SectionReader reader("recs.models", section);
  RecsModelsOptions options;
  const nlohmann::json* session_knn = reader.get_object("session_knn");
  const nlohmann::json* item_knn = reader.get_object("item_knn");
  const nlohmann::json* popularity = reader.get_object("popularity");
  const nlohmann::json* als = reader.get_object("als");
  if (auto status = reader.finish(); !status) return status.error();
  if (session_knn != nullptr) {
    auto parsed = parse_session_knn_options(*session_knn);
    if (!parsed) return parsed.error();
    options.session_knn = std::move(parsed).value();
  }
  if (item_knn != nullptr) {
    auto parsed = parse_item_knn_options(*item_knn);
    if (!parsed) return parsed.error();
    options.item_knn = std::move(parsed).value();
  }
  if (popularity != nullptr) {
    auto parsed = parse_popularity_options(*popularity);
    if (!parsed) return parsed.error();
    options.popularity = std::move(parsed).value();
  }
  if (als != nullptr) {
    auto parsed = parse_als_options(*als);
    if (!parsed) return parsed.error();
    options.als = std::move(parsed).value();
  }
  return options;
}

}  // namespace aisle::collector::recs
