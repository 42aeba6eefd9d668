// The network's elementwise passes over float columns (rows contiguous): the per-edge input sum,
// the per-atom sums over edges, products with recorded derivatives and the attention gate. In
// WebAssembly Eigen 3.4's expressions run scalar (it has no wasm packet type), so there these are
// wasm-simd128 loops, each lane computing what Eigen's expression computes, in the same order;
// natively they are the Eigen expressions the backend always used (native results unchanged).
#pragma once
#include <Eigen/Dense>
#include <cstddef>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

namespace enf::nn {

// o = a + b + r wr (+ at wa when wa is not null), n floats.
inline void edge_sum(float* o, const float* a, const float* b, const float* wr, float r, const float* wa, float at,
                     int n) {
#ifndef __wasm_simd128__
  using V = Eigen::Map<const Eigen::VectorXf>;
  if (wa)
    Eigen::Map<Eigen::VectorXf>(o, n) = V(a, n) + V(b, n) + V(wr, n) * r + V(wa, n) * at;
  else
    Eigen::Map<Eigen::VectorXf>(o, n) = V(a, n) + V(b, n) + V(wr, n) * r;
#else
  int k = 0;
  const v128_t vr = wasm_f32x4_splat(r), va = wasm_f32x4_splat(at);
  for (; k + 4 <= n; k += 4) {
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_v128_load(a + k), wasm_v128_load(b + k)),
                              wasm_f32x4_mul(wasm_v128_load(wr + k), vr));
    if (wa) s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(wa + k), va));
    wasm_v128_store(o + k, s);
  }
  for (; k < n; ++k) o[k] = wa ? a[k] + b[k] + wr[k] * r + wa[k] * at : a[k] + b[k] + wr[k] * r;
#endif
}

// o = the sum of m's `cols` columns of `rows` floats, added in column order.
inline void sum_columns(float* o, const float* m, int rows, int cols) {
#ifndef __wasm_simd128__
  Eigen::Map<Eigen::VectorXf>(o, rows) = Eigen::Map<const Eigen::MatrixXf>(m, rows, cols).rowwise().sum();
#else
  int k = 0;
  for (; k + 16 <= rows; k += 16) {
    v128_t s0 = wasm_f32x4_splat(0.f), s1 = s0, s2 = s0, s3 = s0;
    for (int c = 0; c < cols; ++c) {
      const float* p = m + static_cast<size_t>(c) * rows + k;
      s0 = wasm_f32x4_add(s0, wasm_v128_load(p));
      s1 = wasm_f32x4_add(s1, wasm_v128_load(p + 4));
      s2 = wasm_f32x4_add(s2, wasm_v128_load(p + 8));
      s3 = wasm_f32x4_add(s3, wasm_v128_load(p + 12));
    }
    wasm_v128_store(o + k, s0);
    wasm_v128_store(o + k + 4, s1);
    wasm_v128_store(o + k + 8, s2);
    wasm_v128_store(o + k + 12, s3);
  }
  for (; k < rows; ++k) {
    float s = 0.f;
    for (int c = 0; c < cols; ++c) s += m[static_cast<size_t>(c) * rows + k];
    o[k] = s;
  }
#endif
}

// z *= a elementwise, n floats.
inline void mul_inplace(float* z, const float* a, size_t n) {
#ifndef __wasm_simd128__
  const auto len = static_cast<Eigen::Index>(n);
  Eigen::Map<Eigen::ArrayXf>(z, len) *= Eigen::Map<const Eigen::ArrayXf>(a, len);
#else
  size_t k = 0;
  for (; k + 4 <= n; k += 4) wasm_v128_store(z + k, wasm_f32x4_mul(wasm_v128_load(z + k), wasm_v128_load(a + k)));
  for (; k < n; ++k) z[k] *= a[k];
#endif
}

// z = z s + a c, n floats (s and c scalars).
inline void scale_add(float* z, float s, const float* a, float c, int n) {
#ifndef __wasm_simd128__
  Eigen::Map<Eigen::VectorXf> zv(z, n);
  zv = zv * s + Eigen::Map<const Eigen::VectorXf>(a, n) * c;
#else
  int k = 0;
  const v128_t vs = wasm_f32x4_splat(s), vc = wasm_f32x4_splat(c);
  for (; k + 4 <= n; k += 4)
    wasm_v128_store(z + k, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(z + k), vs), wasm_f32x4_mul(wasm_v128_load(a + k), vc)));
  for (; k < n; ++k) z[k] = z[k] * s + a[k] * c;
#endif
}

// Column c of m (rows floats each) times g[c], for `cols` columns.
inline void scale_columns(float* m, const float* g, int rows, int cols) {
#ifndef __wasm_simd128__
  Eigen::Map<Eigen::ArrayXXf>(m, rows, cols).rowwise() *= Eigen::Map<const Eigen::ArrayXXf>(g, 1, cols).row(0);
#else
  for (int c = 0; c < cols; ++c) {
    float* p = m + static_cast<size_t>(c) * rows;
    int k = 0;
    const v128_t v = wasm_f32x4_splat(g[c]);
    for (; k + 4 <= rows; k += 4) wasm_v128_store(p + k, wasm_f32x4_mul(wasm_v128_load(p + k), v));
    for (; k < rows; ++k) p[k] *= g[c];
  }
#endif
}

}  // namespace enf::nn
