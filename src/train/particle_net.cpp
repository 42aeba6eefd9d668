#include "train/particle_net.hpp"

#include <cmath>
#include <exception>
#include <memory>
#include <thread>

#include "errors.hpp"
#include "train/autodiff.hpp"

namespace enf::train {

using ad::Tape;
using ad::Var;

namespace {

constexpr double kLog2Pi = 1.8378770664093453;

// Per-layer parameter order in EgnnParams::values (after the 4 embedding tensors).
enum Slot {
  kEdgeHi, kEdgeHj, kEdgeR, kEdgeAttr, kEdgeB, kEdge2W, kEdge2B, kAttW, kAttB, kCoord0W, kCoord0B, kCoord2,
  kNodeH, kNodeAgg, kNodeB, kNode2W, kNode2B, kSlots
};
const char* const kSlotNames[kSlots] = {"edge_hi", "edge_hj", "edge_r",  "edge_attr", "edge_b",  "edge2.weight",
                                        "edge2.bias", "att_w", "att_b", "coord0.weight", "coord0.bias", "coord2",
                                        "node_h",  "node_agg", "node_b", "node2.weight", "node2.bias"};
constexpr int kHead = 4;  // embedding.weight, embedding.bias, embedding_out.weight, embedding_out.bias

Mat col(const nn::VectorF& v) { return v.cast<double>(); }

// A value with its tangent (invalid: the tangent is zero).
struct Dual {
  Var v, t;
};

// Index lists of a batch of B graphs of N particles, fully connected without self edges.
struct Graph {
  int B = 0, N = 0;
  std::vector<int> ei, ej, sample_of_node;
};

Graph make_graph(int B, int N) {
  Graph g;
  g.B = B;
  g.N = N;
  std::vector<int> i0, j0;
  egnn::make_edges(N, i0, j0);
  for (int b = 0; b < B; ++b) {
    for (size_t e = 0; e < i0.size(); ++e) {
      g.ei.push_back(b * N + i0[e]);
      g.ej.push_back(b * N + j0[e]);
    }
    for (int i = 0; i < N; ++i) g.sample_of_node.push_back(b);
  }
  return g;
}

class Builder {
 public:
  Builder(Tape& tape, const egnn::EgnnConfig& c, const std::vector<Var>& params, const Graph& g)
      : T(tape), c_(c), P(params), g_(g) {}

  Var tadd(Var a, Var b) {
    if (!a.valid()) return b;
    if (!b.valid()) return a;
    return T.add(a, b);
  }
  Var tmatmul(Var W, Var x) { return x.valid() ? T.matmul(W, x) : Var{}; }
  Dual linear(Var W, Var b, Dual x) { return {T.add_col(T.matmul(W, x.v), b), tmatmul(W, x.t)}; }
  Dual silu(Dual z) { return {T.silu(z.v), z.t.valid() ? T.mul(T.silu_grad(z.v), z.t) : Var{}}; }
  Var param(int layer, Slot s) { return P[kHead + layer * kSlots + s]; }

