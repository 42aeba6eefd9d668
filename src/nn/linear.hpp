// A dense layer y = W x + b with W stored (out, in) as in PyTorch.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

namespace enf::nn {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
using VectorF = Eigen::Matrix<float, Eigen::Dynamic, 1>;
using RowVectorF = Eigen::Matrix<float, 1, Eigen::Dynamic>;

struct Linear {
  MatrixF weight;  // (out, in)
  VectorF bias;    // (out) or empty when the layer has no bias
  int in() const { return static_cast<int>(weight.cols()); }
  int out() const { return static_cast<int>(weight.rows()); }
  bool has_bias() const { return bias.size() > 0; }
};

// Copies a row-major (out, in) float buffer into a Linear layer.
inline MatrixF matrix_from_row_major(const std::vector<float>& data, int rows, int cols) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      data.data(), rows, cols);
}

}  // namespace enf::nn
