#include "nn/silu.hpp"

#include <algorithm>
#include <cmath>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

namespace enf::nn {

#ifdef __wasm_simd128__
namespace {

inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

// exp(-x) per lane, for the sigmoid. q = x clamped to +-88.376 (pmin/pmax: one x86 instruction
// each, unlike the IEEE min/max; a NaN passes them and the polynomial, and stays NaN), so n below
// stays within +-127 and 2^n is a normal float. -q = n ln2 + r with |r| <= ln2 / 2 (ln2 split in
// two so n ln2 is exact); e^r = 1 + r + r^2 P(r), P a degree-4 fit of least relative error (within
// 6.6e-8 of e^r evaluated in float, as close as Cephes' degree-7 polynomial), written in u = -r so
// no lane is negated. n is rounded by adding 1.5 * 2^23, which leaves it in t's low mantissa
// bits: (n + 127) << 23 is then t's bits << 23 plus 127 << 23.
inline v128_t exp_neg_f32x4(v128_t x) {
  const v128_t q = wasm_f32x4_pmax(wasm_f32x4_pmin(x, splat(88.3762626647949f)), splat(-88.3762626647949f));
  const v128_t magic = splat(12582912.0f);
  const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(q, splat(-1.44269504088896341f)), magic);
  const v128_t n = wasm_f32x4_sub(t, magic);
  v128_t u = wasm_f32x4_add(q, wasm_f32x4_mul(n, splat(0.693359375f)));
  u = wasm_f32x4_add(u, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  // P(-u), Horner in u with the odd coefficients' signs flipped.
  v128_t y = splat(1.3814597594e-3f);
  y = wasm_f32x4_sub(splat(8.3687077995e-3f), wasm_f32x4_mul(y, u));
  y = wasm_f32x4_sub(splat(4.1668387438e-2f), wasm_f32x4_mul(y, u));
  y = wasm_f32x4_sub(splat(1.6666520708e-1f), wasm_f32x4_mul(y, u));
  y = wasm_f32x4_sub(splat(4.9999993452e-1f), wasm_f32x4_mul(y, u));
  y = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(y, wasm_f32x4_mul(u, u)), u), splat(1.0f));
  const v128_t scale = wasm_i32x4_add(wasm_i32x4_shl(t, 23), wasm_i32x4_splat(127 << 23));
  return wasm_f32x4_mul(y, scale);
}

inline v128_t sigmoid_f32x4(v128_t x) { return wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), exp_neg_f32x4(x))); }

// x -> x sigmoid(x) on four floats in place, and silu'(x) into g when given.
inline void silu_f32x4(float* v, float* g) {
  const v128_t one = splat(1.0f);
  const v128_t x = wasm_v128_load(v);
  const v128_t s = sigmoid_f32x4(x);
  if (g) wasm_v128_store(g, wasm_f32x4_mul(s, wasm_f32x4_add(one, wasm_f32x4_mul(x, wasm_f32x4_sub(one, s)))));
  wasm_v128_store(v, wasm_f32x4_mul(x, s));
}

}  // namespace
#endif

void silu_inplace(MatrixF& z, MatrixF* grad) {
  if (grad) grad->resize(z.rows(), z.cols());
#ifdef __wasm_simd128__
  float* v = z.data();
  float* g = grad ? grad->data() : nullptr;
  const Eigen::Index n = z.size();
  Eigen::Index i = 0;
  for (; i + 4 <= n; i += 4) silu_f32x4(v + i, g ? g + i : nullptr);
  if (i < n) {
    // The last n % 4 through the same vector code, zero-padded, so an element's result does not
    // depend on where it sits: a batch of graphs moves elements in and out of the tail.
    alignas(16) float vb[4] = {0, 0, 0, 0}, gb[4];
    std::copy(v + i, v + n, vb);
    silu_f32x4(vb, g ? gb : nullptr);
    std::copy(vb, vb + (n - i), v + i);
    if (g) std::copy(gb, gb + (n - i), g + i);
  }
#else
  const auto s = (1.0f + (-z.array()).exp()).inverse().eval();
  if (grad) *grad = (s * (1.0f + z.array() * (1.0f - s))).matrix();
  z.array() *= s;
#endif
}

void sigmoid_inplace(MatrixF& z, float bias) {
  float* v = z.data();
  const Eigen::Index n = z.size();
  Eigen::Index i = 0;
#ifdef __wasm_simd128__
  const v128_t b = splat(bias);
  for (; i + 4 <= n; i += 4) wasm_v128_store(v + i, sigmoid_f32x4(wasm_f32x4_add(wasm_v128_load(v + i), b)));
  if (i < n) {  // the tail zero-padded through the same code, as in silu_inplace
    alignas(16) float vb[4] = {0, 0, 0, 0};
    std::copy(v + i, v + n, vb);
    wasm_v128_store(vb, sigmoid_f32x4(wasm_f32x4_add(wasm_v128_load(vb), b)));
    std::copy(vb, vb + (n - i), v + i);
  }
  return;
#endif
  for (; i < n; ++i) v[i] = 1.0f / (1.0f + std::exp(-(v[i] + bias)));
}

}  // namespace enf::nn
