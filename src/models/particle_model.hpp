// A continuous normalizing flow for small particle systems (DW4, LJ13; the paper's section 5.1):
// a time-conditioned velocity field on N particles in D dimensions (fields/: the E-NF's EGNN or
// another registered kind), a zero-centre-of-mass Gaussian prior on the (N-1) D dimensional
// subspace, sampling (t: 1 -> 0) and exact or Hutchinson log-likelihoods (t: 0 -> 1), on the
// float32 inference path shared with the QM9 model (flow::integrate_forward / integrate_reverse,
// flow::log_prior); src/train/ trains its parameters.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fields/field.hpp"
#include "flow/cnf.hpp"
#include "flow/latent_transform.hpp"
#include "ode/ode.hpp"
#include "tensor/random.hpp"

namespace enf {

class SafeTensors;

struct ParticleLikelihood {
  double log_likelihood = 0;  // log p(x) on the centre-of-mass-free subspace, nats
  double log_pz = 0;
  double delta_logp = 0;
  int nfe = 0;
};

class ParticleModel {
 public:
  // system: a name ("dw4", "lj13" or a user's); throws InvalidInput when the sizes do not fit.
  // method: the Table 1 row that trained the field (fields/methods.hpp; empty: the field's
  // natural one); n_train: the training-set size (0: not known).
  ParticleModel(std::string system, int n_particles, int dim, fields::FieldParams params, std::string method = "",
                int n_train = 0);

  static ParticleModel load(const SafeTensors& file);
  // safetensors bytes: the field's tensors (the E-NF's under "dynamics.egnn.", named as the
  // reference EGNN), the configuration in __metadata__ ("model": "particle_enf", "config": JSON
  // with system, n_particles, dim, field and the field's settings; "method", "system" and, when
  // known, "n_train" as entries of their own), a sha256 of the data, plus `extra_metadata`
  // (training settings, measured NLL, ...).
  std::vector<uint8_t> to_safetensors(const std::map<std::string, std::string>& extra_metadata = {}) const;

  const std::string& system() const { return system_; }
  int n_particles() const { return n_; }
  int dim() const { return dim_; }
  const flow::VelocityField& dynamics() const { return *dynamics_; }
  const fields::FieldParams& params() const { return params_; }
  const std::string& method() const { return method_; }
  int n_train() const { return n_train_; }

  // log p(x) for one configuration of n_particles * dim numbers (particle-major); x is centred
  // first (the density lives on the centre-of-mass-free subspace). Throws InvalidInput on a wrong
  // size or non-finite input.
  ParticleLikelihood log_likelihood(const Eigen::VectorXd& x, const ode::Options& solver,
                                    const flow::TraceOptions& trace) const;
  // Mean negative log-likelihood over the rows of `samples` (nats).
  double mean_nll(const Eigen::MatrixXd& samples, const ode::Options& solver, const flow::TraceOptions& trace) const;

  // `count` samples (rows), each from the zero-CoM Gaussian latent drawn with Rng(seed) in order;
  // `latent` (a dim x dim orthogonal matrix and/or a particle permutation) transforms each latent.
  Eigen::MatrixXd sample(int count, uint64_t seed, const ode::Options& solver,
                         const flow::LatentTransform& latent = {}) const;
  // `count` samples (rows), sample k from its own latent drawn with Rng(seed + k) (row k equals
  // sample(1, seed + k, ...): bit for bit in wasm, within float rounding natively), integrated up to `batch` at a time through
  // one network evaluation (ode::integrate_batch: each sample keeps its own steps). on_progress
  // gets the fraction done after every batched evaluation and may throw to stop.
  // batch 0: default_batch().
  Eigen::MatrixXd sample_each(int count, uint64_t seed, const ode::Options& solver,
                              const flow::LatentTransform& latent = {}, int batch = 0,
                              const std::function<void(double fraction)>& on_progress = {}) const;
  // Samples per batched evaluation: about 512 edge columns (42 for DW4, 3 for LJ13), at most 64.
  // bench/particle-sample.mjs, wasm: DW4 1.26x faster than one at a time from 16 to 64, flat
  // beyond; LJ13 (156 edges a graph, already wide) 1.03x at 2 to 4 and slower past 8 (the
  // buffers leave the cache).
  int default_batch() const;

 private:
  // A zero-centre-of-mass Gaussian latent from rng, transformed by `latent`.
  flow::StateVector draw_latent(Rng& rng, const flow::LatentTransform& latent) const;

  std::string system_;
  int n_ = 0, dim_ = 0;
  fields::FieldParams params_;
  std::string method_;
  int n_train_ = 0;
  std::shared_ptr<const flow::VelocityField> dynamics_;
};

}  // namespace enf
