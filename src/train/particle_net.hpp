// A particle flow as a differentiable double-precision graph for training: the field's velocity
// and its Jacobian-vector product on the tape (fields::FieldKind::tape_velocity: the same formula
// the float32 inference runs), a fixed-step solver (ode::rk_step: the code and coefficients of
// the float32 solves; the paper's rk4) and the negative log-likelihood with Hutchinson's trace estimate. Gradients with respect to
// every parameter come from backpropagation through the solver's steps, one step's tape at a
// time (the states between steps are kept, each step is recomputed in the backward sweep), so
// memory stays at one step's activations whatever the number of steps.
//
// The float32 inference path (the kind's inference field, integrate_forward / integrate_reverse)
// runs the same parameters; tests check that both give the same velocity, JVP and NLL.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "fields/field.hpp"
#include "ode/tableau.hpp"

namespace enf::train {

using Mat = Eigen::MatrixXd;
using fields::FieldParams;

struct NllOptions {
  int steps = 10;  // solver steps over t in [0, 1] (4 evaluations each with rk4)
  // Keep every step's tape from the forward sweep for the backward sweep (faster, memory grows
  // with steps x batch); false recomputes one step at a time from the stored states.
  bool keep_tapes = false;
  // Optional regularisers of the field (Finlay et al. 2020, "How to train your neural ODE"):
  // kinetic * E_b int |v|^2 dt + jacobian * E_b int |J eps|^2 dt (|J eps|^2 estimates the squared
  // Frobenius norm of J with the same probe). They keep the learned field smooth, so that a few
  // fixed RK4 steps stay accurate; 0 (the paper's setup) turns them off.
  double kinetic = 0;
  double jacobian = 0;
  // Samples per pass through the graph; 0 picks kChunkEdges edges per pass. The loss is a mean
  // over samples, so passes over slices of the batch add up to the same loss and gradient
  // (gradient accumulation). Small slices keep each op's matrices in cache: LJ13 at batch 100
  // took 12.3 s per step in one pass and 3.6 s in slices of 1-5 samples; one pass also needs
  // ~3 GB, over wasm's 2 GB limit. A chunk >= the batch size is one pass.
  int chunk = 0;
  // Threads over the slices (native builds; the WebAssembly build has none and uses 1). The
  // slices' results are summed in slice order, so any thread count gives bit-identical results.
  int threads = 1;
  ode::Method method = ode::Method::rk4();  // a fixed-step method (the paper's: rk4, the 3/8 rule)
};

// Edges (particle pairs x samples) per pass when NllOptions::chunk is 0.
constexpr int kChunkEdges = 128;

struct NllResult {
  double loss = 0;               // mean over the batch of -log p(x) (Hutchinson estimate), nats
  double regulariser = 0;        // the regularisers' value; grads are those of loss + regulariser
  Eigen::VectorXd log_p;         // per sample
  std::vector<Mat> grads;        // d loss / d params, same order as FieldParams::values; empty if not asked
};

// x: (B, N*D) centred samples, probes: (B, N*D) Hutchinson probes held fixed during the solve.
// With want_grad, also the exact gradient of loss + regulariser (discretised, probe-conditioned).
NllResult particle_nll(const FieldParams& p, int n_particles, int dim, const Mat& x, const Mat& probes,
                       const NllOptions& options, bool want_grad);

// Velocity v(t, x) and J v eps for a batch, in double, for the cross-checks against the float32
// path. x, eps: (B, N*D). Returns (v, J eps) as (B, N*D) each.
std::pair<Mat, Mat> particle_velocity(const FieldParams& p, int n_particles, int dim, double t, const Mat& x,
                                      const Mat& eps);

}  // namespace enf::train
