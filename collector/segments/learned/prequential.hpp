// PrequentialEvaluator: "test then train" evaluation of an online model. Each labelled example
// arrives with the score the model gave it before it was trained on it; the evaluator keeps the
// last N (score, label) pairs and computes AUC (exactly, by sorting, ties as half) and mean
// log-loss over them. docs/propensity.md, "Evaluation".
//
// Not thread-safe: the owner serialises calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace aisle::collector::segments {

class PrequentialEvaluator {
 public:
  explicit PrequentialEvaluator(std::size_t window);

  void add(double score, bool label);
  void reset();

  // Area under the ROC curve of the window: P(score of a positive > score of a negative), ties
  // counted half (Mann-Whitney U / (P * N)). nullopt when the window lacks either class.
  // O(N log N).
  std::optional<double> auc() const;
  // Mean of -[y log p + (1 - y) log(1 - p)] over the window, p clipped to [1e-15, 1 - 1e-15].
  std::optional<double> log_loss() const;

  std::size_t size() const { return filled_; }
  std::size_t positives() const;
  std::uint64_t total() const { return total_; }  // examples ever added (since reset)

  struct Entry {
    float score = 0;
    bool label = false;
  };
  // The window, oldest first (tests).
  std::vector<Entry> entries() const;

 private:
  std::vector<Entry> ring_;
  std::size_t next_ = 0;
  std::size_t filled_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace aisle::collector::segments
