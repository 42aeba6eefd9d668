// ODE solvers behind one interface, in the manner of torchdiffeq's odeint: a method is a Butcher
// tableau (ode/tableau.hpp), run by one adaptive stepper (embedded error estimate, step control,
// dense output) or one fixed-step stepper; the problem is a function dy/dt = f(t, y).
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <string>
#include <vector>

#include "ode/tableau.hpp"

namespace enf::ode {

using Vector = Eigen::VectorXd;

// The most steps any solve may be allowed: a bound on run time whatever the caller asks for
// (fixed_steps, max_steps). A solve that needs more ends with SolverError, never hangs.
constexpr int kMaxSteps = 1000000;

struct Stats {
  int nfe = 0;       // function evaluations
  int steps = 0;     // accepted steps
  int rejected = 0;  // rejected steps
};

struct Options {
  Method method;            // dopri5 unless set
  double rtol = 1e-4;       // adaptive methods
  double atol = 1e-4;
  int fixed_steps = 50;     // fixed-step methods: equal steps over [t0, t1], at most kMaxSteps
  int max_steps = 10000;    // adaptive methods: accepted + rejected steps before SolverError (<= kMaxSteps)
  // Components [norm_split, n) form a second group in the error norm (max of the two RMS norms,
  // as torchdiffeq does for a tuple state such as (z, log p)). 0 means one group.
  int norm_split = 0;
  // With norm_split > 0: step control on the first group alone (the second group is integrated but
  // does not choose the steps), so that solves which differ only there take the same steps.
  bool first_group_only = false;
  // Called after every accepted step with the time reached; it may throw to abandon the solve
  // (cancellation), and is how long solves report progress.
  std::function<void(double t, const Stats& stats)> on_step;
};

// f(t, y, dydt): writes dy/dt at (t, y).
using Function = std::function<void(double t, const Vector& y, Vector& dydt)>;
// Called once per requested output time, in order, as soon as the solve passes it.
using OutputCallback = std::function<void(int index, double t, const Vector& y)>;

// Integrates y from t0 to t1 (either direction) in place. `output_times` must be monotone in the
// direction of integration and inside [t0, t1]; they are read from the method's continuous
// extension where its tableau has one (dopri5: 4th order), else from cubic Hermite interpolation.
// The last output at t1 is the final state itself, not an interpolation.
Stats integrate(const Function& f, double t0, double t1, Vector& y, const Options& options,
                const std::vector<double>& output_times = {}, const OutputCallback& on_output = {});

// f for several states at once: dydt[k] = f(t[k], y[k]) for every k (dydt comes sized).
using BatchFunction =
    std::function<void(const std::vector<double>& t, const std::vector<const Vector*>& y, std::vector<Vector>& dydt)>;

// Integrates every ys[k] from t0 to t1 in place, each solve with its own steps and step control,
// exactly as integrate() would given the same derivatives, but with the evaluations of all the
// solves still running made in one call of f (a batch: wider network products for small systems).
// Adaptive solves stay in lockstep because each asks for the same sequence of evaluations (two
// for the first step, then a fixed number per step, accepted or not); the batch shrinks as they
// finish. on_round runs after every batched evaluation with the number finished and may throw to
// stop. No output times; options.on_step runs per solve and step, as in integrate().
std::vector<Stats> integrate_batch(const BatchFunction& f, double t0, double t1, std::vector<Vector>& ys,
                                   const Options& options, const std::function<void(int finished)>& on_round = {});

}  // namespace enf::ode
