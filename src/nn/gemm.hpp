// dst (= or +=) W * X for float matrices, the network's hot product (W: out x in weights, X: one
// column per atom, edge or tangent). Natively Eigen's GEMM; in WebAssembly, where Eigen 3.4 has no
// SIMD kernel of its own, a wasm-simd128 micro-kernel (16 rows x 2 columns per tile).
#pragma once
#include "nn/linear.hpp"

namespace enf::nn {

// W may be a block of whole columns of a larger matrix (an Eigen::Ref, no copy).
void matmul(MatrixF& dst, const Eigen::Ref<const MatrixF>& W, const MatrixF& X, bool accumulate = false);

}  // namespace enf::nn
