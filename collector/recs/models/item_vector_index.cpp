#include "collector/recs/models/item_vector_index.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <exception>
#include <string>

#include "collector/recs/models/als_solver.hpp"

namespace aisle::collector::recs {

struct ItemVectorIndex::Impl {
  explicit Impl(std::size_t dimension) : space(dimension) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
};

ItemVectorIndex::ItemVectorIndex(std::unique_ptr<Impl> impl, std::size_t count,
                                 std::size_t dimension, std::size_t m)
    : impl_(std::move(impl)), count_(count), dimension_(dimension), m_(m) {}

ItemVectorIndex::~ItemVectorIndex() = default;

Result<std::unique_ptr<ItemVectorIndex>> ItemVectorIndex::build(const float* vectors,
                                                                std::size_t count,
                                                                std::size_t dimension,
                                                                const HnswOptions& options) {
  // hnswlib reports failures (allocation, capacity) by exceptions: converted here, at the boundary.
  try {
    auto impl = std::make_unique<Impl>(dimension);
    impl->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl->space, std::max<std::size_t>(count, 1), options.m, options.ef_construction,
        options.seed);
    impl->graph->setEf(options.ef_search);
    for (std::size_t row = 0; row < count; ++row) {
      impl->graph->addPoint(vectors + row * dimension, static_cast<hnswlib::labeltype>(row));
    }
    return std::unique_ptr<ItemVectorIndex>(
        new ItemVectorIndex(std::move(impl), count, dimension, options.m));
  } catch (const std::exception& error) {
    return make_error(ErrorCode::kResourceExhausted,
                      std::string("building the HNSW index failed: ") + error.what());
  }
}

std::vector<VectorHit> ItemVectorIndex::search(const float* query, std::size_t n) const {
  std::vector<VectorHit> hits;
  if (count_ == 0 || n == 0) return hits;
  // searchKnn is const and safe to run concurrently; it throws only on a corrupt graph.
  auto queue = impl_->graph->searchKnn(query, std::min(n, count_));
  hits.reserve(queue.size());
  while (!queue.empty()) {  // worst first: distance = 1 - inner product
    hits.emplace_back(static_cast<std::uint32_t>(queue.top().second), 1.0f - queue.top().first);
    queue.pop();
  }
  std::reverse(hits.begin(), hits.end());
  return hits;
}

std::size_t ItemVectorIndex::approx_bytes() const {
  // Base layer: vector + 2m links + label per item; upper layers hold ~1/m of the items.
  const std::size_t per_item = dimension_ * sizeof(float) + (2 * m_ + 1) * 4 + 8 + 2 * m_ * 4 / 2;
  return count_ * (per_item + 16) + count_ * sizeof(void*);
}

std::vector<VectorHit> brute_force_top(const float* vectors, std::size_t count,
                                       std::size_t dimension, const float* query, std::size_t n) {
  std::vector<VectorHit> all;
  all.reserve(count);
  for (std::size_t row = 0; row < count; ++row) {
    all.emplace_back(static_cast<std::uint32_t>(row), dot(vectors + row * dimension, query, dimension));
  }
  const std::size_t keep = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                    [](const VectorHit& a, const VectorHit& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  all.resize(keep);
  return all;
}

}  // namespace aisle::collector::recs