  // v(t, x) mean-free and its tangent along x.t; x: (D, B*N).
  Dual velocity(double t, Dual x_in) {
    const int BN = g_.B * g_.N;
    Var h = T.add_col(T.matmul(P[0], T.leaf(Mat::Constant(1, BN, t), false)), P[1]);
    Var th;  // time carries no tangent
    Dual x = x_in;
    Var attr, tattr;
    const double coord_scale = c_.coords_range / c_.n_layers;
    for (int l = 0; l < c_.n_layers; ++l) {
      Dual diff{T.sub(T.gather_cols(x.v, g_.ei), T.gather_cols(x.v, g_.ej)),
                x.t.valid() ? T.sub(T.gather_cols(x.t, g_.ei), T.gather_cols(x.t, g_.ej)) : Var{}};
      Var r = T.sum_rows(T.mul(diff.v, diff.v));
      Var tr = diff.t.valid() ? T.scale(T.sum_rows(T.mul(diff.v, diff.t)), 2.0) : Var{};
      if (l == 0) {
        attr = r;
        tattr = tr;
      }
      Var sq = T.sqrt(T.add_scalar(r, 1e-8));
      Var inv = T.reciprocal(T.add_scalar(sq, 1.0));
      Var tinv;
      if (tr.valid()) {  // d(1/(sq + 1)) = -inv^2 dr / (2 sq)
        Var dsq = T.mul(T.scale(T.reciprocal(sq), 0.5), tr);
        tinv = T.scale(T.mul(T.mul(inv, inv), dsq), -1.0);
      }
      Dual dir{T.mul_row(diff.v, inv), diff.t.valid() ? T.add(T.mul_row(diff.t, inv), T.mul_row(diff.v, tinv)) : Var{}};

      Var A = T.add_col(T.matmul(param(l, kEdgeHi), h), param(l, kEdgeB));
      Var Bm = T.matmul(param(l, kEdgeHj), h);
      Var tA = tmatmul(param(l, kEdgeHi), th), tB = tmatmul(param(l, kEdgeHj), th);
      Dual pre;
      pre.v = T.add(T.add(T.gather_cols(A, g_.ei), T.gather_cols(Bm, g_.ej)), T.matmul(param(l, kEdgeR), r));
      if (c_.edge_attr) pre.v = T.add(pre.v, T.matmul(param(l, kEdgeAttr), attr));
      pre.t = tadd(tA.valid() ? T.gather_cols(tA, g_.ei) : Var{}, tB.valid() ? T.gather_cols(tB, g_.ej) : Var{});
      if (tr.valid()) pre.t = tadd(pre.t, T.matmul(param(l, kEdgeR), tr));
      if (c_.edge_attr && tattr.valid()) pre.t = tadd(pre.t, T.matmul(param(l, kEdgeAttr), tattr));
      Dual m = silu(linear(param(l, kEdge2W), param(l, kEdge2B), silu(pre)));
      if (c_.attention) {
        Var gate = T.sigmoid(T.add_col(T.matmul(param(l, kAttW), m.v), param(l, kAttB)));
        Var tgate;
        if (m.t.valid())
          tgate = T.mul(T.mul(gate, T.add_scalar(T.scale(gate, -1.0), 1.0)), T.matmul(param(l, kAttW), m.t));
        Var mv = T.mul_row(m.v, gate);
        if (m.t.valid()) m.t = T.add(T.mul_row(m.t, gate), T.mul_row(m.v, tgate));
        m.v = mv;
      }
      Dual c1 = silu(linear(param(l, kCoord0W), param(l, kCoord0B), m));
      Dual coord{T.matmul(param(l, kCoord2), c1.v), tmatmul(param(l, kCoord2), c1.t)};
      Dual scaled = coord;
      if (c_.tanh) {
        Var th_ = T.tanh(coord.v);
        scaled.v = T.scale(th_, coord_scale);
        if (coord.t.valid())
          scaled.t = T.scale(T.mul(T.add_scalar(T.scale(T.mul(th_, th_), -1.0), 1.0), coord.t), coord_scale);
      }
      Var shift = T.scatter_cols(T.mul_row(dir.v, scaled.v), g_.ei, BN);
      Var tshift;
      if (dir.t.valid() || scaled.t.valid())
        tshift = T.scatter_cols(tadd(dir.t.valid() ? T.mul_row(dir.t, scaled.v) : Var{},
                                     scaled.t.valid() ? T.mul_row(dir.v, scaled.t) : Var{}),
                                g_.ei, BN);
      Dual agg{T.scatter_cols(m.v, g_.ei, BN), m.t.valid() ? T.scatter_cols(m.t, g_.ei, BN) : Var{}};
      Dual n_pre{T.add_col(T.add(T.matmul(param(l, kNodeH), h), T.matmul(param(l, kNodeAgg), agg.v)), param(l, kNodeB)),
                 tadd(tmatmul(param(l, kNodeH), th), tmatmul(param(l, kNodeAgg), agg.t))};
      Dual n1 = silu(n_pre);
      Dual dh = linear(param(l, kNode2W), param(l, kNode2B), n1);
      x = Dual{T.add(x.v, shift), tadd(x.t, tshift)};
      h = T.add(h, dh.v);
      th = tadd(th, dh.t);
    }
    Dual v{T.sub(x.v, x_in.v), x.t.valid() && x_in.t.valid() ? T.sub(x.t, x_in.t) : x.t};
    return Dual{mean_free(v.v), v.t.valid() ? mean_free(v.t) : Var{}};
  }

