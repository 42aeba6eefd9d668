// dst (= or +=) W * X (+ b) for float matrices, the network's hot product (W: out x in weights, X:
// one column per atom, edge or tangent). Natively Eigen's GEMM; in WebAssembly, where Eigen 3.4
// has no SIMD kernel of its own (its expressions run scalar there), wasm-simd128 micro-kernels.
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
