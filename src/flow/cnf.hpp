// Continuous normalizing flow integration around any VelocityField: the likelihood direction
// (t: 0 -> 1, carrying the divergence) and the sampling direction (t: 1 -> 0).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "flow/velocity_field.hpp"
#include "ode/ode.hpp"

namespace enf::flow {

enum class Trace { Exact, Hutchinson };

struct TraceOptions {
  Trace mode = Trace::Hutchinson;
  int probes = 1;           // Hutchinson: probes carried through one solve, held fixed during it
  bool rademacher = false;  // Hutchinson probe distribution: Gaussian (default) or Rademacher
  uint64_t seed = 0;
  // Called before every evaluation and, for the exact trace, between its chunks of work; may throw
  // to stop the solve (cancellation).
  std::function<void()> interrupt;
};

struct ForwardSolve {
  StateVector z;                    // state at t = 1
  std::vector<double> delta_logp;   // integral of the trace estimate, one per probe (one if exact)
  ode::Stats stats;
};

// Integrates s0 from t = 0 to 1 with d(delta_logp)/dt = tr(d phi / d s) (exact or Hutchinson).
ForwardSolve integrate_forward(const VelocityField& dyn, const StateVector& s0, const ode::Options& solver,
                               const TraceOptions& trace);

// Integrates s from t = 1 to 0 in place; `times` (from 1 down to 0) are reported to `on_frame`.
ode::Stats integrate_reverse(const VelocityField& dyn, StateVector& s, const ode::Options& solver,
                             const std::vector<double>& times = {}, const ode::OutputCallback& on_frame = {});

// Log density of the zero-centre-of-mass Gaussian on the (N-1)*dim positional subspace plus a
// standard Gaussian on N*features feature numbers, for a flat state [x (dim), h (features)] per atom.
double log_prior(const StateVector& z, int dim, int features);

}  // namespace enf::flow