  Var mean_free(Var v) {
    Var mean = T.scale(T.scatter_cols(v, g_.sample_of_node, g_.B), 1.0 / g_.N);
    return T.sub(v, T.gather_cols(mean, g_.sample_of_node));
  }

  // (1, B): per-sample sum over particles and dimensions of a .* b.
  Var per_sample_dot(Var a, Var b) { return T.scatter_cols(T.sum_rows(T.mul(a, b)), g_.sample_of_node, g_.B); }

 private:
  Tape& T;
  const egnn::EgnnConfig& c_;
  const std::vector<Var>& P;
  const Graph& g_;
};

// (B, N*D) rows <-> (D, B*N) columns.
Mat to_columns(const Mat& x, int N, int D) {
  Mat out(D, x.rows() * N);
  for (Eigen::Index b = 0; b < x.rows(); ++b)
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < D; ++k) out(k, b * N + i) = x(b, i * D + k);
  return out;
}
Mat to_rows(const Mat& c, int B, int N, int D) {
  Mat out(B, N * D);
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < D; ++k) out(b, i * D + k) = c(k, b * N + i);
  return out;
}

std::vector<Var> param_leaves(Tape& T, const EgnnParams& p, bool needs_grad) {
  std::vector<Var> out;
  out.reserve(p.values.size());
  for (const Mat& m : p.values) out.push_back(T.leaf(m, needs_grad));
  return out;
}

// One RK4 (3/8 rule) step on the tape: y -> y_next, and the step's integral of eps^T J eps (1, B).
struct StepOut {
  Var y_next, dlogp;
  Var reg;  // (1, B) the step's integral of the regularisers (invalid when they are off)
};
StepOut rk4_step(Tape& T, Builder& net, Var y, Var eps, double t, double h, const NllOptions& o) {
  auto f = [&](double tt, Var yy) { return net.velocity(tt, Dual{yy, eps}); };
  auto quad = [&](const Dual& d) { return net.per_sample_dot(eps, d.t); };
  auto axpy = [&](Var base, double a, Var x) { return T.add(base, T.scale(x, a)); };
  const Dual k1 = f(t, y);
  const Dual k2 = f(t + h / 3, axpy(y, h / 3, k1.v));
  const Dual k3 = f(t + 2 * h / 3, axpy(y, h, T.sub(k2.v, T.scale(k1.v, 1.0 / 3))));
  const Dual k4 = f(t + h, axpy(y, h, T.add(T.sub(k1.v, k2.v), k3.v)));
  Var incr = T.add(T.add(k1.v, T.scale(T.add(k2.v, k3.v), 3.0)), k4.v);
  Var qsum = T.add(T.add(quad(k1), T.scale(T.add(quad(k2), quad(k3)), 3.0)), quad(k4));
  StepOut out{axpy(y, h / 8, incr), T.scale(qsum, h / 8), Var{}};
  if (o.kinetic > 0 || o.jacobian > 0) {
    auto r = [&](const Dual& d) {
      Var v;
      if (o.kinetic > 0) v = T.scale(net.per_sample_dot(d.v, d.v), o.kinetic);
      if (o.jacobian > 0) v = net.tadd(v, T.scale(net.per_sample_dot(d.t, d.t), o.jacobian));
      return v;
    };
    out.reg = T.scale(T.add(T.add(r(k1), T.scale(T.add(r(k2), r(k3)), 3.0)), r(k4)), h / 8);
  }
  return out;
}

