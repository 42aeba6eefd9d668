// The network's float32 kernels (nn/gemm, nn/silu) against double-precision references, over the
// shapes the networks use and the awkward ones around them: the hand micro-kernels' row blocks and
// column tails, weights that are a block of a larger matrix, accumulation and bias. And the
// property batching relies on: a column's (an element's) result does not depend on its position.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nn/gemm.hpp"
#include "nn/silu.hpp"
#include "tensor/random.hpp"

using enf::nn::MatrixF;

namespace {

MatrixF random_matrix(int rows, int cols, enf::Rng& rng) {
  MatrixF m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = static_cast<float>(rng.normal());
  return m;
}

}  // namespace

TEST(Kernels, MatmulMatchesDoublePrecisionOverShapes) {
  enf::Rng rng(7);
  for (int M : {1, 7, 16, 32, 48, 64, 128})
    for (int K : {1, 7, 64, 130})
      for (int N : {0, 1, 2, 3, 5, 19, 342})
        for (bool accumulate : {false, true})
          for (bool bias : {false, true}) {
            // W is a block of whole columns of a wider matrix, as the layers slice their weights.
            const MatrixF wide = random_matrix(M, K + 3, rng);
            const Eigen::Ref<const MatrixF> W = wide.middleCols(2, K);
            const MatrixF X = random_matrix(K, N, rng);
            const MatrixF b = random_matrix(M, 1, rng);
            const MatrixF before = random_matrix(M, N, rng);
            MatrixF C = before;
            enf::nn::matmul(C, W, X, accumulate, bias ? b.data() : nullptr);
            ASSERT_EQ(C.rows(), M);
            ASSERT_EQ(C.cols(), N);
            Eigen::MatrixXd want = W.cast<double>() * X.cast<double>();
            if (accumulate) want += before.cast<double>();
            if (bias) want.colwise() += b.cast<double>().col(0);
            // Error bound of a float sum of K + 2 terms, relative to the sum of magnitudes.
            Eigen::MatrixXd scale = W.cast<double>().cwiseAbs() * X.cast<double>().cwiseAbs();
            if (accumulate) scale += before.cast<double>().cwiseAbs();
            if (bias) scale.colwise() += b.cast<double>().cwiseAbs().col(0);
            const double err = N == 0 ? 0.0 : ((C.cast<double>() - want).array() / (scale.array() + 1e-30)).abs().maxCoeff();
            EXPECT_LT(err, (K + 3) * 6e-8) << M << " x " << K << " x " << N << ", accumulate " << accumulate << ", bias " << bias;
          }
}

// For outputs of a multiple of 16 rows (every hidden layer here), which the micro-kernels take in
// both builds; the 7-row output layer goes through Eigen natively.
TEST(Kernels, MatmulColumnDoesNotDependOnItsPosition) {
  enf::Rng rng(8);
  for (int M : {16, 32, 48, 64, 128})
    for (int K : {7, 64, 130}) {
      const MatrixF W = random_matrix(M, K, rng), X = random_matrix(K, 37, rng), b = random_matrix(M, 1, rng);
      MatrixF all;
      enf::nn::matmul(all, W, X, false, b.data());
      for (int j = 0; j < X.cols(); ++j) {
        MatrixF one;
        enf::nn::matmul(one, W, X.col(j), false, b.data());
        ASSERT_EQ(one.col(0), all.col(j)) << M << " x " << K << ", column " << j;
      }
    }
}

TEST(Kernels, SiluAndItsDerivativeMatchDoublePrecision) {
  // A grid over [-100, 100], denser near 0, in a length with a vector tail.
  MatrixF z(1, 20001 + 3);
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    const double u = -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(z.size() - 1);
    z(i) = static_cast<float>(100.0 * u * u * u);
  }
  MatrixF y = z, g;
  enf::nn::silu_inplace(y, &g);
  double worst_y = 0, worst_g = 0;
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    const double x = z(i), s = 1.0 / (1.0 + std::exp(-x));
    const double want_y = x * s, want_g = s * (1.0 + x * (1.0 - s));
    worst_y = std::max(worst_y, std::abs(y(i) - want_y) / std::max(std::abs(want_y), 1e-30));
    // silu' crosses zero near x = -1.28: there the error is relative to its scale, 1.
    worst_g = std::max(worst_g, std::abs(g(i) - want_g) / std::max(std::abs(want_g), 1.0));
  }
  EXPECT_LT(worst_y, 1e-6);
  EXPECT_LT(worst_g, 1e-6);
  // The derivative agrees with a central difference of the double-precision SiLU.
  for (const double x : {-7.0, -1.3, -0.2, 0.0, 0.4, 2.5, 9.0}) {
    MatrixF a(1, 1);
    a(0) = static_cast<float>(x);
    MatrixF ga;
    enf::nn::silu_inplace(a, &ga);
    const double h = 1e-5, xf = static_cast<float>(x);
    const auto silu = [](double v) { return v / (1.0 + std::exp(-v)); };
    EXPECT_NEAR(ga(0), (silu(xf + h) - silu(xf - h)) / (2 * h), 1e-6) << x;
  }
  // A NaN stays NaN (the clamp does not turn it into a number).
  MatrixF n(1, 5);
  n.setConstant(1.0f);
  n(3) = std::numeric_limits<float>::quiet_NaN();
  enf::nn::silu_inplace(n, nullptr);
  EXPECT_TRUE(std::isnan(n(3)));
  EXPECT_FALSE(std::isnan(n(2)));
}

TEST(Kernels, SiluElementDoesNotDependOnItsPosition) {
  enf::Rng rng(9);
  const MatrixF z = random_matrix(1, 67, rng) * 4.0f;
  MatrixF all = z, g_all;
  enf::nn::silu_inplace(all, &g_all);
  for (int start = 0; start < 40; ++start)
    for (int len : {1, 3, 5, 17, 27}) {
      MatrixF part = z.middleCols(start, len), g;
      enf::nn::silu_inplace(part, &g);
      ASSERT_EQ(part, all.middleCols(start, len)) << start << " + " << len;
      ASSERT_EQ(g, g_all.middleCols(start, len)) << start << " + " << len;
    }
}
