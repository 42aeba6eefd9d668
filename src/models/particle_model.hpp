// The E-NF for small particle systems (DW4, LJ13; the paper's section 5.1): an EGNN velocity
// field on N particles in D dimensions whose only node input is time, a zero-centre-of-mass
// Gaussian prior on the (N-1) D dimensional subspace, sampling (t: 1 -> 0) and exact or
// Hutchinson log-likelihoods (t: 0 -> 1). It runs on the float32 inference path shared with the
// QM9 model (flow::EgnnDynamics, flow::integrate_forward / integrate_reverse, flow::log_prior);
// src/train/ trains its weights.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "egnn/egnn.hpp"
#include "flow/cnf.hpp"
#include "flow/dynamics.hpp"
#include "flow/latent_transform.hpp"
#include "ode/ode.hpp"

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
  // The paper's network: 3 layers, 32 features, attention, tanh head with coords_range 15 (5 per
  // layer), edge attribute = squared distance, node input = time.
  static egnn::EgnnConfig default_config();

  // system: a name ("dw4", "lj13" or a user's); throws InvalidInput / WeightsError when the
  // sizes or the network configuration do not fit (node input must be time alone).
  ParticleModel(std::string system, int n_particles, int dim, egnn::EgnnWeights weights);

  static ParticleModel load(const SafeTensors& file);
  // safetensors bytes: tensors under "dynamics.egnn." named as the reference EGNN, the
  // configuration in __metadata__ ("model": "particle_enf", "config": JSON), a sha256 of the data,
  // plus `extra_metadata` (training settings, measured NLL, ...).
  std::vector<uint8_t> to_safetensors(const std::map<std::string, std::string>& extra_metadata = {}) const;

  const std::string& system() const { return system_; }
  int n_particles() const { return n_; }
  int dim() const { return dim_; }
  const flow::EgnnDynamics& dynamics() const { return *dynamics_; }
  const egnn::EgnnWeights& weights() const { return dynamics_->network().weights(); }

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

 private:
  std::string system_;
  int n_ = 0, dim_ = 0;
  std::shared_ptr<const flow::EgnnDynamics> dynamics_;
};

}  // namespace enf
