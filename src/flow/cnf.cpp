#include "flow/cnf.hpp"

#include <cmath>

#include "errors.hpp"
#include "tensor/random.hpp"

namespace enf::flow {

namespace {
constexpr double kLog2Pi = 1.8378770664093453;
}

ForwardSolve integrate_forward(const VelocityField& dyn, const StateVector& s0, const ode::Options& solver,
                               const TraceOptions& trace) {
  const int n = static_cast<int>(s0.size());
  const bool exact = trace.mode == Trace::Exact;
  const int K = exact ? 1 : trace.probes;
  if (K < 1 || K > 1024) throw InvalidInput("probes must be between 1 and 1024");
  Eigen::MatrixXd probes;
  if (!exact) {
    Rng rng(trace.seed);
    probes.resize(n, K);
    for (int k = 0; k < K; ++k)
      for (int i = 0; i < n; ++i) probes(i, k) = trace.rademacher ? rng.rademacher() : rng.normal();
  }
  StateVector y(n + K);
  y.head(n) = s0;
  y.tail(K).setZero();
  ode::Options opts = solver;
  opts.norm_split = n;
  if (exact && trace.split.parts > 1 && !trace.state_step_control && !trace.combine)
    throw InvalidInput("an exact trace split into parts needs the parts combined at each evaluation, or step control on the state alone");
  opts.first_group_only = trace.state_step_control;
  std::vector<double> block;
  ode::Function f = [&](double t, const StateVector& yy, StateVector& dy) {
    StateVector ds;
    const StateVector s = yy.head(n);
    dy.resize(n + K);
    if (trace.interrupt) trace.interrupt();
    if (exact) {
      if (trace.combine) {
        int begin = 0;
        dyn.velocity_with_exact_trace(t, s, ds, trace.split, trace.interrupt, &block, &begin);
        dy(n) = trace.combine(block, begin, n);
      } else {
        dy(n) = dyn.velocity_with_exact_trace(t, s, ds, trace.split, trace.interrupt);
      }
    } else {
      Eigen::VectorXd quad;
      dyn.velocity_with_probes(t, s, probes, ds, quad, trace.interrupt);
      dy.tail(K) = quad;
    }
    dy.head(n) = ds;
  };
  ForwardSolve out;
  out.stats = ode::integrate(f, 0.0, 1.0, y, opts);
  out.z = y.head(n);
  out.delta_logp.assign(y.data() + n, y.data() + n + K);
  return out;
}

ode::Stats integrate_reverse(const VelocityField& dyn, StateVector& s, const ode::Options& solver,
                             const std::vector<double>& times, const ode::OutputCallback& on_frame) {
  ode::Function f = [&](double t, const StateVector& y, StateVector& dy) { dyn.velocity(t, y, dy); };
  return ode::integrate(f, 1.0, 0.0, s, solver, times, on_frame);
}

double log_prior(const StateVector& z, int dim, int features) {
  const int S = dim + features;
  const int N = static_cast<int>(z.size() / S);
  double sx = 0, sh = 0;
  for (int i = 0; i < N; ++i) {
    for (int d = 0; d < dim; ++d) sx += z(i * S + d) * z(i * S + d);
    for (int f = 0; f < features; ++f) sh += z(i * S + dim + f) * z(i * S + dim + f);
  }
  return -0.5 * sx - 0.5 * (N - 1) * dim * kLog2Pi - 0.5 * sh - 0.5 * N * features * kLog2Pi;
}

}  // namespace enf::flow
