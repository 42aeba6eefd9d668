// Random elements of the groups the models are equivariant under, for the property tests.
#pragma once
#include <Eigen/Dense>
#include <Eigen/QR>
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tensor/random.hpp"

namespace enf::test {

// A Haar-random orthogonal dim x dim matrix (QR of a Gaussian matrix) with determinant -1 when
// `reflect`, +1 otherwise.
inline Eigen::MatrixXd random_orthogonal(int dim, uint64_t seed, bool reflect) {
  Rng rng(seed);
  Eigen::MatrixXd a(dim, dim);
  for (int i = 0; i < a.size(); ++i) a(i) = rng.normal();
  Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(a).householderQ();
  if ((q.determinant() < 0) != reflect) q.col(0) *= -1;
  return q;
}

// A uniformly random permutation of 0 .. n-1 (Fisher-Yates).
inline std::vector<int> random_permutation(int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> p(n);
  std::iota(p.begin(), p.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(p[i], p[rng.next_u64() % static_cast<uint64_t>(i + 1)]);
  return p;
}

// The dim x dim matrix as the row-major numbers the APIs take.
inline std::vector<double> row_major(const Eigen::MatrixXd& m) {
  std::vector<double> v(m.size());
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) v[r * m.cols() + c] = m(r, c);
  return v;
}

}  // namespace enf::test
