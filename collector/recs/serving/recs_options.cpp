#include "collector/recs/serving/recs_options.hpp"

#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>

namespace aisle::collector::recs {
namespace {

using nlohmann::json;

Error invalid(const std::string& path, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, path + ": " + message);
}

// Walks an object's keys with one handler per known key; an unknown key is an error naming it.
using KeyHandler = std::function<Status(const json& value, const std::string& path)>;
Status for_keys(const json& j, const std::string& path,
                const std::map<std::string, KeyHandler>& handlers) {
  if (!j.is_object()) return invalid(path, "must be an object");
  for (const auto& [key, value] : j.items()) {
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& [k, h] : handlers) known += (known.empty() ? "" : ", ") + k;
      return invalid(path + "." + key, "unknown key (" + known + ")");
    }
    if (auto s = it->second(value, path + "." + key); !s) return s;
  }
  return ok_status();
}

KeyHandler size_into(std::size_t& out, std::size_t min, std::size_t max) {
  return [&out, min, max](const json& v, const std::string& path) -> Status {
    if (!v.is_number_integer() || v.get<std::int64_t>() < static_cast<std::int64_t>(min) ||
        static_cast<std::uint64_t>(v.get<std::int64_t>()) > max) {
      return invalid(path, "must be an integer " + std::to_string(min) + ".." + std::to_string(max));
    }
    out = static_cast<std::size_t>(v.get<std::int64_t>());
    return ok_status();
  };
}

KeyHandler bool_into(bool& out) {
  return [&out](const json& v, const std::string& path) -> Status {
    if (!v.is_boolean()) return invalid(path, "must be true or false");
    out = v.get<bool>();
    return ok_status();
  };
}

KeyHandler string_into(std::string& out) {
  return [&out](const json& v, const std::string& path) -> Status {
    if (!v.is_string()) return invalid(path, "must be a string");
    out = v.get<std::string>();
    return ok_status();
  };
}

Result<double> number_at(const json& v, const std::string& path, double min) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < min) {
    std::ostringstream bound;
    bound << min;
    return invalid(path, "must be a number >= " + bound.str());
  }
  return v.get<double>();
}

KeyHandler seconds_into(std::chrono::milliseconds& out, double min_seconds) {
  return [&out, min_seconds](const json& v, const std::string& path) -> Status {
    auto n = number_at(v, path, min_seconds);
    if (!n) return n.error();
    out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*n * 1000)));
    return ok_status();
  };
}

Status parse_placement(const json& j, const std::string& path, PlacementOptions& p) {
  return for_keys(
      j, path,
      {{"strategy", string_into(p.strategy)},
       {"exclude_current", bool_into(p.exclude_current)},
       {"exclude_cart", bool_into(p.exclude_cart)},
       {"diversity", [&p](const json& v, const std::string& at) -> Status {
          auto& d = p.diversity;
          return for_keys(v, at,
                          {{"max_per_category", size_into(d.max_per_category, 0, 1000)},
                           {"category_depth", size_into(d.category_depth, 0, 16)},
                           {"mmr_lambda", [&d](const json& x, const std::string& a) -> Status {
                              auto n = number_at(x, a, 0);
                              if (!n || *n > 1) return invalid(a, "must be a number 0..1");
                              d.mmr_lambda = *n;
                              return ok_status();
                            }}});
        }}});
}

