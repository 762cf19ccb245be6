#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "collector/recs/models/model_options.hpp"

namespace aisle::collector::recs {

TEST_CASE("recs.models options parse with defaults for what is absent",
          "[collector][recs][options]") {
  const auto parsed = parse_recs_models_options(nlohmann::json::parse(R"({
    "session_knn": {"similarity": "cosine", "neighbours": 50, "sample_size": 400,
                    "reclick_weight": 2},
    "item_knn": {"half_life": "12h", "weights": {"purchase": 8}},
    "popularity": {"half_life": 0, "hour_weight": 0}
  })"));
  REQUIRE(parsed.ok());
  CHECK(parsed->session_knn.similarity == SessionKnnOptions::Similarity::kCosine);
  CHECK(parsed->session_knn.neighbours == 50);
  CHECK(parsed->session_knn.sample_size == 400);
  CHECK(parsed->session_knn.reclick_weight == 2);
  CHECK(parsed->session_knn.idf);
  CHECK(parsed->item_knn.half_life_ms == 12LL * 3600 * 1000);
  CHECK(parsed->item_knn.weights.purchase == 8);
  CHECK(parsed->item_knn.weights.cart == 3);
  CHECK(parsed->popularity.half_life_ms == 0);
  CHECK(parsed->popularity.hour_weight == 0);
  CHECK(parse_recs_models_options(nlohmann::json::object()).ok());
}

TEST_CASE("recs.models options reject unknown keys and out-of-range values by path",
          "[collector][recs][options]") {
  const auto message = [](const char* text) {
    const auto parsed = parse_recs_models_options(nlohmann::json::parse(text));
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code == ErrorCode::kInvalidArgument);
    return parsed.error().message;
  };
  CHECK(message(R"({"sknn": {}})") == "recs.models.sknn: unknown key");
  CHECK(message(R"({"session_knn": {"neighbours": 0}})") ==
        "recs.models.session_knn.neighbours: must be between 1 and 10000");
  CHECK(message(R"({"session_knn": {"neighbours": 200, "sample_size": 100}})") ==
        "recs.models.session_knn.sample_size: must be at least neighbours");
  CHECK(message(R"({"session_knn": {"similarity": "jaccard"}})") ==
        "recs.models.session_knn.similarity: must be \"cosine\" or \"position_decay\"");
  CHECK(message(R"({"item_knn": {"half_life": "soon"}})") ==
        "recs.models.item_knn.half_life: must be a duration such as \"12h\" or \"7d\" (0 "
        "disables decay)");
  CHECK(message(R"({"item_knn": {"weights": {"like": 2}}})") ==
        "recs.models.item_knn.weights.like: unknown key");
  CHECK(message(R"({"popularity": {"idf": true}})") == "recs.models.popularity.idf: unknown key");
  CHECK(message(R"({"popularity": 3})") == "recs.models.popularity: must be an object");
}

}  // namespace aisle::collector::recs
