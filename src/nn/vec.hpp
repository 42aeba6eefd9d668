// The native kernels' vector (nn/gemm, nn/silu): GCC/Clang vector extensions of the widest width
// the target has, so -march=native gets AVX-512 or AVX2 and a generic x86-64 build SSE. Loads and
// stores are unaligned: Eigen's column blocks need not be aligned. (WebAssembly uses wasm-simd128
// intrinsics instead, tuned for how V8 maps them.)
#pragma once

namespace enf::nn::vec {

#if defined(__AVX512F__)
constexpr int L = 16;  // floats per vector; 32 vector registers
#elif defined(__AVX__)
constexpr int L = 8;  // 16 registers
#else
constexpr int L = 4;  // 16 registers
#endif
typedef float F __attribute__((vector_size(L * sizeof(float))));
typedef int I __attribute__((vector_size(L * sizeof(float))));

inline F load(const float* p) {
  F v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, F v) { __builtin_memcpy(p, &v, sizeof v); }

}  // namespace enf::nn::vec
