// The E-NF vector field: an EGNN applied to a flat ODE state of N atoms, each [x (D), h (F)],
// conditioned on time. Returns the mean-free position velocity and the feature velocity, and
// the divergence terms the change of variables needs (exact trace or Hutchinson probes).
#pragma once
#include <Eigen/Dense>
#include <functional>

#include "egnn/egnn.hpp"

namespace enf::flow {

using StateVector = Eigen::VectorXd;

class EgnnDynamics {
 public:
  // features: F per-atom feature numbers in the state (6 for QM9, 0 for particle systems).
  // With condition_time, t is appended to the network's node input; the network's
  // in_features must equal F (+1 with time) and out_features must be >= F.
  EgnnDynamics(egnn::Egnn net, int dim, int features, bool condition_time);

  int dim() const { return dim_; }
  int features() const { return features_; }
  int stride() const { return dim_ + features_; }
  const egnn::Egnn& network() const { return net_; }

  // phi(t, s) for a state of N * stride() numbers.
  void velocity(double t, const StateVector& s, StateVector& ds) const;

  // phi and, for each column v_k of `probes` (N*stride x K), the quadratic form v_k^T J v_k
  // (Hutchinson's estimator of tr J with one probe). Many probes go in chunks; `between_chunks`
  // runs between them and may throw to stop.
  void velocity_with_probes(double t, const StateVector& s, const Eigen::MatrixXd& probes, StateVector& ds,
                            Eigen::VectorXd& quad, const std::function<void()>& between_chunks = {}) const;

  // phi and the exact trace of J = d phi / d s over all N*stride diagonal entries, carrying the
  // basis tangents through the network in chunks (one batched JVP per chunk). `between_chunks`
  // runs before each chunk (a few ms of work apart) and may throw to stop: one evaluation of a
  // large molecule takes long enough that cancellation cannot wait for the solver's next step.
  double velocity_with_exact_trace(double t, const StateVector& s, StateVector& ds,
                                   const std::function<void()>& between_chunks = {}) const;

  // J V for a block of tangents V (N*stride x T) at (t, s): the shared tangent pass.
  Eigen::MatrixXd jacobian_times(double t, const StateVector& s, const Eigen::MatrixXd& V) const;

 private:
  void forward(double t, const StateVector& s, StateVector& ds, egnn::ForwardCache* cache) const;
  Eigen::MatrixXd tangent(const egnn::ForwardCache& cache, const Eigen::MatrixXd& V) const;

  egnn::Egnn net_;
  int dim_, features_;
  bool condition_time_;
};

}  // namespace enf::flow
