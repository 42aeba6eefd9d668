#include "train/autodiff.hpp"

#include <cmath>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

namespace enf::train::ad {

namespace {
Eigen::ArrayXXd sig(const Mat& a) { return (1.0 + (-a.array()).exp()).inverse(); }

#ifdef __wasm_simd128__
// C (M x N) = A (M x K, column-major, contiguous) times op(B), op(B)(k, j) = B[k * bk + j * bj],
// in f64x2 lanes: tiles of 8 rows x 2 columns (8 accumulators and 4 A vectors stay in x64's 16
// vector registers). Eigen 3.4 has no wasm packet math, and its scalar double GEMM took 38% of a
// training step in Node.
void gemm(double* C, const double* A, const double* B, int M, int N, int K, ptrdiff_t bk, ptrdiff_t bj) {
  const int M8 = M - M % 8;
  int j = 0;
  for (; j < N; j += 2) {
    const bool two = j + 1 < N;
    const double* b0 = B + j * bj;
    const double* b1 = two ? b0 + bj : b0;
    double* c0 = C + static_cast<size_t>(j) * M;
    double* c1 = two ? c0 + M : nullptr;
    for (int i = 0; i < M8; i += 8) {
      v128_t acc0[4] = {wasm_f64x2_splat(0), wasm_f64x2_splat(0), wasm_f64x2_splat(0), wasm_f64x2_splat(0)};
      v128_t acc1[4] = {wasm_f64x2_splat(0), wasm_f64x2_splat(0), wasm_f64x2_splat(0), wasm_f64x2_splat(0)};
      for (int k = 0; k < K; ++k) {
        const double* a = A + static_cast<size_t>(k) * M + i;
        const v128_t a0 = wasm_v128_load(a), a1 = wasm_v128_load(a + 2), a2 = wasm_v128_load(a + 4),
                     a3 = wasm_v128_load(a + 6);
        const v128_t x0 = wasm_f64x2_splat(b0[k * bk]), x1 = wasm_f64x2_splat(b1[k * bk]);
        acc0[0] = wasm_f64x2_add(acc0[0], wasm_f64x2_mul(a0, x0));
        acc0[1] = wasm_f64x2_add(acc0[1], wasm_f64x2_mul(a1, x0));
        acc0[2] = wasm_f64x2_add(acc0[2], wasm_f64x2_mul(a2, x0));
        acc0[3] = wasm_f64x2_add(acc0[3], wasm_f64x2_mul(a3, x0));
        acc1[0] = wasm_f64x2_add(acc1[0], wasm_f64x2_mul(a0, x1));
        acc1[1] = wasm_f64x2_add(acc1[1], wasm_f64x2_mul(a1, x1));
        acc1[2] = wasm_f64x2_add(acc1[2], wasm_f64x2_mul(a2, x1));
        acc1[3] = wasm_f64x2_add(acc1[3], wasm_f64x2_mul(a3, x1));
      }
      for (int r = 0; r < 4; ++r) {
        wasm_v128_store(c0 + i + 2 * r, acc0[r]);
        if (two) wasm_v128_store(c1 + i + 2 * r, acc1[r]);
      }
    }
    for (int i = M8; i < M; ++i) {
      double s0 = 0, s1 = 0;
      for (int k = 0; k < K; ++k) {
        const double a = A[static_cast<size_t>(k) * M + i];
        s0 += a * b0[k * bk];
        s1 += a * b1[k * bk];
      }
      c0[i] = s0;
      if (two) c1[i] = s1;
    }
  }
}
#endif

// a b, a b^T and a^T b: the tape's products (forward, and the two gradients of a product).
Mat product(const Mat& a, const Mat& b) {
#ifdef __wasm_simd128__
  Mat c(a.rows(), b.cols());
  gemm(c.data(), a.data(), b.data(), static_cast<int>(a.rows()), static_cast<int>(b.cols()), static_cast<int>(a.cols()), 1, b.rows());
  return c;
#else
  return a * b;
#endif
}

Mat product_bt(const Mat& a, const Mat& b) {
#ifdef __wasm_simd128__
  Mat c(a.rows(), b.rows());
  gemm(c.data(), a.data(), b.data(), static_cast<int>(a.rows()), static_cast<int>(b.rows()), static_cast<int>(a.cols()), b.rows(), 1);
  return c;
#else
  return a * b.transpose();
#endif
}

Mat product_at(const Mat& a, const Mat& b) {
#ifdef __wasm_simd128__
  const Mat at = a.transpose();  // a is always a weight matrix: small next to b
  return product(at, b);
#else
  return a.transpose() * b;
#endif
}
}  // namespace

Var Tape::push(Mat value, bool needs_grad, std::function<void(Tape&, const Mat&)> backward) {
  Node n;
  n.value = std::move(value);
  n.needs_grad = needs_grad;
  if (needs_grad) n.backward = std::move(backward);
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

Var Tape::leaf(Mat value, bool needs_grad) { return push(std::move(value), needs_grad, {}); }

void Tape::accumulate(Var v, const Mat& g) {
  Node& n = nodes_[v.id];
  if (!n.needs_grad) return;
  if (n.grad.size() == 0)
    n.grad = g;
  else
    n.grad += g;
}

void Tape::accumulate(Var v, Mat&& g) {
  Node& n = nodes_[v.id];
  if (!n.needs_grad) return;
  if (n.grad.size() == 0)
    n.grad = std::move(g);
  else
    n.grad += g;
}

void Tape::seed(Var v, const Mat& s) { accumulate(v, s); }

void Tape::backward() {
  for (int i = static_cast<int>(nodes_.size()) - 1; i >= 0; --i) {
    Node& n = nodes_[i];
    if (!n.needs_grad || n.grad.size() == 0 || !n.backward) continue;
    // Intermediate values are no longer needed once their gradient has been pushed on: freeing
    // the gradient would be wrong (callers read input gradients), but the backward closure may go.
    n.backward(*this, n.grad);
    n.backward = nullptr;
    n.aux.resize(0, 0);
  }
}

Var Tape::matmul(Var a, Var b) {
  return push(product(value(a), value(b)), any(a, b), [a, b](Tape& t, const Mat& g) {
    if (t.any(a)) t.accumulate(a, product_bt(g, t.value(b)));
    if (t.any(b)) t.accumulate(b, product_at(t.value(a), g));
  });
}

Var Tape::add(Var a, Var b) {
  return push(value(a) + value(b), any(a, b), [a, b](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    t.accumulate(b, g);
  });
}

Var Tape::sub(Var a, Var b) {
  return push(value(a) - value(b), any(a, b), [a, b](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    if (t.any(b)) t.accumulate(b, -g);
  });
}

Var Tape::mul(Var a, Var b) {
  return push(value(a).cwiseProduct(value(b)), any(a, b), [a, b](Tape& t, const Mat& g) {
    if (t.any(a)) t.accumulate(a, g.cwiseProduct(t.value(b)));
    if (t.any(b)) t.accumulate(b, g.cwiseProduct(t.value(a)));
  });
}

Var Tape::scale(Var a, double c) {
  return push(c * value(a), any(a), [a, c](Tape& t, const Mat& g) { t.accumulate(a, c * g); });
}

Var Tape::add_scalar(Var a, double c) {
  return push(value(a).array() + c, any(a), [a](Tape& t, const Mat& g) { t.accumulate(a, g); });
}

Var Tape::add_col(Var a, Var col) {
  Mat v = value(a).colwise() + value(col).col(0);
  return push(std::move(v), any(a, col), [a, col](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    if (t.any(col)) t.accumulate(col, g.rowwise().sum());
  });
}

Var Tape::add_row(Var a, Var row) {
  Mat v = value(a).rowwise() + value(row).row(0);
  return push(std::move(v), any(a, row), [a, row](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    if (t.any(row)) t.accumulate(row, g.colwise().sum());
  });
}

Var Tape::mul_row(Var a, Var row) {
  Mat v = value(a).array().rowwise() * value(row).row(0).array();
  return push(std::move(v), any(a, row), [a, row](Tape& t, const Mat& g) {
    if (t.any(a)) t.accumulate(a, (g.array().rowwise() * t.value(row).row(0).array()).matrix());
    if (t.any(row)) t.accumulate(row, g.cwiseProduct(t.value(a)).colwise().sum());
  });
}

// silu and silu_grad keep sigmoid(a) for their backward rule (one exp per element, not two).
Var Tape::silu(Var a) {
  Mat s = sig(value(a)).matrix();
  Var out = push((value(a).array() * s.array()).matrix(), any(a), {});
  if (any(a)) {
    nodes_[out.id].aux = std::move(s);
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      const auto s = t.nodes_[out.id].aux.array();
      t.accumulate(a, (g.array() * s * (1.0 + t.value(a).array() * (1.0 - s))).matrix());
    };
  }
  return out;
}

Var Tape::silu_grad(Var a) {
  Mat s = sig(value(a)).matrix();
  Var out = push((s.array() * (1.0 + value(a).array() * (1.0 - s.array()))).matrix(), any(a), {});
  if (any(a)) {
    nodes_[out.id].aux = std::move(s);
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      // silu''(z) = s (1 - s) (2 + z (1 - 2 s))
      const auto s = t.nodes_[out.id].aux.array();
      t.accumulate(a, (g.array() * s * (1.0 - s) * (2.0 + t.value(a).array() * (1.0 - 2.0 * s))).matrix());
    };
  }
  return out;
}

