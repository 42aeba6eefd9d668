// The particle E-NF as a differentiable double-precision graph for training: the EGNN dynamics
// (the formula of egnn::Egnn::forward, written on the autodiff tape), its Jacobian-vector product
// (the formula of egnn::Egnn::jvp, as tape ops), fixed-step RK4 (the 3/8 rule of ode::integrate)
// and the negative log-likelihood with Hutchinson's trace estimate. Gradients with respect to
// every parameter come from backpropagation through the solver's steps, one step's tape at a
// time (the states between steps are kept, each step is recomputed in the backward sweep), so
// memory stays at one step's activations whatever the number of steps.
//
// The float32 inference path (EgnnDynamics, integrate_forward / integrate_reverse) runs the same
// weights after to_weights(); tests check that both give the same velocity, JVP and NLL.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "egnn/egnn.hpp"

namespace enf::train {

using Mat = Eigen::MatrixXd;

// The network's parameters in double, as a flat list of named matrices (the optimiser's view).
struct EgnnParams {
  egnn::EgnnConfig config;
  std::vector<std::string> names;
  std::vector<Mat> values;

  size_t count() const;  // number of scalars
  static EgnnParams from_weights(const egnn::EgnnWeights& w);
  egnn::EgnnWeights to_weights() const;  // narrowed to float32 for the inference path
};

struct NllOptions {
  int steps = 10;  // RK4 steps over t in [0, 1] (4 evaluations each)
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
};

// Edges (particle pairs x samples) per pass when NllOptions::chunk is 0.
constexpr int kChunkEdges = 128;

struct NllResult {
  double loss = 0;               // mean over the batch of -log p(x) (Hutchinson estimate), nats
  double regulariser = 0;        // the regularisers' value; grads are those of loss + regulariser
  Eigen::VectorXd log_p;         // per sample
  std::vector<Mat> grads;        // d loss / d params, same order as EgnnParams::values; empty if not asked
};

// x: (B, N*D) centred samples, probes: (B, N*D) Hutchinson probes held fixed during the solve.
// With want_grad, also the exact gradient of loss + regulariser (discretised, probe-conditioned).
NllResult particle_nll(const EgnnParams& p, int n_particles, int dim, const Mat& x, const Mat& probes,
                       const NllOptions& options, bool want_grad);

// Velocity v(t, x) and J v eps for a batch, in double, for the cross-checks against the float32
// path. x, eps: (B, N*D). Returns (v, J eps) as (B, N*D) each.
std::pair<Mat, Mat> particle_velocity(const EgnnParams& p, int n_particles, int dim, double t, const Mat& x,
                                      const Mat& eps);

}  // namespace enf::train
