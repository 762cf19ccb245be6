#include "collector/recs/serving/blender.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace aisle::collector::recs {
namespace {

void sort_best_first(std::vector<RankedItem>& items) {
  std::sort(items.begin(), items.end(), [](const RankedItem& a, const RankedItem& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.item < b.item;
  });
}

}  // namespace

std::vector<RankedItem> blend(const std::vector<SourceCandidates>& sources) {
  struct Acc {
    double score = 0;
    double best_share = -1;
    std::string source;
  };
  std::unordered_map<std::string, Acc> merged;
  for (const auto& s : sources) {
    if (s.weight <= 0) continue;
    double best = 0;
    for (const auto& c : s.candidates) best = std::max(best, c.score);
    if (best <= 0) continue;
    for (const auto& c : s.candidates) {
      if (c.score <= 0 || c.item.empty()) continue;
      const double share = s.weight * c.score / best;
      Acc& acc = merged[c.item];
      acc.score += share;
      if (share > acc.best_share) {
        acc.best_share = share;
        acc.source = s.source;
      }
    }
  }
  std::vector<RankedItem> out;
  out.reserve(merged.size());
  for (auto& [item, acc] : merged) out.push_back({item, acc.score, std::move(acc.source), "", -1});
  sort_best_first(out);
  return out;
}

bool category_matches(std::string_view category, std::string_view prefix) {
  if (prefix.empty()) return true;
  if (category.size() < prefix.size() || category.substr(0, prefix.size()) != prefix) return false;
  return category.size() == prefix.size() || category[prefix.size()] == '/';
}

std::string category_at_depth(std::string_view category, std::size_t depth) {
  if (depth == 0) return std::string(category);
  std::size_t pos = 0;
  for (std::size_t level = 0; level < depth; ++level) {
    pos = category.find('/', pos);
    if (pos == std::string_view::npos) return std::string(category);
    if (level + 1 < depth) ++pos;
  }
  return std::string(category.substr(0, pos));
}

std::chrono::milliseconds purchase_window(const ExcludePurchasedOptions& options,
                                          std::string_view category) {
  std::size_t best_length = 0;
  std::chrono::milliseconds window = options.window;
  for (const auto& [prefix, w] : options.category_windows) {
    if (prefix.size() >= best_length && category_matches(category, prefix)) {
      best_length = prefix.size();
      window = w;
    }
  }
  return window;
}

void apply_rules(std::vector<RankedItem>& items, const RuleInput& input, const RecsOptions& options,
                 const Catalog* catalog) {
  std::vector<char> keep(items.size(), 1);
  if (catalog != nullptr) {
    std::vector<std::string> skus;
    skus.reserve(items.size());
    for (const auto& i : items) skus.push_back(i.item);
    catalog->visit(skus, [&](std::size_t i, const CatalogItem* item) {
      if (item == nullptr) return;  // unknown to the catalog: nothing says it is out of stock
      if (!item->available_in(input.store_id)) keep[i] = 0;
      items[i].category = item->category;
      if (!item->currency.empty()) items[i].price = item->price;
    });
  }
  // Purchases still inside their window, by sku.
  std::unordered_set<std::string_view> recently_bought;
  for (const auto& p : input.purchases) {
    const auto window = purchase_window(options.exclude_purchased, p.category);
    if (window.count() > 0 && input.now - p.at < window.count()) recently_bought.insert(p.item);
  }
  std::unordered_set<std::string_view> cart;
  if (input.exclude_cart) cart.insert(input.cart.begin(), input.cart.end());

  for (std::size_t i = 0; i < items.size(); ++i) {
    RankedItem& it = items[i];
    if (!keep[i]) continue;
    if (input.exclude_current && !input.context_item.empty() && it.item == input.context_item) {
      keep[i] = 0;
      continue;
    }
    if (cart.count(it.item) || recently_bought.count(it.item)) {
      keep[i] = 0;
      continue;
    }
    for (const auto& rule : options.boosts) {
      if (!rule.item.empty() && rule.item != it.item) continue;
      if (!rule.category.empty() && !category_matches(it.category, rule.category)) continue;
      if (rule.min_price || rule.max_price) {
        if (it.price < 0) continue;
        if (rule.min_price && it.price < *rule.min_price) continue;
        if (rule.max_price && it.price >= *rule.max_price) continue;
      }
      it.score *= rule.multiplier;
    }
    if (it.score <= 0) keep[i] = 0;
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!keep[i]) continue;
    if (out != i) items[out] = std::move(items[i]);  // never self-move: it empties a string
    ++out;
  }
  items.resize(out);
  sort_best_first(items);
}

std::vector<RankedItem> diversify(std::vector<RankedItem> items, const DiversityOptions& options,
                                  std::size_t n) {
  std::vector<RankedItem> out;
  if (options.mmr_lambda < 1.0) {
    // Greedy MMR: lambda * relevance - (1 - lambda) * max similarity to what was picked, with
    // relevance normalized to the best score and similarity 1 for a category already shown.
    const double best = items.empty() ? 1.0 : std::max(items.front().score, 1e-12);
    std::map<std::string, std::size_t> shown;
    std::vector<char> taken(items.size(), 0);
    while (out.size() < n) {
      double best_value = -1e300;
      std::size_t pick = items.size();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (taken[i]) continue;
        const std::string cat = category_at_depth(items[i].category, options.category_depth);
        if (options.max_per_category > 0 && !cat.empty() &&
            shown[cat] >= options.max_per_category) {
          continue;
        }
        const double similarity = (!cat.empty() && shown[cat] > 0) ? 1.0 : 0.0;
        const double value = options.mmr_lambda * items[i].score / best -
                             (1.0 - options.mmr_lambda) * similarity;
        if (value > best_value) {
          best_value = value;
          pick = i;
        }
      }
      if (pick == items.size()) break;
      taken[pick] = 1;
      ++shown[category_at_depth(items[pick].category, options.category_depth)];
      out.push_back(std::move(items[pick]));
    }
    return out;
  }
  if (options.max_per_category == 0) {
    if (items.size() > n) items.resize(n);
    return items;
  }
  std::map<std::string, std::size_t> shown;
  for (auto& item : items) {
    if (out.size() >= n) break;
    const std::string cat = category_at_depth(item.category, options.category_depth);
    // Items of unknown category are not capped: nothing says they are alike.
    if (!cat.empty() && shown[cat] >= options.max_per_category) continue;
    ++shown[cat];
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace aisle::collector::recs