Var Tape::sigmoid(Var a) {
  Var out = push(sig(value(a)).matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      const Mat& s = t.value(out);
      t.accumulate(a, (g.array() * s.array() * (1.0 - s.array())).matrix());
    };
  return out;
}

Var Tape::tanh(Var a) {
  Var out = push(value(a).array().tanh().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      const Mat& y = t.value(out);
      t.accumulate(a, (g.array() * (1.0 - y.array().square())).matrix());
    };
  return out;
}

Var Tape::exp(Var a) {
  Var out = push(value(a).array().exp().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      t.accumulate(a, (g.array() * t.value(out).array()).matrix());
    };
  return out;
}

Var Tape::sqrt(Var a) {
  Var out = push(value(a).array().sqrt().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      t.accumulate(a, (0.5 * g.array() / t.value(out).array()).matrix());
    };
  return out;
}

Var Tape::reciprocal(Var a) {
  Var out = push(value(a).array().inverse().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      t.accumulate(a, (-g.array() * t.value(out).array().square()).matrix());
    };
  return out;
}

Var Tape::sum_rows(Var a) {
  return push(value(a).colwise().sum(), any(a), [a](Tape& t, const Mat& g) {
    t.accumulate(a, g.replicate(t.value(a).rows(), 1));
  });
}

