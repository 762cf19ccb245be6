// Offline evaluation of the recommendation models on a session dataset (docs/EVALUATION.md): the
// train clicks are replayed in time order through observe() — the same streaming code the
// collector runs — then every prefix of every test session asks candidates() for the next click.
// Used by `aislectl eval recs` and tests/integration/recs_eval_test.cpp.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collector/recs/models/model_options.hpp"
#include "collector/recs/rec_types.hpp"
#include "common/result.hpp"

namespace aisle::collector::recs {

// One click of a session-rec TSV file (`SessionId<TAB>ItemId<TAB>Time`, Time in Unix seconds).
struct SessionClick {
  std::string session;
  std::string item;
  UnixMillis at = 0;
};

// Reads a session-rec TSV file; errors name the file, the line and what is wrong.
Result<std::vector<SessionClick>> load_session_clicks(const std::string& path);

struct EvalOptions {
  std::size_t list_length = 20;  // HR@N and MRR@N
  // false: the item on screen may be recommended again (the published tables); true: excluded
  // (what a product-page kiosk does).
  bool exclude_current = false;
  // false (the published protocol, session-rec's default): the models are frozen after training;
  // test sessions only query. true: each test click is also observed after it was predicted, as
  // the collector does live — test sessions then enter the neighbour index, and the requester's
  // own session is kept out of its neighbours through RecContext::profile_id.
  bool stream_test = false;
};

struct EvalResult {
  std::string strategy;
  std::size_t predictions = 0;
  std::size_t hits = 0;
  double hit_rate = 0;            // HR@N
  double mrr = 0;                 // MRR@N
  double train_seconds = 0;       // replaying the train file
  double micros_per_prediction = 0;
  std::size_t test_clicks_kept = 0;  // after dropping unseen items and sessions < 2
  std::size_t test_sessions_kept = 0;
  std::string train_error;  // a batch-trained model that could not train ("" when it did)
};

// The protocol of /work/shared/datasets/README.md: drop test clicks on items never seen in train,
// then sessions shorter than 2; predict every next click from its prefix.
EvalResult evaluate_model(CandidateSource& model, const std::vector<SessionClick>& train,
                          const std::vector<SessionClick>& test, const EvalOptions& options);

// The strategies the evaluation knows, by name: "popularity", "item_knn", "sknn", "vsknn",
// "vsknn_reclick", "als" (trained once the train file is replayed). Each is one model configured
// from `base` (the tuned defaults of default_eval_models_options() unless the caller overrides
// them).
std::vector<std::string> eval_strategy_names();
Result<std::unique_ptr<CandidateSource>> make_eval_strategy(const std::string& name,
                                                            const RecsModelsOptions& base);
// The options tuned on the train split (docs/EVALUATION.md, "Tuning").
RecsModelsOptions default_eval_models_options();

}  // namespace aisle::collector::recs
