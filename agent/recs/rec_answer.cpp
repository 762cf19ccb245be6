#include "agent/recs/rec_answer.hpp"

#include <cmath>

namespace aisle::agent::recs {

const char* serve_mode_name(ServeMode mode) {
  switch (mode) {
    case ServeMode::kLive: return "live";
    case ServeMode::kCache: return "cache";
    case ServeMode::kOffline: return "offline";
    case ServeMode::kPopularity: return "popularity";
  }
  return "unknown";
}

nlohmann::json rec_answer_to_json(const RecAnswer& answer) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : answer.items) {
    items.push_back({{"sku", item.sku}, {"score", item.score}, {"source", item.source}});
  }
  return {{"rec_id", answer.rec_id},
          {"mode", serve_mode_name(answer.mode)},
          {"strategy", answer.strategy},
          {"items", std::move(items)}};
}

Result<RecAnswer> rec_answer_from_json(const nlohmann::json& document, std::size_t max_items) {
  auto invalid = [](const std::string& message) {
    return make_error(ErrorCode::kInvalidArgument, "collector answer: " + message);
  };
  if (!document.is_object()) return invalid("not a JSON object");
  RecAnswer answer;
  const auto rec_id = document.find("rec_id");
  if (rec_id == document.end() || !rec_id->is_string()) return invalid("missing string 'rec_id'");
  answer.rec_id = rec_id->get<std::string>();
  if (const auto strategy = document.find("strategy");
      strategy != document.end() && strategy->is_string()) {
    answer.strategy = strategy->get<std::string>();
  }
  const auto items = document.find("items");
  if (items == document.end() || !items->is_array()) return invalid("'items' must be an array");
  for (std::size_t i = 0; i < items->size() && answer.items.size() < max_items; ++i) {
    const auto& item = (*items)[i];
    const std::string path = "items[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid(path + ": must be an object");
    const auto sku = item.find("sku");
    if (sku == item.end() || !sku->is_string()) return invalid(path + ".sku: must be a string");
    RecItem out;
    out.sku = sku->get<std::string>();
    if (const auto score = item.find("score"); score != item.end()) {
      if (!score->is_number() || !std::isfinite(score->get<double>())) {
        return invalid(path + ".score: must be a finite number");
      }
      out.score = score->get<double>();
    }
    if (const auto source = item.find("source"); source != item.end() && source->is_string()) {
      out.source = source->get<std::string>();
    }
    answer.items.push_back(std::move(out));
  }
  return answer;
}

}  // namespace aisle::agent::recs
