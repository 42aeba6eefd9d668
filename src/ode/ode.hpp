// ODE solvers behind one interface, in the manner of torchdiffeq's odeint: a solver is a Butcher
// tableau plus step control; the problem is a function dy/dt = f(t, y).
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <string>
#include <vector>

namespace enf::ode {

using Vector = Eigen::VectorXd;

enum class Method { Dopri5, Rk4, Euler };

// The most steps any solve may be allowed: a bound on run time whatever the caller asks for
// (fixed_steps, max_steps). A solve that needs more ends with SolverError, never hangs.
constexpr int kMaxSteps = 1000000;

Method method_from_name(const std::string& name);  // "dopri5", "rk4", "euler"; throws InvalidInput
std::string method_name(Method m);

struct Stats {
  int nfe = 0;       // function evaluations
  int steps = 0;     // accepted steps
  int rejected = 0;  // rejected steps
};

struct Options {
  Method method = Method::Dopri5;
  double rtol = 1e-4;
  double atol = 1e-4;
  int fixed_steps = 50;     // rk4 / euler: number of equal steps over [t0, t1], at most kMaxSteps
  int max_steps = 10000;    // dopri5: accepted + rejected steps before giving up with SolverError (<= kMaxSteps)
  // Components [norm_split, n) form a second group in the error norm (max of the two RMS norms,
  // as torchdiffeq does for a tuple state such as (z, log p)). 0 means one group.
  int norm_split = 0;
  // Called after every accepted step with the time reached; it may throw to abandon the solve
  // (cancellation), and is how long solves report progress.
  std::function<void(double t, const Stats& stats)> on_step;
};

// f(t, y, dydt): writes dy/dt at (t, y).
using Function = std::function<void(double t, const Vector& y, Vector& dydt)>;
// Called once per requested output time, in order, as soon as the solve passes it.
using OutputCallback = std::function<void(int index, double t, const Vector& y)>;

// Integrates y from t0 to t1 (either direction) in place. `output_times` must be monotone in the
// direction of integration and inside [t0, t1]; dopri5 reads them from its dense output
// (4th-order continuous extension), fixed-step methods from cubic Hermite interpolation.
// The last output at t1 is the final state itself, not an interpolation.
Stats integrate(const Function& f, double t0, double t1, Vector& y, const Options& options,
                const std::vector<double>& output_times = {}, const OutputCallback& on_output = {});

}  // namespace enf::ode
