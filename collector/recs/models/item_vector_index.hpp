// ItemVectorIndex: approximate maximum-inner-product search over item vectors with HNSW
// (Malkov & Yashunin 2018; Debian's header-only hnswlib, inner-product space). The ALS model
// retrieves its top items for a user or session vector with it instead of scoring every item.
//
// Built once from a fixed set of vectors (a retrain builds a new index); immutable afterwards.
// Threads: search() from any number of threads concurrently (hnswlib keeps its per-search
// visited lists in a locked pool, its counters are atomics). hnswlib types stay in the .cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace aisle::collector::recs {

struct HnswOptions {
  std::size_t m = 16;                 // links per node (2 x m on the base layer)
  std::size_t ef_construction = 200;  // candidate list while building
  std::size_t ef_search = 100;        // candidate list while searching (at least n)
  std::uint64_t seed = 100;           // level generator: same vectors, same graph
};

// (row, inner product), best first.
using VectorHit = std::pair<std::uint32_t, float>;

class ItemVectorIndex {
 public:
  // Indexes `count` row-major vectors of `dimension` floats (copied). Errors when hnswlib refuses
  // (allocation) — a retrain then keeps serving the previous model.
  static Result<std::unique_ptr<ItemVectorIndex>> build(const float* vectors, std::size_t count,
                                                        std::size_t dimension,
                                                        const HnswOptions& options);
  ~ItemVectorIndex();
  ItemVectorIndex(const ItemVectorIndex&) = delete;
  ItemVectorIndex& operator=(const ItemVectorIndex&) = delete;

  // The (approximately) `n` rows with the largest inner product with `query`, best first.
  std::vector<VectorHit> search(const float* query, std::size_t n) const;

  std::size_t size() const { return count_; }
  std::size_t approx_bytes() const;

 private:
  struct Impl;
  ItemVectorIndex(std::unique_ptr<Impl> impl, std::size_t count, std::size_t dimension,
                  std::size_t m);

  std::unique_ptr<Impl> impl_;
  std::size_t count_;
  std::size_t dimension_;
  std::size_t m_;
};

// The exact top `n` by inner product (the reference HNSW is measured against, and the search over
// the few items folded in since the last retrain).
std::vector<VectorHit> brute_force_top(const float* vectors, std::size_t count,
                                       std::size_t dimension, const float* query, std::size_t n);

}  // namespace aisle::collector::recs
