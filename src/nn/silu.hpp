// SiLU over a float matrix, in place, with its derivative when asked: the network's most frequent
// transcendental (every edge and atom, every layer). One vector pass computes the sigmoid
// (Cephes' range reduction with a shorter fitted polynomial: within 1e-7 relative), z s and
// s (1 + z (1 - s)): wasm-simd128 in WebAssembly (Eigen 3.4's exp is scalar musl expf there, which
// with the 1/x took a third of an evaluation), GCC/Clang vector extensions natively.
#pragma once
#include "nn/linear.hpp"

namespace enf::nn {

// z <- z sigmoid(z); grad (if not null) <- silu'(z) = s (1 + z (1 - s)), s = sigmoid(z).
void silu_inplace(MatrixF& z, MatrixF* grad);

// z <- sigmoid(z + bias) (the attention gate), with the same exp in wasm.
void sigmoid_inplace(MatrixF& z, float bias);

}  // namespace enf::nn
