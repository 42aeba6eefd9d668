#include "train/particle_net.hpp"

#include <cmath>
#include <exception>
#include <memory>
#include <thread>

#include "errors.hpp"
#include "egnn/f32_backend.hpp"
#include "ode/runge_kutta.hpp"
#include "train/autodiff.hpp"
#include "train/tape_backend.hpp"

namespace enf::train {

using ad::Tape;
using ad::Var;

namespace {

constexpr double kLog2Pi = 1.8378770664093453;

// The field's velocity on the tape, made mean-free per sample (the prior has zero centre of mass).
class Velocity {
 public:
  Velocity(Tape& tape, const FieldParams& p, const std::vector<Var>& params, const Graph& g)
      : T(tape), b_(tape, g), kind_(fields::field_kind(p.kind)), p_(p), P(params), g_(g) {}

  Var tadd(Var a, Var b) { return b_.add(a, b); }

  // v(t, x) mean-free and its tangent along x.t; x: (D, B*N).
  Dual operator()(double t, Dual x) {
    const Dual v = kind_.tape_velocity(b_, p_, P, t, x);
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
  TapeBackend b_;
  const fields::FieldKind& kind_;
  const FieldParams& p_;
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

std::vector<Var> param_leaves(Tape& T, const FieldParams& p, bool needs_grad) {
  std::vector<Var> out;
  out.reserve(p.values.size());
  for (const Mat& m : p.values) out.push_back(T.leaf(m, needs_grad));
  return out;
}

// The ODE state on the tape: the positions, with the integrals of eps^T J eps (Hutchinson's
// divergence, (1, B)) and of the regularisers ((1, B), invalid when they are off) carried along
// as extra components, so that one fixed-step solver step integrates all three.
struct TapeState {
  Var y, dlogp, reg;
};

// One step of the fixed-step method on the tape: ode::rk_step, the same code and coefficients
// the float32 solves use (the paper's setup is rk4, the 3/8 rule).
struct StepOut {
  Var y_next, dlogp;
  Var reg;  // (1, B) the step's integral of the regularisers (invalid when they are off)
};
StepOut tape_step(Tape& T, Velocity& net, Var y, Var eps, double t, double h, const NllOptions& o) {
  auto f = [&](double tt, const TapeState& s) {
    const Dual d = net(tt, Dual{s.y, eps});
    TapeState k{d.v, net.per_sample_dot(eps, d.t), Var{}};
    if (o.kinetic > 0) k.reg = T.scale(net.per_sample_dot(d.v, d.v), o.kinetic);
    if (o.jacobian > 0) k.reg = net.tadd(k.reg, T.scale(net.per_sample_dot(d.t, d.t), o.jacobian));
    return k;
  };
  // base + h sum_j w_j k_j per component; an invalid variable is zero.
  auto combine = [&](const TapeState& base, double hh, const std::vector<double>& w, const std::vector<TapeState>& ks) {
    auto part = [&](Var b, Var TapeState::*m) {
      Var acc;
      for (size_t j = 0; j < w.size(); ++j)
        if (w[j] != 0 && (ks[j].*m).valid()) acc = net.tadd(acc, T.scale(ks[j].*m, w[j]));
      return acc.valid() ? net.tadd(b, T.scale(acc, hh)) : b;
    };
    return TapeState{part(base.y, &TapeState::y), part(base.dlogp, &TapeState::dlogp), part(base.reg, &TapeState::reg)};
  };
  const TapeState start{y, Var{}, Var{}};
  std::vector<TapeState> ks;
  const TapeState end = ode::rk_step(o.method.tableau(), f, t, h, start, f(t, start), combine, ks);
  return StepOut{end.y, end.dlogp, end.reg};
}

void check_batch(const FieldParams& p, int N, int D, const Mat& x, const Mat& probes) {
  if (N < 2 || D < 1) throw InvalidInput("a particle system needs at least 2 particles in at least 1 dimension");
  if (x.rows() == 0) throw InvalidInput("the batch is empty; pass at least one sample");
  if (x.cols() != N * D)
    throw InvalidInput("each sample must hold " + std::to_string(N) + " x " + std::to_string(D) + " numbers, got " +
                       std::to_string(x.cols()));
  if (!x.allFinite()) throw InvalidInput("the batch contains NaN or Inf");
  if (probes.rows() != x.rows() || probes.cols() != x.cols()) throw InvalidInput("probes must have the batch's shape");
  fields::field_kind(p.kind);  // known
}

}  // namespace

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

std::pair<Mat, Mat> particle_velocity(const FieldParams& p, int N, int D, double t, const Mat& x, const Mat& eps) {
  check_batch(p, N, D, x, eps);
  const int B = static_cast<int>(x.rows());
  const Graph g = make_graph(B, N);
  Tape T;
  const std::vector<Var> P = param_leaves(T, p, false);
  Velocity net(T, p, P, g);
  const Dual out = net(t, Dual{T.leaf(to_columns(x, N, D), false), T.leaf(to_columns(eps, N, D), false)});
  return {to_rows(T.value(out.v), B, N, D), to_rows(T.value(out.t), B, N, D)};
}

namespace {

// The loss and gradient of one batch in a single pass through the graph (particle_nll has checked
// the arguments).
NllResult nll_one_pass(const FieldParams& p, int N, int D, const Mat& x, const Mat& probes, const NllOptions& o,
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
    Velocity net(T, p, st->P, g);
    st->y = T.leaf(ys.back(), keep);
    st->out = tape_step(T, net, st->y, T.leaf(eps, false), k * h, h, o);
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
      Velocity net(st->tape, p, st->P, g);
      st->y = st->tape.leaf(ys[k], true);
      st->out = tape_step(st->tape, net, st->y, st->tape.leaf(eps, false), k * h, h, o);
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

NllResult particle_nll(const FieldParams& p, int N, int D, const Mat& x, const Mat& probes, const NllOptions& o,
                       bool want_grad) {
  check_batch(p, N, D, x, probes);
  if (o.steps < 1 || o.steps > 10000) throw InvalidInput("the number of solver steps must be between 1 and 10000");
  if (o.method.tableau().adaptive())
    throw InvalidInput("training integrates with a fixed-step method (rk4, midpoint, euler), not " + o.method.name());
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
