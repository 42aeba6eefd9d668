#include "egnn/f32_backend.hpp"

#include <cmath>

#include "nn/columns.hpp"
#include "nn/gemm.hpp"
#include "nn/silu.hpp"

namespace enf::egnn {

void make_edges(int n, std::vector<int>& edge_i, std::vector<int>& edge_j) { make_edges(n, n, edge_i, edge_j); }

void make_edges(int n, int block, std::vector<int>& edge_i, std::vector<int>& edge_j) {
  edge_i.clear();
  edge_j.clear();
  if (block < 1) return;
  edge_i.reserve(static_cast<size_t>(n) * (block - 1));
  edge_j.reserve(static_cast<size_t>(n) * (block - 1));
  for (int i = 0; i < n; ++i) {
    const int first = i - i % block;
    for (int j = first; j < first + block && j < n; ++j)
      if (i != j) {
        edge_i.push_back(i);
        edge_j.push_back(j);
      }
  }
}

int BufferPool::acquire(Eigen::Index rows, Eigen::Index cols) {
  // The most recently returned buffer of this size (no reallocation, likely in cache); else the
  // most recently returned of any size; else a new one.
  int pick = -1;
  for (size_t k = free_.size(); k-- > 0;)
    if (buffers_[free_[k]].size() == rows * cols) {
      pick = static_cast<int>(k);
      break;
    }
  if (pick < 0 && !free_.empty()) pick = static_cast<int>(free_.size()) - 1;
  int i;
  if (pick >= 0) {
    i = free_[pick];
    free_.erase(free_.begin() + pick);
  } else {
    i = static_cast<int>(buffers_.size());
    buffers_.emplace_back();
    refs_.push_back(0);
  }
  buffers_[i].resize(rows, cols);
  refs_[i] = 1;
  return i;
}

F32Backend::F32Backend(Mode mode, ForwardCache& cache, BufferPool* tangent_pool, int tangents)
    : mode_(mode),
      c_(cache),
      pool_(mode == Mode::Tangent ? *tangent_pool : cache.pool),
      T_(mode == Mode::Tangent ? tangents : 1),
      N_(cache.n_atoms),
      E_(static_cast<int>(cache.edge_i.size())),
      deg_((cache.block > 0 ? cache.block : cache.n_atoms) - 1) {}

OpRecord& F32Backend::record_at() {
  const size_t k = k_++;
  if (c_.ops.size() <= k) c_.ops.resize(k + 1);
  return c_.ops[k];
}

F32Backend::T F32Backend::fresh(Eigen::Index rows, Eigen::Index cols) { return T(&pool_, pool_.acquire(rows, cols)); }

F32Backend::T F32Backend::input(const MatrixF& value) {
  record_at();
  T out = fresh(value.rows(), value.cols());
  *out = value;
  return out;
}

F32Backend::T F32Backend::linear(const Eigen::Ref<const MatrixF>& W, const MatrixF& bias, const T& x) {
  record_at();
  T out = fresh(W.rows(), x->cols());
  nn::matmul(*out, W, *x, false, tangent() ? nullptr : bias.data());  // a bias has no tangent
  return out;
}

F32Backend::T F32Backend::matmul(const Eigen::Ref<const MatrixF>& W, const T& x) {
  record_at();
  T out = fresh(W.rows(), x->cols());
  nn::matmul(*out, W, *x);
  return out;
}

F32Backend::T F32Backend::linear2(const Eigen::Ref<const MatrixF>& W1, const T& x1, const Eigen::Ref<const MatrixF>& W2,
                                  const T& x2, const MatrixF& bias) {
  record_at();
  T out = fresh(W1.rows(), x1->cols());
  nn::matmul(*out, W1, *x1);
  nn::matmul(*out, W2, *x2, true, tangent() ? nullptr : bias.data());
  return out;
}

std::pair<F32Backend::T, F32Backend::T> F32Backend::edge_geometry(const T& xt) {
  const MatrixF& x = *xt;
  const int D = static_cast<int>(x.rows());
  const auto& ei = c_.edge_i;
  const auto& ej = c_.edge_j;
  OpRecord& R = record_at();  // a: x_i - x_j (D, E), b: sqrt(r + 1e-8) + 1 (1, E)
  T r = fresh(1, E_ * T_), dir = fresh(D, E_ * T_);
  if (tangent()) {
    MatrixF &dr = *r, &ddir = *dir;
    for (int t = 0; t < T_; ++t)
      for (int e = 0; e < E_; ++e) {
        const int te = t * E_ + e;
        ddir.col(te) = x.col(t * N_ + ei[e]) - x.col(t * N_ + ej[e]);  // d(x_i - x_j), scaled below
        dr(te) = 2.0f * R.a.col(e).dot(ddir.col(te));
        const float norm = R.b(e), sq = norm - 1.0f;  // sqrt(r + 1e-8)
        ddir.col(te) = ddir.col(te) / norm - R.a.col(e) * (dr(te) / (2.0f * sq * norm * norm));
      }
    return {r, dir};
  }
  MatrixF &diff = R.a, &rr = *r, &dd = *dir;
  diff.resize(D, E_);
  if (record()) R.b.resize(1, E_);
  for (int e = 0; e < E_; ++e) {
    diff.col(e) = x.col(ei[e]) - x.col(ej[e]);
    rr(e) = diff.col(e).squaredNorm();
    const float norm = std::sqrt(rr(e) + 1e-8f) + 1.0f;
    dd.col(e) = diff.col(e) / norm;
    if (record()) R.b(e) = norm;
  }
  return {r, dir};
}

F32Backend::T F32Backend::edge_input(const T& A, const T& B) {
  record_at();
  const MatrixF &a = *A, &b = *B;
  T out = fresh(a.rows(), E_ * T_);
  MatrixF& o = *out;
  for (int t = 0; t < T_; ++t)
    for (int e = 0; e < E_; ++e) o.col(t * E_ + e) = a.col(t * N_ + c_.edge_i[e]) + b.col(t * N_ + c_.edge_j[e]);
  return out;
}

F32Backend::T F32Backend::edge_input(const T& A, const T& B, const Eigen::Ref<const MatrixF>& w_r, const T& r) {
  return edge_input(A, B, w_r, r, w_r, T());
}

// One pass over the edges (the per-edge sum is the layer's widest elementwise work); columns as
// vectors, which Eigen vectorises better than (H, 1) matrices.
F32Backend::T F32Backend::edge_input(const T& A, const T& B, const Eigen::Ref<const MatrixF>& w_r, const T& r,
                                     const Eigen::Ref<const MatrixF>& w_a, const T& attr) {
  record_at();
  const MatrixF &a = *A, &b = *B, &rr = *r;
  const int H = static_cast<int>(a.rows());
  T out = fresh(H, E_ * T_);
  MatrixF& o = *out;
  const auto& ei = c_.edge_i;
  const auto& ej = c_.edge_j;
  const float* wa = attr ? w_a.data() : nullptr;
  for (int t = 0; t < T_; ++t)
    for (int e = 0; e < E_; ++e) {
      const int te = t * E_ + e;
      nn::edge_sum(o.col(te).data(), a.col(t * N_ + ei[e]).data(), b.col(t * N_ + ej[e]).data(), w_r.data(), rr(te), wa,
                   attr ? (*attr)(te) : 0.f, H);
    }
  return out;
}

F32Backend::T F32Backend::silu(T z) {
  OpRecord& R = record_at();  // a: silu'(z)
  if (tangent()) {
    // By pointer, not z->col(t * cols): with one atom there are no edge columns to name.
    const size_t n = static_cast<size_t>(R.a.size());
    for (int t = 0; t < T_; ++t) nn::mul_inplace(z->data() + t * n, R.a.data(), n);
  } else {
    nn::silu_inplace(*z, record() ? &R.a : nullptr);
  }
  return z;
}

F32Backend::T F32Backend::gate(const MatrixF& w, const MatrixF& bias, T mt) {
  MatrixF& m = *mt;
  OpRecord& R = record_at();  // a: m before the gate, b: the gate (1, E)
  if (tangent()) {
    T dgt = fresh(1, m.cols());
    MatrixF& dg = *dgt;
    nn::row_times(dg, w, m);
    for (int t = 0; t < T_; ++t)
      for (int e = 0; e < E_; ++e) {
        const int te = t * E_ + e;
        const float s = R.b(e);
        nn::scale_add(m.col(te).data(), s, R.a.col(e).data(), s * (1.0f - s) * dg(te), static_cast<int>(m.rows()));
      }
    return mt;
  }
  MatrixF& g = R.b;
  nn::row_times(g, w, m);
  nn::sigmoid_inplace(g, bias(0, 0));
  if (record()) R.a = m;
  nn::scale_columns(m.data(), g.data(), static_cast<int>(m.rows()), static_cast<int>(m.cols()));
  return mt;
}

F32Backend::T F32Backend::linear_row(const MatrixF& w, const T& x) {
  record_at();
  T out = fresh(w.rows(), x->cols());
  nn::row_times(*out, w, *x);
  return out;
}

F32Backend::T F32Backend::tanh_scale(T ct, double scale_d) {
  MatrixF& c = *ct;
  const float scale = static_cast<float>(scale_d);
  OpRecord& R = record_at();  // a: the scaled head (1, E)
  if (tangent()) {
    for (int t = 0; t < T_; ++t)
      for (int e = 0; e < E_; ++e) {
        const float th = R.a(e) / scale;
        c(t * E_ + e) *= scale * (1.0f - th * th);
      }
    return ct;
  }
  for (Eigen::Index e = 0; e < c.size(); ++e) c(e) = scale * std::tanh(c(e));
  if (record()) R.a = c;
  return ct;
}

// The edges are grouped by their first atom (make_edges): atom i's are the deg = (atoms per graph
// - 1) columns from i deg, so the sums over j below are contiguous block reductions rather than
// scatters.
F32Backend::T F32Backend::coord_update(T xt, const T& dirt, const T& st) {
  MatrixF& x = *xt;
  const MatrixF &dir = *dirt, &s = *st;
  const int deg = deg_;
  OpRecord& R = record_at();  // a: dir (D, E), b: the head (1, E)
  // One atom has no edges: nothing moves it. (Blocks of zero columns of an empty matrix would do
  // pointer arithmetic on its null data, undefined behaviour that UBSan reports.)
  if (deg == 0) {
    if (!tangent() && record()) {
      R.a = dir;
      R.b = s;
    }
    return xt;
  }
  if (tangent()) {
    for (int t = 0; t < T_; ++t)
      for (int i = 0; i < N_; ++i) {
        const int e0 = t * E_ + i * deg;
        x.col(t * N_ + i) += dir.middleCols(e0, deg) * R.b.middleCols(i * deg, deg).transpose() +
                             R.a.middleCols(i * deg, deg) * s.middleCols(e0, deg).transpose();
      }
    return xt;
  }
  for (int i = 0; i < N_; ++i) x.col(i) += dir.middleCols(i * deg, deg) * s.middleCols(i * deg, deg).transpose();
  if (record()) {
    R.a = dir;
    R.b = s;
  }
  return xt;
}

F32Backend::T F32Backend::aggregate(const T& mt) {
  record_at();
  const MatrixF& m = *mt;
  const int deg = deg_;
  T out = fresh(m.rows(), N_ * T_);
  MatrixF& o = *out;
  if (deg == 0) {  // one atom: an empty sum (see coord_update)
    o.setZero();
    return out;
  }
  for (int t = 0; t < T_; ++t)
    for (int i = 0; i < N_; ++i)
      nn::sum_columns(o.col(t * N_ + i).data(), m.col(t * E_ + i * deg).data(), static_cast<int>(m.rows()), deg);
  return out;
}

F32Backend::T F32Backend::residual(T h, const MatrixF& W, const MatrixF& bias, const T& x) {
  record_at();
  nn::matmul(*h, W, *x, true, tangent() ? nullptr : bias.data());
  return h;
}

}  // namespace enf::egnn