Status parse_boost(const json& j, const std::string& path, BoostRule& rule) {
  bool has_multiplier = false;
  auto s = for_keys(
      j, path,
      {{"category", string_into(rule.category)},
       {"item", string_into(rule.item)},
       {"min_price", [&rule](const json& v, const std::string& at) -> Status {
          auto n = number_at(v, at, 0);
          if (!n) return n.error();
          rule.min_price = *n;
          return ok_status();
        }},
       {"max_price", [&rule](const json& v, const std::string& at) -> Status {
          auto n = number_at(v, at, 0);
          if (!n) return n.error();
          rule.max_price = *n;
          return ok_status();
        }},
       {"multiplier", [&rule, &has_multiplier](const json& v, const std::string& at) -> Status {
          auto n = number_at(v, at, 0);
          if (!n) return n.error();
          rule.multiplier = *n;
          has_multiplier = true;
          return ok_status();
        }}});
  if (!s) return s;
  if (!has_multiplier) return invalid(path + ".multiplier", "is required");
  if (rule.category.empty() && rule.item.empty() && !rule.min_price && !rule.max_price) {
    return invalid(path, "needs at least one of category, item, min_price, max_price");
  }
  return ok_status();
}

}  // namespace

const PlacementOptions& RecsOptions::placement(const std::string& name) const {
  auto it = placements.find(name);
  return it == placements.end() ? default_placement : it->second;
}