Var Tape::sum_all(Var a) {
  Mat v(1, 1);
  v(0, 0) = value(a).sum();
  return push(std::move(v), any(a), [a](Tape& t, const Mat& g) {
    t.accumulate(a, Mat::Constant(t.value(a).rows(), t.value(a).cols(), g(0, 0)));
  });
}

Var Tape::transpose(Var a) {
  return push(value(a).transpose(), any(a), [a](Tape& t, const Mat& g) { t.accumulate(a, Mat(g.transpose())); });
}

Var Tape::cols(Var a, int start, int n) {
  return push(value(a).middleCols(start, n), any(a), [a, start, n](Tape& t, const Mat& g) {
    Mat ga = Mat::Zero(t.value(a).rows(), t.value(a).cols());
    ga.middleCols(start, n) = g;
    t.accumulate(a, std::move(ga));
  });
}

Var Tape::gather_cols(Var a, const std::vector<int>& idx) {
  const Mat& A = value(a);
  Mat v(A.rows(), static_cast<Eigen::Index>(idx.size()));
  for (size_t k = 0; k < idx.size(); ++k) v.col(k) = A.col(idx[k]);
  return push(std::move(v), any(a), [a, &idx](Tape& t, const Mat& g) {
    Mat ga = Mat::Zero(t.value(a).rows(), t.value(a).cols());
    for (size_t k = 0; k < idx.size(); ++k) ga.col(idx[k]) += g.col(k);
    t.accumulate(a, ga);
  });
}

Var Tape::scatter_cols(Var a, const std::vector<int>& idx, int n_cols) {
  const Mat& A = value(a);
  Mat v = Mat::Zero(A.rows(), n_cols);
  for (size_t k = 0; k < idx.size(); ++k) v.col(idx[k]) += A.col(k);
  return push(std::move(v), any(a), [a, &idx](Tape& t, const Mat& g) {
    Mat ga(g.rows(), static_cast<Eigen::Index>(idx.size()));
    for (size_t k = 0; k < idx.size(); ++k) ga.col(k) = g.col(idx[k]);
    t.accumulate(a, ga);
  });
}

}  // namespace enf::train::ad
