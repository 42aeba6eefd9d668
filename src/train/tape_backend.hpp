// The training backend of egnn_network (egnn/network.hpp): every tensor is a value with its
// tangent along a direction (Dual), both recorded on the reverse-mode tape in double precision.
// One pass gives the velocity and J eps (for Hutchinson's eps^T J eps), and backpropagation through
// both gives the loss's gradient (reverse over forward). A batch is B graphs of N particles,
// fully connected within each graph, as one block-diagonal graph of B*N nodes.
#pragma once
#include <map>
#include <utility>
#include <vector>

#include "egnn/params.hpp"
#include "train/autodiff.hpp"

namespace enf::train {

// A value with its tangent (invalid: the tangent is zero).
struct Dual {
  ad::Var v, t;
};

// Index lists of a batch of B graphs of N particles, fully connected without self edges.
struct Graph {
  int B = 0, N = 0;
  std::vector<int> ei, ej, sample_of_node;
};

Graph make_graph(int B, int N);

class TapeBackend {
 public:
  using T = Dual;
  using Param = ad::Var;
  using Var = ad::Var;

  TapeBackend(ad::Tape& tape, const Graph& g) : T_(tape), g_(g) {}

  // Parameter blocks are taken once per tape: the four RK stages of a step share them.
  Var cols(Var W, int start, int n) {
    auto [it, fresh] = blocks_.try_emplace({W.id, start}, Var{});
    if (fresh) it->second = T_.cols(W, start, n);
    return it->second;
  }

  Var add(Var a, Var b) {  // an invalid variable is zero
    if (!a.valid()) return b;
    if (!b.valid()) return a;
    return T_.add(a, b);
  }
  Var matmul_t(Var W, Var x) { return x.valid() ? T_.matmul(W, x) : Var{}; }

  Dual linear(Var W, Var b, Dual x) { return {T_.add_col(T_.matmul(W, x.v), b), matmul_t(W, x.t)}; }
  Dual matmul(Var W, Dual x) { return {T_.matmul(W, x.v), matmul_t(W, x.t)}; }
  Dual linear2(Var W1, Dual x1, Var W2, Dual x2, Var b) {
    return {T_.add_col(T_.add(T_.matmul(W1, x1.v), T_.matmul(W2, x2.v)), b), add(matmul_t(W1, x1.t), matmul_t(W2, x2.t))};
  }

  std::pair<Dual, Dual> edge_geometry(Dual x) {
    const Dual diff{T_.sub(T_.gather_cols(x.v, g_.ei), T_.gather_cols(x.v, g_.ej)),
                    x.t.valid() ? T_.sub(T_.gather_cols(x.t, g_.ei), T_.gather_cols(x.t, g_.ej)) : Var{}};
    const Var r = T_.sum_rows(T_.mul(diff.v, diff.v));
    const Var tr = diff.t.valid() ? T_.scale(T_.sum_rows(T_.mul(diff.v, diff.t)), 2.0) : Var{};
    const Var sq = T_.sqrt(T_.add_scalar(r, 1e-8));
    const Var inv = T_.reciprocal(T_.add_scalar(sq, 1.0));
    Dual dir{T_.mul_row(diff.v, inv), Var{}};
    if (tr.valid()) {  // d(1/(sq + 1)) = -inv^2 dr / (2 sq)
      const Var tinv = T_.scale(T_.mul(T_.mul(inv, inv), T_.mul(T_.scale(T_.reciprocal(sq), 0.5), tr)), -1.0);
      dir.t = T_.add(T_.mul_row(diff.t, inv), T_.mul_row(diff.v, tinv));
    }
    return {Dual{r, tr}, dir};
  }

  Dual edge_input(Dual A, Dual B) {
    return {T_.add(T_.gather_cols(A.v, g_.ei), T_.gather_cols(B.v, g_.ej)),
            add(A.t.valid() ? T_.gather_cols(A.t, g_.ei) : Var{}, B.t.valid() ? T_.gather_cols(B.t, g_.ej) : Var{})};
  }
  Dual edge_input(Dual A, Dual B, Var w_r, Dual r) {
    Dual pre = edge_input(A, B);
    pre.v = T_.add(pre.v, T_.matmul(w_r, r.v));
    if (r.t.valid()) pre.t = add(pre.t, T_.matmul(w_r, r.t));
    return pre;
  }
  Dual edge_input(Dual A, Dual B, Var w_r, Dual r, Var w_a, Dual attr) {
    Dual pre = edge_input(A, B, w_r, r);
    pre.v = T_.add(pre.v, T_.matmul(w_a, attr.v));
    if (attr.t.valid()) pre.t = add(pre.t, T_.matmul(w_a, attr.t));
    return pre;
  }

  Dual silu(Dual z) { return {T_.silu(z.v), z.t.valid() ? T_.mul(T_.silu_grad(z.v), z.t) : Var{}}; }

  Dual gate(Var w, Var b, Dual m) {
    const Var s = T_.sigmoid(T_.add_col(T_.matmul(w, m.v), b));
    Dual out{T_.mul_row(m.v, s), Var{}};
    if (m.t.valid()) {
      const Var ts = T_.mul(T_.mul(s, T_.add_scalar(T_.scale(s, -1.0), 1.0)), T_.matmul(w, m.t));
      out.t = T_.add(T_.mul_row(m.t, s), T_.mul_row(m.v, ts));
    }
    return out;
  }

  Dual linear_row(Var w, Dual x) { return {T_.matmul(w, x.v), matmul_t(w, x.t)}; }

  Dual tanh_scale(Dual c, double scale) {
    const Var th = T_.tanh(c.v);
    Dual out{T_.scale(th, scale), Var{}};
    if (c.t.valid()) out.t = T_.scale(T_.mul(T_.add_scalar(T_.scale(T_.mul(th, th), -1.0), 1.0), c.t), scale);
    return out;
  }

  Dual coord_update(Dual x, Dual dir, Dual s) {
    const int BN = g_.B * g_.N;
    const Var shift = T_.scatter_cols(T_.mul_row(dir.v, s.v), g_.ei, BN);
    Var tshift;
    if (dir.t.valid() || s.t.valid())
      tshift = T_.scatter_cols(add(dir.t.valid() ? T_.mul_row(dir.t, s.v) : Var{}, s.t.valid() ? T_.mul_row(dir.v, s.t) : Var{}),
                               g_.ei, BN);
    return {T_.add(x.v, shift), add(x.t, tshift)};
  }

  Dual aggregate(Dual m) {
    const int BN = g_.B * g_.N;
    return {T_.scatter_cols(m.v, g_.ei, BN), m.t.valid() ? T_.scatter_cols(m.t, g_.ei, BN) : Var{}};
  }

  Dual residual(Dual h, Var W, Var b, Dual x) {
    const Dual d = linear(W, b, x);
    return {T_.add(h.v, d.v), add(h.t, d.t)};
  }

  ad::Tape& tape() { return T_; }
  const Graph& graph() const { return g_; }

 private:
  ad::Tape& T_;
  const Graph& g_;
  std::map<std::pair<int, int>, Var> blocks_;
};

}  // namespace enf::train
