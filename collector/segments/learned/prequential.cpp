#include "collector/segments/learned/prequential.hpp"

#include <algorithm>
#include <cmath>

namespace aisle::collector::segments {

PrequentialEvaluator::PrequentialEvaluator(std::size_t window)
    : ring_(std::max<std::size_t>(window, 1)) {}

void PrequentialEvaluator::add(double score, bool label) {
  ring_[next_] = Entry{static_cast<float>(score), label};
  next_ = (next_ + 1) % ring_.size();
  filled_ = std::min(filled_ + 1, ring_.size());
  ++total_;
}

void PrequentialEvaluator::reset() {
  next_ = 0;
  filled_ = 0;
  total_ = 0;
}

std::vector<PrequentialEvaluator::Entry> PrequentialEvaluator::entries() const {
  std::vector<Entry> out;
  out.reserve(filled_);
  const std::size_t start = filled_ < ring_.size() ? 0 : next_;
  for (std::size_t k = 0; k < filled_; ++k) out.push_back(ring_[(start + k) % ring_.size()]);
  return out;
}

std::size_t PrequentialEvaluator::positives() const {
  std::size_t p = 0;
  for (std::size_t k = 0; k < filled_; ++k) p += ring_[k].label ? 1 : 0;
  return p;
}

std::optional<double> PrequentialEvaluator::auc() const {
  std::vector<Entry> sorted(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(filled_));
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry& a, const Entry& b) { return a.score < b.score; });
  // Walk groups of equal scores in ascending order: each positive beats every negative below its
  // group and ties with the negatives inside it.
  double wins = 0;
  double negatives_below = 0;
  double positives_total = 0;
  std::size_t i = 0;
  while (i < sorted.size()) {
    std::size_t j = i;
    double pos = 0;
    double neg = 0;
    while (j < sorted.size() && sorted[j].score == sorted[i].score) {
      (sorted[j].label ? pos : neg) += 1;
      ++j;
    }
    wins += pos * (negatives_below + 0.5 * neg);
    negatives_below += neg;
    positives_total += pos;
    i = j;
  }
  if (positives_total == 0 || negatives_below == 0) return std::nullopt;
  return wins / (positives_total * negatives_below);
}

std::optional<double> PrequentialEvaluator::log_loss() const {
  if (filled_ == 0) return std::nullopt;
  double sum = 0;
  for (std::size_t k = 0; k < filled_; ++k) {
    const double p = std::clamp(static_cast<double>(ring_[k].score), 1e-15, 1 - 1e-15);
    sum -= ring_[k].label ? std::log(p) : std::log(1 - p);
  }
  return sum / static_cast<double>(filled_);
}

}  // namespace aisle::collector::segments
