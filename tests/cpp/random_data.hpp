// Seeded random matrices for the tests: Gaussian configurations and Rademacher probes.
#pragma once
#include <Eigen/Dense>
#include <cstdint>

#include "tensor/random.hpp"

namespace enf::test {

inline Eigen::MatrixXd randn(int rows, int cols, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = scale * rng.normal();
  return m;
}

inline Eigen::MatrixXd rademacher(int rows, int cols, uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = rng.rademacher();
  return m;
}

}  // namespace enf::test
