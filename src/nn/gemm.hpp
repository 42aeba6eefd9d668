// dst (= or +=) W * X (+ b) for float matrices, the network's hot product (W: out x in weights, X:
// one column per atom, edge or tangent). Micro-kernels: GCC/Clang vector extensions natively (Eigen's
// GEMM repacks W on every call, a cost at these small sizes), wasm-simd128 in WebAssembly (Eigen 3.4
// has no SIMD there: its expressions run scalar). Eigen for shapes the kernels do not take.
#pragma once
#include "nn/linear.hpp"

namespace enf::nn {

// W may be a block of whole columns of a larger matrix (an Eigen::Ref, no copy). bias, when not
// null, holds W.rows() floats added to every column after the product (in the same order as
// `dst.colwise() += bias`, so a result does not depend on where the bias is added).
void matmul(MatrixF& dst, const Eigen::Ref<const MatrixF>& W, const MatrixF& X, bool accumulate = false,
            const float* bias = nullptr);

// dst (1, N) = w X for a row vector w (1, K): the attention gate's and the coordinate head's
// last layers.
void row_times(MatrixF& dst, const MatrixF& w, const MatrixF& X);

}  // namespace enf::nn
