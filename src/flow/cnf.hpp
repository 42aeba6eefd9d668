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
  // Exact trace: which block of the diagonal this solve integrates, on how many threads.
  ExactTraceSplit split;
  // Step control on the state alone (torchdiffeq's, the default, also weighs the log-density).
  // Solves that differ only in their trace block then take the same steps, so the blocks' integrals
  // sum to the trace's; a split over several parts requires it.
  bool state_step_control = false;
  // Exact trace split into parts run side by side (one per worker): given this part's diagonal
  // entries (columns [begin, begin + block.size()) of n), gathers every part's at the same
  // evaluation and returns their sum in column order, which is the unsplit trace to the last bit.
  // Every part then integrates the whole log-determinant with the reference's step control and
  // takes the same steps as an unsplit solve. May throw to stop.
  std::function<double(const std::vector<double>& block, int begin, int n)> combine;
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