void check_batch(const EgnnParams& p, int N, int D, const Mat& x, const Mat& probes) {
  if (N < 2 || D < 1) throw InvalidInput("a particle system needs at least 2 particles in at least 1 dimension");
  if (x.rows() == 0) throw InvalidInput("the batch is empty; pass at least one sample");
  if (x.cols() != N * D)
    throw InvalidInput("each sample must hold " + std::to_string(N) + " x " + std::to_string(D) + " numbers, got " +
                       std::to_string(x.cols()));
  if (!x.allFinite()) throw InvalidInput("the batch contains NaN or Inf");
  if (probes.rows() != x.rows() || probes.cols() != x.cols()) throw InvalidInput("probes must have the batch's shape");
  if (p.config.in_features != 1)
    throw InvalidInput("the particle network takes only time as node input (in_features 1)");
}

}  // namespace

size_t EgnnParams::count() const {
  size_t n = 0;
  for (const Mat& m : values) n += static_cast<size_t>(m.size());
  return n;
}

EgnnParams EgnnParams::from_weights(const egnn::EgnnWeights& w) {
  EgnnParams p;
  p.config = w.config;
  auto add = [&](const std::string& name, Mat m) {
    p.names.push_back(name);
    p.values.push_back(std::move(m));
  };
  add("embedding.weight", w.embedding.weight.cast<double>());
  add("embedding.bias", col(w.embedding.bias));
  add("embedding_out.weight", w.embedding_out.weight.cast<double>());
  add("embedding_out.bias", col(w.embedding_out.bias));
  const int H = w.config.hidden;
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const egnn::GclWeights& L = w.layers[l];
    Mat att_w = w.config.attention ? Mat(L.att_w.cast<double>()) : Mat::Zero(1, H);
    Mat att_b = Mat::Constant(1, 1, L.att_b);
    Mat edge_attr = w.config.edge_attr ? col(L.edge_attr) : Mat::Zero(H, 1);
    const Mat vals[kSlots] = {L.edge_hi.cast<double>(), L.edge_hj.cast<double>(), col(L.edge_r), edge_attr,
                              col(L.edge_b), L.edge2.weight.cast<double>(), col(L.edge2.bias), att_w, att_b,
                              L.coord0.weight.cast<double>(), col(L.coord0.bias), L.coord2.cast<double>(),
                              L.node_h.cast<double>(), L.node_agg.cast<double>(), col(L.node_b),
                              L.node2.weight.cast<double>(), col(L.node2.bias)};
    for (int s = 0; s < kSlots; ++s) add("gcl_" + std::to_string(l) + "." + kSlotNames[s], vals[s]);
  }
  return p;
}

egnn::EgnnWeights EgnnParams::to_weights() const {
  egnn::EgnnWeights w;
  w.config = config;
  auto f = [](const Mat& m) { return nn::MatrixF(m.cast<float>()); };
  auto v = [](const Mat& m) { return nn::VectorF(m.col(0).cast<float>()); };
  w.embedding = {f(values[0]), v(values[1])};
  w.embedding_out = {f(values[2]), v(values[3])};
  for (int l = 0; l < config.n_layers; ++l) {
    const Mat* s = &values[kHead + l * kSlots];
    egnn::GclWeights L;
    L.edge_hi = f(s[kEdgeHi]);
    L.edge_hj = f(s[kEdgeHj]);
    L.edge_r = v(s[kEdgeR]);
    L.edge_attr = v(s[kEdgeAttr]);
    L.edge_b = v(s[kEdgeB]);
    L.edge2 = {f(s[kEdge2W]), v(s[kEdge2B])};
    if (config.attention) {
      L.att_w = f(s[kAttW]);
      L.att_b = static_cast<float>(s[kAttB](0, 0));
    }
    L.coord0 = {f(s[kCoord0W]), v(s[kCoord0B])};
    L.coord2 = f(s[kCoord2]);
    L.node_h = f(s[kNodeH]);
    L.node_agg = f(s[kNodeAgg]);
    L.node_b = v(s[kNodeB]);
    L.node2 = {f(s[kNode2W]), v(s[kNode2B])};
    w.layers.push_back(std::move(L));
  }
  return w;
}

