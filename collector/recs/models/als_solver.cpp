#include "collector/recs/models/als_solver.hpp"

#include <cmath>

namespace aisle::collector::recs {
namespace {

// splitmix64: a portable, seedable generator (std:: distributions differ between libraries, and
// "same seed, same model" must hold wherever the collector is built).
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// In-place Cholesky of the k x k row-major SPD matrix `a` (lower triangle used), then solves
// a x = b into b. False when a pivot is not positive.
bool cholesky_solve(std::vector<double>& a, std::vector<double>& b, std::size_t k) {
  for (std::size_t j = 0; j < k; ++j) {
    double diagonal = a[j * k + j];
    for (std::size_t p = 0; p < j; ++p) diagonal -= a[j * k + p] * a[j * k + p];
    if (!(diagonal > 0)) return false;
    const double pivot = std::sqrt(diagonal);
    a[j * k + j] = pivot;
    for (std::size_t i = j + 1; i < k; ++i) {
      double value = a[i * k + j];
      for (std::size_t p = 0; p < j; ++p) value -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = value / pivot;
    }
  }
  for (std::size_t i = 0; i < k; ++i) {  // L z = b
    double value = b[i];
    for (std::size_t p = 0; p < i; ++p) value -= a[i * k + p] * b[p];
    b[i] = value / a[i * k + i];
  }
  for (std::size_t i = k; i-- > 0;) {  // L^T x = z
    double value = b[i];
    for (std::size_t p = i + 1; p < k; ++p) value -= a[p * k + i] * b[p];
    b[i] = value / a[i * k + i];
  }
  return true;
}

void solve_all(const SparseRows& rows, const std::vector<float>& other, std::size_t k,
               const AlsParams& params, std::vector<float>& out) {
  const std::vector<double> gram = gram_matrix(other, k);
  SolveScratch scratch;
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    const std::uint32_t begin = rows.offsets[r];
    const std::uint32_t count = rows.offsets[r + 1] - begin;
    float* row = out.data() + r * k;
    if (count == 0 || !solve_row(gram, other.data(), k, rows.columns.data() + begin,
                                 rows.values.data() + begin, count, params.alpha,
                                 params.regularization, row, scratch)) {
      // No data (or a degenerate system): the zero vector, which scores every pair 0.
      for (std::size_t f = 0; f < k; ++f) row[f] = 0;
    }
  }
}

}  // namespace

void SparseRows::add_row(const std::vector<std::pair<std::uint32_t, float>>& row) {
  for (const auto& [column, value] : row) {
    columns.push_back(column);
    values.push_back(value);
  }
  offsets.push_back(static_cast<std::uint32_t>(columns.size()));
}

SparseRows transpose(const SparseRows& rows, std::size_t columns) {
  SparseRows result;
  result.offsets.assign(columns + 1, 0);
  for (const std::uint32_t column : rows.columns) ++result.offsets[column + 1];
  for (std::size_t c = 0; c < columns; ++c) result.offsets[c + 1] += result.offsets[c];
  result.columns.resize(rows.entries());
  result.values.resize(rows.entries());
  std::vector<std::uint32_t> fill(result.offsets.begin(), result.offsets.end() - 1);
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    for (std::uint32_t e = rows.offsets[r]; e < rows.offsets[r + 1]; ++e) {
      const std::uint32_t slot = fill[rows.columns[e]]++;
      result.columns[slot] = static_cast<std::uint32_t>(r);
      result.values[slot] = rows.values[e];
    }
  }
  return result;
}

std::vector<double> gram_matrix(const std::vector<float>& factors, std::size_t k) {
  std::vector<double> gram(k * k, 0.0);
  const std::size_t rows = k == 0 ? 0 : factors.size() / k;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = factors.data() + r * k;
    for (std::size_t i = 0; i < k; ++i) {
      const double value = row[i];
      for (std::size_t j = 0; j <= i; ++j) gram[i * k + j] += value * row[j];
    }
  }
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = i + 1; j < k; ++j) gram[i * k + j] = gram[j * k + i];
  }
  return gram;
}

bool solve_row(const std::vector<double>& gram, const float* other, std::size_t k,
               const std::uint32_t* columns, const float* values, std::size_t count,
               double alpha, double lambda, float* out, SolveScratch& scratch) {
  scratch.a.assign(gram.begin(), gram.end());
  scratch.b.assign(k, 0.0);
  std::vector<double>& a = scratch.a;
  std::vector<double>& b = scratch.b;
  for (std::size_t i = 0; i < k; ++i) a[i * k + i] += lambda;
  for (std::size_t e = 0; e < count; ++e) {
    const float* o = other + static_cast<std::size_t>(columns[e]) * k;
    const double extra = alpha * values[e];  // c - 1
    const double confidence = 1.0 + extra;
    for (std::size_t i = 0; i < k; ++i) {
      const double scaled = extra * o[i];
      for (std::size_t j = 0; j <= i; ++j) a[i * k + j] += scaled * o[j];
      b[i] += confidence * o[i];
    }
  }
  if (!cholesky_solve(a, b, k)) return false;
  for (std::size_t i = 0; i < k; ++i) out[i] = static_cast<float>(b[i]);
  return true;
}

AlsFactors train_als(const SparseRows& user_items, std::size_t items, const AlsParams& params) {
  AlsFactors factors;
  const std::size_t k = params.factors;
  factors.k = k;
  factors.users.assign(user_items.rows() * k, 0.0f);
  factors.items.resize(items * k);
  // Small random item factors; the first user sweep starts from them.
  std::uint64_t state = params.seed;
  const double scale = 0.1 / std::sqrt(static_cast<double>(k));
  for (float& value : factors.items) {
    const double unit = static_cast<double>(next_random(state) >> 11) * 0x1.0p-53;  // [0, 1)
    value = static_cast<float>((2 * unit - 1) * scale);
  }
  const SparseRows item_users = transpose(user_items, items);
  for (std::size_t iteration = 0; iteration < params.iterations; ++iteration) {
    solve_all(user_items, factors.items, k, params, factors.users);
    solve_all(item_users, factors.users, k, params, factors.items);
  }
  solve_all(user_items, factors.items, k, params, factors.users);
  return factors;
}

}  // namespace aisle::collector::recs
