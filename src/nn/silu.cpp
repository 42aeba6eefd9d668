#include "nn/silu.hpp"

#include <cmath>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

namespace enf::nn {

#ifdef __wasm_simd128__
namespace {

inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

// exp(x) per lane. x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two for an exact product),
// e^r by Cephes' degree-6 polynomial, 2^n built in the exponent bits. n is rounded by adding
// 1.5 * 2^23, which leaves n in the low mantissa bits (cheaper in V8 than floor and a saturating
// float->int). pmin/pmax (one x86 instruction each, unlike the IEEE min/max) clamp x to +-88.376:
// exp then gives +inf above and 0 below, which the sigmoid maps to 0 and 1 exactly as the true
// values round. A NaN passes pmin/pmax and the polynomial, and stays NaN.
inline v128_t exp_f32x4(v128_t x) {
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, splat(88.3762626647949f)), splat(-88.3762626647949f));
  const v128_t magic = splat(12582912.0f);
  const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, splat(1.44269504088896341f)), magic);
  const v128_t n = wasm_f32x4_sub(t, magic);
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(0.693359375f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  v128_t y = splat(1.9875691500e-4f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), splat(1.3981999507e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), splat(8.3334519073e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), splat(4.1665795894e-2f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), splat(1.6666665459e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), splat(5.0000001201e-1f));
  y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(y, wasm_f32x4_mul(x, x)), x), splat(1.0f));
  const v128_t bits = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(t, magic), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(y, bits);
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
  const v128_t one = splat(1.0f);
  for (; i + 4 <= n; i += 4) {
    const v128_t x = wasm_v128_load(v + i);
    const v128_t s = wasm_f32x4_div(one, wasm_f32x4_add(one, exp_f32x4(wasm_f32x4_neg(x))));
    if (g) wasm_v128_store(g + i, wasm_f32x4_mul(s, wasm_f32x4_add(one, wasm_f32x4_mul(x, wasm_f32x4_sub(one, s)))));
    wasm_v128_store(v + i, wasm_f32x4_mul(x, s));
  }
  for (; i < n; ++i) {
    const float s = 1.0f / (1.0f + std::exp(-v[i]));
    if (g) g[i] = s * (1.0f + v[i] * (1.0f - s));
    v[i] *= s;
  }
#else
  const auto s = (1.0f + (-z.array()).exp()).inverse().eval();
  if (grad) *grad = (s * (1.0f + z.array() * (1.0f - s))).matrix();
  z.array() *= s;
#endif
}

}  // namespace enf::nn