std::pair<Mat, Mat> particle_velocity(const EgnnParams& p, int N, int D, double t, const Mat& x, const Mat& eps) {
  check_batch(p, N, D, x, eps);
  const int B = static_cast<int>(x.rows());
  const Graph g = make_graph(B, N);
  Tape T;
  const std::vector<Var> P = param_leaves(T, p, false);
  Builder net(T, p.config, P, g);
  const Dual out = net.velocity(t, Dual{T.leaf(to_columns(x, N, D), false), T.leaf(to_columns(eps, N, D), false)});
  return {to_rows(T.value(out.v), B, N, D), to_rows(T.value(out.t), B, N, D)};
}

namespace {

// The loss and gradient of one batch in a single pass through the graph (particle_nll has checked
// the arguments).
NllResult nll_one_pass(const EgnnParams& p, int N, int D, const Mat& x, const Mat& probes, const NllOptions& o,
                       bool want_grad) {
  const int B = static_cast<int>(x.rows());
  const Graph g = make_graph(B, N);
  const Mat eps = to_columns(probes, N, D);
  const double h = 1.0 / o.steps;
  // Forward sweep: the state at each step boundary; with keep_tapes also each step's tape for
  // the backward sweep (else it is recomputed there from the stored state).
  const bool keep = want_grad && o.keep_tapes;
  struct Kept {
    Tape tape;
    std::vector<Var> P;
    Var y;
    StepOut out;
  };
  std::vector<std::unique_ptr<Kept>> kept;
  std::vector<Mat> ys{to_columns(x, N, D)};
  Eigen::RowVectorXd dlogp = Eigen::RowVectorXd::Zero(B), reg = Eigen::RowVectorXd::Zero(B);
  for (int k = 0; k < o.steps; ++k) {
    auto st = std::make_unique<Kept>();
    Tape& T = st->tape;
    st->P = param_leaves(T, p, keep);
    Builder net(T, p.config, st->P, g);
    st->y = T.leaf(ys.back(), keep);
    st->out = rk4_step(T, net, st->y, T.leaf(eps, false), k * h, h, o);
    ys.push_back(T.value(st->out.y_next));
    dlogp += T.value(st->out.dlogp);
    if (st->out.reg.valid()) reg += T.value(st->out.reg);
    if (keep) kept.push_back(std::move(st));
  }
  const Mat& z = ys.back();
  NllResult res;
  res.log_p.resize(B);
  const double log_norm = -0.5 * (N - 1) * D * kLog2Pi;
  for (int b = 0; b < B; ++b) {
    const double sq = z.middleCols(b * N, N).squaredNorm();
    res.log_p(b) = -0.5 * sq + log_norm + dlogp(b);
  }
  res.loss = -res.log_p.mean();
  res.regulariser = reg.mean();
  if (!std::isfinite(res.loss) || !std::isfinite(res.regulariser)) throw SolverError("the training loss became non-finite; lower the learning rate");
  if (!want_grad) return res;
  // Backward sweep: d loss / d z = z / B, d loss / d (step's dlogp) = -1 / B.
  res.grads.resize(p.values.size());
  for (size_t i = 0; i < p.values.size(); ++i) res.grads[i] = Mat::Zero(p.values[i].rows(), p.values[i].cols());
  Mat gy = z / B;
  const Mat gdl = Mat::Constant(1, B, -1.0 / B);
  for (int k = o.steps - 1; k >= 0; --k) {
    std::unique_ptr<Kept> st;
    if (keep) {
      st = std::move(kept[k]);
    } else {
      st = std::make_unique<Kept>();
      st->P = param_leaves(st->tape, p, true);
      Builder net(st->tape, p.config, st->P, g);
      st->y = st->tape.leaf(ys[k], true);
      st->out = rk4_step(st->tape, net, st->y, st->tape.leaf(eps, false), k * h, h, o);
    }
    Tape& T = st->tape;
    const std::vector<Var>& P = st->P;
    const Var y = st->y;
    const StepOut& s = st->out;
    T.seed(s.y_next, gy);
    T.seed(s.dlogp, gdl);
    if (s.reg.valid()) T.seed(s.reg, Mat::Constant(1, B, 1.0 / B));
    T.backward();
    for (size_t i = 0; i < P.size(); ++i)
      if (T.grad(P[i]).size()) res.grads[i] += T.grad(P[i]);
    gy = T.grad(y).size() ? T.grad(y) : Mat::Zero(gy.rows(), gy.cols());
  }
  return res;
}

}  // namespace

