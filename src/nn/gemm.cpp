#include "nn/gemm.hpp"

#include <algorithm>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include "nn/vec.hpp"
#endif

namespace enf::nn {

namespace {

#ifdef __wasm_simd128__
// C[:, j..j+NC) (+)= W * X[:, j..j+NC) for a column-major W (M x K, M % 16 == 0, columns ldw apart).
template <int NC>
void tile_columns(float* C, const float* W, int ldw, const float* X, int M, int K, int j, bool accumulate,
                  const float* bias) {
  for (int i = 0; i < M; i += 16) {
    v128_t acc[NC][4];
    for (int c = 0; c < NC; ++c)
      for (int r = 0; r < 4; ++r)
        acc[c][r] = accumulate ? wasm_v128_load(C + static_cast<size_t>(j + c) * M + i + 4 * r) : wasm_f32x4_splat(0.f);
    // Pointer steps rather than k * ldw: V8 keeps the multiply otherwise (10 % at 64 x 64 x 342).
    const float* w = W + i;
    const float* x = X + static_cast<size_t>(j) * K;
    for (const float* const x_end = x + K; x != x_end; ++x, w += ldw) {
      const v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 4), w2 = wasm_v128_load(w + 8),
                   w3 = wasm_v128_load(w + 12);
      for (int c = 0; c < NC; ++c) {
        const v128_t xc = wasm_v128_load32_splat(x + static_cast<size_t>(c) * K);
        acc[c][0] = wasm_f32x4_add(acc[c][0], wasm_f32x4_mul(w0, xc));
        acc[c][1] = wasm_f32x4_add(acc[c][1], wasm_f32x4_mul(w1, xc));
        acc[c][2] = wasm_f32x4_add(acc[c][2], wasm_f32x4_mul(w2, xc));
        acc[c][3] = wasm_f32x4_add(acc[c][3], wasm_f32x4_mul(w3, xc));
      }
    }
    if (bias)
      for (int r = 0; r < 4; ++r) {
        const v128_t b = wasm_v128_load(bias + i + 4 * r);
        for (int c = 0; c < NC; ++c) acc[c][r] = wasm_f32x4_add(acc[c][r], b);
      }
    for (int c = 0; c < NC; ++c)
      for (int r = 0; r < 4; ++r) wasm_v128_store(C + static_cast<size_t>(j + c) * M + i + 4 * r, acc[c][r]);
  }
}

// The four lanes' sums of a, b, c and d, as one vector.
inline v128_t sum_lanes4(v128_t a, v128_t b, v128_t c, v128_t d) {
  const v128_t ab = wasm_f32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
  const v128_t cd = wasm_f32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}
#else
// Natively: the same outer-product scheme in vector extensions (nn/vec.hpp), up to 4L rows per
// tile. Eigen's GEMM repacks W for every product, and these are small (64 x 64 x 342 at
// 19 atoms): measured in place, 145 GFLOP/s for Eigen against 179 here on an AVX-512 Zen 5.
// Every column goes through the same code whatever its position (a batch of graphs shifts them).
using vec::L;
using VecF = vec::F;
using vec::load;
using vec::store;
// Columns per tile: 4 x 4 accumulators + 4 weight vectors of AVX-512's 32 registers; 2 x 4 + 4 of 16.
constexpr int NC = L == 16 ? 4 : 2;

// C columns from j, R vectors (R L rows) at a time.
template <int C, int R>
void tile_columns(float* dst, const float* W, Eigen::Index ldw, const float* X, int M, int K, int j, bool accumulate,
                  const float* bias) {
  for (int i = 0; i < M; i += R * L) {
    VecF acc[C][R];
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) acc[c][r] = accumulate ? load(dst + static_cast<size_t>(j + c) * M + i + L * r) : VecF{};
    const float* w = W + i;
    const float* x = X + static_cast<size_t>(j) * K;
    for (int k = 0; k < K; ++k, w += ldw) {
      VecF wr[R];
      for (int r = 0; r < R; ++r) wr[r] = load(w + L * r);
      for (int c = 0; c < C; ++c) {
        const float xc = x[static_cast<size_t>(c) * K + k];
        for (int r = 0; r < R; ++r) acc[c][r] += wr[r] * xc;
      }
    }
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) {
        if (bias) acc[c][r] += load(bias + i + L * r);
        store(dst + static_cast<size_t>(j + c) * M + i + L * r, acc[c][r]);
      }
  }
}

