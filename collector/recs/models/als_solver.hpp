// The arithmetic of implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative Filtering for
// Implicit Feedback Datasets", ICDM 2008), free of threads and I/O so the tests check it directly.
//
// Data: r_ui >= 0 (kind-weighted interaction counts). Preference p_ui = 1 when r_ui > 0, else 0;
// confidence c_ui = 1 + alpha * r_ui. Loss:
//   sum_u,i c_ui (p_ui - x_u . y_i)^2 + lambda (sum_u |x_u|^2 + sum_i |y_i|^2)
// With the items fixed, each user's vector is the solution of the k x k system
//   (Y^T Y + sum_{i in I_u} (c_ui - 1) y_i y_i^T + lambda I) x_u = sum_{i in I_u} c_ui y_i
// (the "Y^T Y trick": the unobserved items only enter through Y^T Y, computed once per sweep),
// and symmetrically for items. Each system is solved exactly by Cholesky: O(|I_u| k^2 + k^3) per
// row, which for k <= 128 costs about what the conjugate-gradient variant (Takács et al. 2011)
// costs with 3 steps, and gives a fold-in identical to a training step (tests rely on it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace aisle::collector::recs {

// Rows of a sparse matrix (CSR): row r holds columns[offsets[r] .. offsets[r + 1]).
struct SparseRows {
  std::vector<std::uint32_t> offsets = {0};
  std::vector<std::uint32_t> columns;
  std::vector<float> values;  // r_ui > 0

  std::size_t rows() const { return offsets.size() - 1; }
  std::size_t entries() const { return columns.size(); }
  void add_row(const std::vector<std::pair<std::uint32_t, float>>& row);
};

// The columns as rows (users x items -> items x users); `columns` is the column count.
SparseRows transpose(const SparseRows& rows, std::size_t columns);

struct AlsParams {
  std::size_t factors = 32;
  std::size_t iterations = 10;
  double regularization = 0.1;
  double alpha = 10;
  std::uint64_t seed = 42;
};

// Row-major factor matrices: row r is [r * k, (r + 1) * k).
struct AlsFactors {
  std::size_t k = 0;
  std::vector<float> users;
  std::vector<float> items;
};

// F^T F (k x k, row-major, double) of a row-major factor matrix.
std::vector<double> gram_matrix(const std::vector<float>& factors, std::size_t k);

// Scratch space of solve_row, reused across rows (one per thread).
struct SolveScratch {
  std::vector<double> a;
  std::vector<double> b;
};

// One row's least-squares solve against fixed `other` factors (`gram` = other^T other):
//   out = (gram + sum_j (c_j - 1) o_j o_j^T + lambda I)^-1 sum_j c_j o_j,  c_j = 1 + alpha r_j.
// `entries` are (row of `other`, r) pairs. False (out untouched) when the system is not positive
// definite, which lambda > 0 rules out short of overflow.
bool solve_row(const std::vector<double>& gram, const float* other, std::size_t k,
               const std::uint32_t* columns, const float* values, std::size_t count,
               double alpha, double lambda, float* out, SolveScratch& scratch);

// Trains user and item factors from `user_items` (users x `items`). Deterministic for a seed.
// Each iteration solves every user, then every item; a final user sweep makes the stored user
// vectors exactly what a fold-in against the final item factors gives.
AlsFactors train_als(const SparseRows& user_items, std::size_t items, const AlsParams& params);

inline float dot(const float* a, const float* b, std::size_t k) {
  float sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace aisle::collector::recs