NllResult particle_nll(const EgnnParams& p, int N, int D, const Mat& x, const Mat& probes, const NllOptions& o,
                       bool want_grad) {
  check_batch(p, N, D, x, probes);
  if (o.steps < 1 || o.steps > 10000) throw InvalidInput("the number of RK4 steps must be between 1 and 10000");
  if (!(o.kinetic >= 0) || !(o.jacobian >= 0) || !std::isfinite(o.kinetic) || !std::isfinite(o.jacobian))
    throw InvalidInput("the regulariser weights must be finite and >= 0");
  if (o.chunk < 0) throw InvalidInput("the chunk size must be >= 0 (0: chosen from the number of particles)");
  if (o.threads < 1 || o.threads > 1024) throw InvalidInput("the number of training threads must be between 1 and 1024");
  const int B = static_cast<int>(x.rows());
  const int chunk = o.chunk > 0 ? o.chunk : std::max(1, kChunkEdges / std::max(1, N * (N - 1)));
  if (B <= chunk) return nll_one_pass(p, N, D, x, probes, o, want_grad);

  // Slices of the batch, each in one pass; the loss is a mean over samples, so the slices' results
  // weighted by their share of the batch add up to the whole batch's.
  const int slices = (B + chunk - 1) / chunk;
  auto first = [&](int s) { return s * chunk; };
  auto size = [&](int s) { return std::min(chunk, B - s * chunk); };
  std::vector<NllResult> parts(slices);
  auto run = [&](int s) {
    parts[s] = nll_one_pass(p, N, D, x.middleRows(first(s), size(s)), probes.middleRows(first(s), size(s)), o, want_grad);
  };
#ifdef __EMSCRIPTEN__
  for (int s = 0; s < slices; ++s) run(s);
#else
  const int T = std::min(o.threads, slices);
  std::vector<std::exception_ptr> errors(T);
  std::vector<std::thread> pool;
  for (int t = 1; t < T; ++t)
    pool.emplace_back([&, t] {
      try {
        for (int s = t; s < slices; s += T) run(s);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  try {
    for (int s = 0; s < slices; s += T) run(s);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
#endif
  // Summed in slice order, whatever the thread count.
  NllResult res;
  res.log_p.resize(B);
  for (int s = 0; s < slices; ++s) {
    const NllResult& part = parts[s];
    const double w = static_cast<double>(size(s)) / B;
    res.loss += w * part.loss;
    res.regulariser += w * part.regulariser;
    res.log_p.segment(first(s), size(s)) = part.log_p;
    if (!want_grad) continue;
    if (res.grads.empty()) {
      for (const Mat& gr : part.grads) res.grads.push_back(w * gr);
    } else {
      for (size_t i = 0; i < res.grads.size(); ++i) res.grads[i] += w * part.grads[i];
    }
  }
  return res;
}

}  // namespace enf::train
