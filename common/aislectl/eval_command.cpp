#include "common/aislectl/eval_command.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collector/recs/models/offline_eval.hpp"

namespace aisle::ctl {
namespace {

using collector::recs::EvalOptions;
using collector::recs::EvalResult;
using collector::recs::RecsModelsOptions;

constexpr const char* kUsage =
    "Usage: aislectl eval recs --train FILE --test FILE [options]\n"
    "\n"
    "Replays FILE --train (session-rec TSV: SessionId<TAB>ItemId<TAB>Time) in time order through\n"
    "the models' streaming observe(), then predicts every next click of every test session\n"
    "(clicks on items unseen in training and sessions shorter than 2 dropped) and prints HR@N and\n"
    "MRR@N per strategy (docs/EVALUATION.md).\n"
    "\n"
    "Options:\n"
    "  --strategy NAME|all   popularity, item_knn, sknn, vsknn, vsknn_reclick (default all)\n"
    "  --exclude-current     never recommend the item on screen (default: re-clicks allowed)\n"
    "  --both-modes          report re-clicks allowed and current item excluded\n"
    "  --stream-test         also observe each test click after predicting it (live mode;\n"
    "                        default: models frozen after training, the published protocol)\n"
    "  --list N              list length N for HR@N / MRR@N (default 20)\n"
    "  --config FILE         JSON `recs.models` section overriding the tuned defaults\n"
    "  --k N                 session kNN: neighbours k\n"
    "  --sample N            session kNN: most recent candidate sessions compared\n"
    "  --reclick W           session kNN: weight of the re-click blend (vsknn_reclick)\n"
    "  --json                one JSON object per result instead of the table\n";

bool parse_size(const std::string& text, std::size_t& out) {
  try {
    std::size_t used = 0;
    const unsigned long long value = std::stoull(text, &used);
    if (used != text.size() || value == 0) return false;
    out = static_cast<std::size_t>(value);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_double(const std::string& text, double& out) {
  try {
    std::size_t used = 0;
    out = std::stod(text, &used);
    return used == text.size() && out >= 0;
  } catch (const std::exception&) {
    return false;
  }
}

int fail(const std::string& message) {
  std::cerr << "aislectl eval recs: " << message << "\n";
  return 2;
}

void print_result(const EvalResult& result, const EvalOptions& options, bool json) {
  const char* mode = options.exclude_current ? "current-excluded" : "reclicks-allowed";
  if (json) {
    nlohmann::json line = {{"strategy", result.strategy},
                           {"mode", mode},
                           {"stream_test", options.stream_test},
                           {"hr", result.hit_rate},
                           {"mrr", result.mrr},
                           {"predictions", result.predictions},
                           {"train_seconds", result.train_seconds},
                           {"us_per_prediction", result.micros_per_prediction}};
    std::cout << line.dump() << "\n";
    return;
  }
  char text[256];
  std::snprintf(text, sizeof text, "%-15s %-17s %8.4f %8.4f %11zu %9.2f %8.1f\n",
                result.strategy.c_str(), mode, result.hit_rate, result.mrr, result.predictions,
                result.train_seconds, result.micros_per_prediction);
  std::cout << text;
}

}  // namespace

int run_eval_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "recs") return fail("unknown subcommand '" + args[0] + "'\n" + kUsage);
  std::string train_path;
  std::string test_path;
  std::string strategy = "all";
  std::string config_path;
  bool both_modes = false;
  bool json = false;
  EvalOptions eval;
  std::size_t k = 0;
  std::size_t sample = 0;
  double reclick = -1;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--exclude-current") {
      eval.exclude_current = true;
    } else if (arg == "--both-modes") {
      both_modes = true;
    } else if (arg == "--stream-test") {
      eval.stream_test = true;
    } else if (arg == "--json") {
      json = true;
    } else if (!has_value) {
      return fail("option " + arg + " is unknown or needs a value\n" + kUsage);
    } else if (arg == "--train") {
      train_path = args[++i];
    } else if (arg == "--test") {
      test_path = args[++i];
    } else if (arg == "--strategy") {
      strategy = args[++i];
    } else if (arg == "--config") {
      config_path = args[++i];
    } else if (arg == "--list") {
      if (!parse_size(args[++i], eval.list_length)) return fail("--list needs a positive integer");
    } else if (arg == "--k") {
      if (!parse_size(args[++i], k)) return fail("--k needs a positive integer");
    } else if (arg == "--sample") {
      if (!parse_size(args[++i], sample)) return fail("--sample needs a positive integer");
    } else if (arg == "--reclick") {
      if (!parse_double(args[++i], reclick)) return fail("--reclick needs a number >= 0");
    } else {
      return fail("unknown option " + arg + "\n" + kUsage);
    }
  }
  if (train_path.empty() || test_path.empty()) return fail("--train and --test are required");

  RecsModelsOptions models = collector::recs::default_eval_models_options();
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) return fail(config_path + ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    const nlohmann::json section = nlohmann::json::parse(text.str(), nullptr, false);
    if (section.is_discarded()) return fail(config_path + ": not valid JSON");
    auto parsed = collector::recs::parse_recs_models_options(section);
    if (!parsed) return fail(config_path + ": " + parsed.error().message);
    models = std::move(parsed).value();
  }
  if (k > 0) models.session_knn.neighbours = k;
  if (sample > 0) models.session_knn.sample_size = sample;
  if (reclick >= 0) models.session_knn.reclick_weight = reclick;
  if (models.session_knn.sample_size < models.session_knn.neighbours) {
    return fail("the sample size must be at least k");
  }

  std::vector<std::string> strategies = {strategy};
  if (strategy == "all") strategies = collector::recs::eval_strategy_names();
  for (const std::string& name : strategies) {
    if (auto model = collector::recs::make_eval_strategy(name, models); !model) {
      return fail(model.error().message);
    }
  }
  auto train = collector::recs::load_session_clicks(train_path);
  if (!train) return fail(train.error().message);
  auto test = collector::recs::load_session_clicks(test_path);
  if (!test) return fail(test.error().message);

  if (!json) {
    std::cout << "train " << train->size() << " clicks, test " << test->size() << " clicks"
              << (eval.stream_test ? ", test sessions observed (live mode)" : "") << "\n";
    std::printf("%-15s %-17s %8s %8s %11s %9s %8s\n", "strategy", "mode", "HR@", "MRR@",
                "predictions", "train s", "us/pred");
    std::fflush(stdout);
  }
  std::vector<bool> modes = {eval.exclude_current};
  if (both_modes) modes = {false, true};
  for (const std::string& name : strategies) {
    for (const bool exclude : modes) {
      EvalOptions options = eval;
      options.exclude_current = exclude;
      auto model = collector::recs::make_eval_strategy(name, models);
      const EvalResult result = collector::recs::evaluate_model(**model, *train, *test, options);
      print_result(result, options, json);
      std::cout.flush();
    }
  }
  return 0;
}

}  // namespace aisle::ctl