Result<RecsOptions> parse_recs_options(const json& section, const std::string& data_dir) {
  RecsOptions o;
  o.experiments_path = (std::filesystem::path(data_dir) / "experiments.json").string();
  o.catalog.path = (std::filesystem::path(data_dir) / "catalog.db").string();
  const std::string root = "recs";
  json placements_json;
  json experiments_json;
  auto s = for_keys(
      section, root,
      {{"enabled", bool_into(o.enabled)},
       {"default_strategy", string_into(o.default_strategy)},
       {"popularity_source", string_into(o.popularity_source)},
       {"personalize_unknown_consent", bool_into(o.personalize_unknown_consent)},
       {"default_n", size_into(o.default_n, 1, 1000)},
       {"max_n", size_into(o.max_n, 1, 1000)},
       {"candidate_multiplier", size_into(o.candidate_multiplier, 1, 100)},
       {"experiments_path", string_into(o.experiments_path)},
       {"snapshot_interval_seconds", seconds_into(o.snapshot_interval, 1)},
       {"snapshot_neighbours", size_into(o.snapshot_neighbours, 1, 200)},
       {"snapshot_popular", size_into(o.snapshot_popular, 1, 10000)},
       {"snapshot_max_items", size_into(o.snapshot_max_items, 1, 1'000'000)},
       {"strategies", [&](const json& v, const std::string& at) -> Status {
          if (!v.is_object() || v.empty()) return invalid(at, "must be a non-empty object");
          o.strategies.clear();
          for (const auto& [name, weights] : v.items()) {
            if (!weights.is_object() || weights.empty()) {
              return invalid(at + "." + name, "must be an object {\"<source>\": weight}");
            }
            for (const auto& [source, w] : weights.items()) {
              auto n = number_at(w, at + "." + name + "." + source, 0);
              if (!n) return n.error();
              o.strategies[name][source] = *n;
            }
          }
          return ok_status();
        }},
       {"placements", [&](const json& v, const std::string& at) -> Status {
          if (!v.is_object()) return invalid(at, "must be an object");
          placements_json = v;
          return ok_status();
        }},
       {"default_placement", [&](const json& v, const std::string& at) {
          return parse_placement(v, at, o.default_placement);
        }},
       {"exclude_purchased", [&](const json& v, const std::string& at) -> Status {
          auto& e = o.exclude_purchased;
          return for_keys(v, at,
                          {{"window_seconds", seconds_into(e.window, 0)},
                           {"categories", [&e](const json& c, const std::string& a) -> Status {
                              if (!c.is_object()) return invalid(a, "must be an object");
                              for (const auto& [prefix, seconds] : c.items()) {
                                auto n = number_at(seconds, a + "." + prefix, 0);
                                if (!n) return n.error();
                                e.category_windows[prefix] = std::chrono::milliseconds(
                                    static_cast<std::int64_t>(std::llround(*n * 1000)));
                              }
                              return ok_status();
                            }}});
        }},
       {"boosts", [&](const json& v, const std::string& at) -> Status {
          if (!v.is_array()) return invalid(at, "must be an array of rules");
          for (std::size_t i = 0; i < v.size(); ++i) {
            BoostRule rule;
            if (auto r = parse_boost(v[i], at + "[" + std::to_string(i) + "]", rule); !r) return r;
            o.boosts.push_back(std::move(rule));
          }
          return ok_status();
        }},
       {"catalog", [&](const json& v, const std::string& at) {
          auto& c = o.catalog;
          return for_keys(
              v, at,
              {{"path", string_into(c.path)},
               {"synchronous_full", bool_into(c.synchronous_full)},
               {"max_items", size_into(c.max_items, 1, 100'000'000)},
               {"max_upload_bytes", size_into(c.max_upload_bytes, 1024, 1024UL * 1024 * 1024)},
               {"max_upload_items", size_into(c.max_upload_items, 1, 10'000'000)},
               {"max_stores_per_item", size_into(c.max_stores_per_item, 1, 1'000'000)}});
        }},
       // The models' own section, parsed by parse_recs_models_options (collector/recs/models).
       {"models", [](const json& v, const std::string& at) -> Status {
          if (!v.is_object()) return invalid(at, "must be an object");
          return ok_status();
        }},
       {"session", [&](const json& v, const std::string& at) {
          auto& ss = o.session;
          return for_keys(v, at,
                          {{"gap_seconds", seconds_into(ss.gap, 1)},
                           {"max_profiles", size_into(ss.max_profiles, 1, 100'000'000)},
                           {"session_items", size_into(ss.session_items, 1, 1000)},
                           {"cart_items", size_into(ss.cart_items, 1, 1000)},
                           {"recent_purchases", size_into(ss.recent_purchases, 0, 1000)}});
        }},
       {"attribution", [&](const json& v, const std::string& at) {
          auto& a = o.attribution;
          return for_keys(v, at,
                          {{"max_exposures", size_into(a.max_exposures, 1, 100'000'000)},
                           {"window_seconds", seconds_into(a.window, 1)}});
        }},
       {"experiments", [&](const json& v, const std::string& at) -> Status {
          if (!v.is_object()) return invalid(at, "must be an object {\"<placement>\": {...}}");
          experiments_json = v;
          return ok_status();
        }}});
  if (!s) return s.error();

  if (!o.strategies.count(o.default_strategy)) {
    return invalid(root + ".default_strategy", "unknown strategy \"" + o.default_strategy + "\"");
  }
  if (o.default_n > o.max_n) return invalid(root + ".default_n", "must be <= max_n");
  std::vector<std::string> names;
  for (const auto& [name, w] : o.strategies) names.push_back(name);
  auto check_strategy = [&](const std::string& strategy, const std::string& at) -> Status {
    if (!strategy.empty() && !o.strategies.count(strategy)) {
      return invalid(at, "unknown strategy \"" + strategy + "\"");
    }
    return ok_status();
  };
  if (auto c = check_strategy(o.default_placement.strategy, root + ".default_placement.strategy");
      !c) {
    return c.error();
  }
  if (!placements_json.is_null()) {
    for (const auto& [name, p] : placements_json.items()) {
      const std::string at = root + ".placements." + name;
      PlacementOptions placement = o.default_placement;
      if (auto r = parse_placement(p, at, placement); !r) return r.error();
      if (auto c = check_strategy(placement.strategy, at + ".strategy"); !c) return c.error();
      o.placements[name] = std::move(placement);
    }
  }
  if (!experiments_json.is_null()) {
    for (const auto& [placement, e] : experiments_json.items()) {
      const std::string at = root + ".experiments." + placement;
      auto config = experiment_from_json(e, at);
      if (!config) return config.error();
      if (auto v = validate_experiment(*config, names, at); !v) return v.error();
      o.experiments[placement] = std::move(*config);
    }
  }
  return o;
}

}  // namespace aisle::collector::recs