template <int R>
void tiles(MatrixF& dst, const Eigen::Ref<const MatrixF>& W, const MatrixF& X, bool accumulate, const float* bias) {
  const int M = static_cast<int>(W.rows()), K = static_cast<int>(W.cols()), N = static_cast<int>(X.cols());
  int j = 0;
  for (; j + NC <= N; j += NC) tile_columns<NC, R>(dst.data(), W.data(), W.outerStride(), X.data(), M, K, j, accumulate, bias);
  for (; j < N; ++j) tile_columns<1, R>(dst.data(), W.data(), W.outerStride(), X.data(), M, K, j, accumulate, bias);
}
#endif

}  // namespace

void matmul(MatrixF& dst, const Eigen::Ref<const MatrixF>& W, const MatrixF& X, bool accumulate, const float* bias) {
  if (!accumulate) dst.resize(W.rows(), X.cols());
#ifdef __wasm_simd128__
  if (W.rows() % 16 == 0) {
    const int M = static_cast<int>(W.rows()), K = static_cast<int>(W.cols()), N = static_cast<int>(X.cols());
    const int ldw = static_cast<int>(W.outerStride());
    int j = 0;
    // 16 x 2 tiles: 8 accumulators + 4 weight vectors fit x64's 16 vector registers, which V8
    // maps them to; 16 x 4 spilled (21.7 against 24.2 GFLOP/s at 64 x 64 x 342 in Node 20).
    for (; j + 2 <= N; j += 2) tile_columns<2>(dst.data(), W.data(), ldw, X.data(), M, K, j, accumulate, bias);
    for (; j < N; ++j) tile_columns<1>(dst.data(), W.data(), ldw, X.data(), M, K, j, accumulate, bias);
    return;
  }
#else
  // Rows in blocks of 4, 2 or 1 vectors: the QM9 network's 64, the particle networks' 32 or 16.
  if (W.rows() > 0) {
    if (W.rows() % (4 * L) == 0) return tiles<4>(dst, W, X, accumulate, bias);
    if (W.rows() % (2 * L) == 0) return tiles<2>(dst, W, X, accumulate, bias);
    if (W.rows() % L == 0) return tiles<1>(dst, W, X, accumulate, bias);
  }
#endif
  // Other shapes (the 7-row output layer): Eigen. Panels of 256 columns keep Eigen's packing
  // buffer under its stack-allocation limit, so wide tangent batches cause no heap traffic
  // (whole-matrix products mapped and unmapped megabytes).
  constexpr Eigen::Index kPanel = 256;
  for (Eigen::Index c = 0; c < X.cols(); c += kPanel) {
    const Eigen::Index n = std::min(kPanel, X.cols() - c);
    if (accumulate)
      dst.middleCols(c, n).noalias() += W * X.middleCols(c, n);
    else
      dst.middleCols(c, n).noalias() = W * X.middleCols(c, n);
  }
  if (bias) dst.colwise() += Eigen::Map<const VectorF>(bias, W.rows());
}

void row_times(MatrixF& dst, const MatrixF& w, const MatrixF& X) {
  dst.resize(1, X.cols());
#ifdef __wasm_simd128__
  if (w.rows() == 1 && X.rows() % 4 == 0 && X.rows() > 0) {
    // Four columns at a time: each column's products in four lanes, the lanes summed at the end.
    const int K = static_cast<int>(X.rows()), N = static_cast<int>(X.cols());
    const float* x = X.data();
    const float* wv = w.data();
    float* out = dst.data();
    int j = 0;
    for (; j + 4 <= N; j += 4) {
      const float* x0 = x + static_cast<size_t>(j) * K;
      v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
      for (int k = 0; k < K; k += 4) {
        const v128_t v = wasm_v128_load(wv + k);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(v, wasm_v128_load(x0 + k)));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(v, wasm_v128_load(x0 + K + k)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(v, wasm_v128_load(x0 + 2 * K + k)));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(v, wasm_v128_load(x0 + 3 * K + k)));
      }
      wasm_v128_store(out + j, sum_lanes4(a0, a1, a2, a3));
    }
    for (; j < N; ++j) {
      const float* xj = x + static_cast<size_t>(j) * K;
      v128_t a = wasm_f32x4_splat(0.f);
      for (int k = 0; k < K; k += 4) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(wv + k), wasm_v128_load(xj + k)));
      // Lanes summed in sum_lanes4's order, so a column's result does not depend on its position
      // (a batch of graphs shifts the columns; each graph must get what it gets alone).
      out[j] = (wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 2)) +
               (wasm_f32x4_extract_lane(a, 1) + wasm_f32x4_extract_lane(a, 3));
    }
    return;
  }
#endif
  dst.noalias() = w * X;
}

}  // namespace enf::nn
