#include "nn/silu.hpp"

#include <algorithm>
#include <cmath>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include "nn/vec.hpp"
#endif

namespace enf::nn {

namespace {

// exp(-x) for the sigmoid, in both builds: q = x clamped to +-kClamp, so 2^n below is a normal
// float; -q = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two so n ln2 is exact); e^r = 1 + r +
// r^2 P(r), P a degree-4 fit of least relative error (within 6.6e-8 of e^r evaluated in float, as
// close as Cephes' degree-7 polynomial), written in u = -r so no lane is negated. n is rounded by
// adding 1.5 * 2^23, which leaves it in t's low mantissa bits: (n + 127) << 23 is then t's bits
// << 23 plus 127 << 23.
constexpr float kClamp = 88.3762626647949f, kMagic = 12582912.0f, kLog2e = 1.44269504088896341f,
                kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP[5] = {1.3814597594e-3f, 8.3687077995e-3f, 4.1668387438e-2f, 1.6666520708e-1f, 4.9999993452e-1f};

}  // namespace

#ifdef __wasm_simd128__
namespace {

inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

// exp(-x) per lane (see kP). pmin/pmax clamp: one x86 instruction each, unlike the IEEE min/max;
// a NaN passes them and the polynomial, and stays NaN.
inline v128_t exp_neg_f32x4(v128_t x) {
  const v128_t q = wasm_f32x4_pmax(wasm_f32x4_pmin(x, splat(kClamp)), splat(-kClamp));
  const v128_t magic = splat(kMagic);
  const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(q, splat(-kLog2e)), magic);
  const v128_t n = wasm_f32x4_sub(t, magic);
  v128_t u = wasm_f32x4_add(q, wasm_f32x4_mul(n, splat(kLn2Hi)));
  u = wasm_f32x4_add(u, wasm_f32x4_mul(n, splat(kLn2Lo)));
  // P(-u), Horner in u with the odd coefficients' signs flipped.
  v128_t y = splat(kP[0]);
  for (int k = 1; k < 5; ++k) y = wasm_f32x4_sub(splat(kP[k]), wasm_f32x4_mul(y, u));
  y = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(y, wasm_f32x4_mul(u, u)), u), splat(1.0f));
  const v128_t scale = wasm_i32x4_add(wasm_i32x4_shl(t, 23), wasm_i32x4_splat(127 << 23));
  return wasm_f32x4_mul(y, scale);
}

inline v128_t sigmoid_f32x4(v128_t x) { return wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), exp_neg_f32x4(x))); }

constexpr int L = 4;

// x -> x sigmoid(x) on four floats in place, and silu'(x) into g when given.
inline void silu_vec(float* v, float* g) {
  const v128_t one = splat(1.0f);
  const v128_t x = wasm_v128_load(v);
  const v128_t s = sigmoid_f32x4(x);
  if (g) wasm_v128_store(g, wasm_f32x4_mul(s, wasm_f32x4_add(one, wasm_f32x4_mul(x, wasm_f32x4_sub(one, s)))));
  wasm_v128_store(v, wasm_f32x4_mul(x, s));
}

}  // namespace
#else
namespace {

// Natively the same algorithm in vector extensions (nn/vec.hpp), in one pass: Eigen's exp, 1/x
// and products were three passes and a temporary per call (18 % of an evaluation at 19 atoms).
using vec::L;
using VecF = vec::F;
using VecI = vec::I;

inline VecF exp_neg(VecF x) {
  const VecF hi = VecF{} + kClamp, lo = VecF{} - kClamp;
  VecF q = hi < x ? hi : x;  // comparisons false for a NaN: it passes, and stays NaN
  q = q < lo ? lo : q;
  const VecF t = q * -kLog2e + kMagic;
  const VecF n = t - kMagic;
  const VecF u = (q + n * kLn2Hi) + n * kLn2Lo;
  VecF y = VecF{} + kP[0];
  for (int k = 1; k < 5; ++k) y = kP[k] - y * u;
  y = (y * (u * u) - u) + 1.0f;
  VecI bits;
  __builtin_memcpy(&bits, &t, sizeof t);
  bits = (bits << 23) + (127 << 23);
  VecF scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline VecF sigmoid(VecF x) { return 1.0f / (1.0f + exp_neg(x)); }

// L floats in place (unaligned), and silu' into g when given.
inline void silu_vec(float* v, float* g) {
  const VecF x = vec::load(v);
  const VecF s = sigmoid(x);
  if (g) vec::store(g, s * (1.0f + x * (1.0f - s)));
  vec::store(v, x * s);
}

}  // namespace
#endif

void silu_inplace(MatrixF& z, MatrixF* grad) {
  if (grad) grad->resize(z.rows(), z.cols());
  float* v = z.data();
  float* g = grad ? grad->data() : nullptr;
  const Eigen::Index n = z.size();
  Eigen::Index i = 0;
  for (; i + L <= n; i += L) silu_vec(v + i, g ? g + i : nullptr);
  if (i < n) {
    // The last n % L through the same vector code, zero-padded, so an element's result does not
    // depend on where it sits: a batch of graphs moves elements in and out of the tail.
    alignas(64) float vb[L] = {}, gb[L];
    std::copy(v + i, v + n, vb);
    silu_vec(vb, g ? gb : nullptr);
    std::copy(vb, vb + (n - i), v + i);
    if (g) std::copy(gb, gb + (n - i), g + i);
  }
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
