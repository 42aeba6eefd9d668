// The dynamics phi(t, s) of a continuous normalizing flow, as the CNF, the trace estimators, the
// samplers and the models see it: a state of N particles, each `dim` position numbers then
// `features` feature numbers, and two operations, an evaluation that keeps what its Jacobian
// needs (linearize) and Jacobian-vector products there (tangent). The divergence estimators
// below are written once on top of them, so another field (a non-equivariant graph network,
// Köhler et al.'s dynamics) plugs in by implementing three functions.
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <memory>
#include <vector>

namespace enf::flow {

using StateVector = Eigen::VectorXd;

// What one field's linearize keeps for its tangent passes (each field defines its own).
struct Linearization {
  virtual ~Linearization() = default;
};

// Which part of an exact trace one call computes, and on how many threads (see
// VelocityField::velocity_with_exact_trace).
struct ExactTraceSplit {
  int part = 0, parts = 1;
  int threads = 1;
};

class VelocityField {
 public:
  virtual ~VelocityField() = default;

  virtual int dim() const = 0;       // position numbers per particle
  virtual int features() const = 0;  // feature numbers per particle
  int stride() const { return dim() + features(); }

  // phi(t, s) for a state of N * stride() numbers.
  virtual void velocity(double t, const StateVector& s, StateVector& ds) const = 0;
  // ds[k] = phi(t[k], *s[k]) for several states of the same size: one network evaluation over
  // all of them where the field can batch (ode::integrate_batch's right-hand side); by default
  // one velocity() after another.
  virtual void velocity_batch(const std::vector<double>& t, const std::vector<const StateVector*>& s,
                              std::vector<StateVector>& ds) const;
  // A fresh linearization this field can fill (buffers that keep their capacity between uses).
  virtual std::unique_ptr<Linearization> new_linearization() const = 0;
  // Whether `lin` came from new_linearization() of a field like this one.
  virtual bool accepts(const Linearization& lin) const = 0;
  // phi(t, s), keeping in `lin` what tangent() needs at (t, s).
  virtual void linearize(double t, const StateVector& s, StateVector& ds, Linearization& lin) const = 0;
  // J V for a block of tangents V (N*stride x T) at the linearized point.
  virtual Eigen::MatrixXd tangent(const Linearization& lin, const Eigen::MatrixXd& V) const = 0;
  // How many tangents one tangent() call should carry at a state of n numbers (a memory bound:
  // wider blocks are faster until their buffers leave the cache).
  virtual int tangent_width(int n) const = 0;

  // ---- built on the above, for every field

  // J V at (t, s).
  Eigen::MatrixXd jacobian_times(double t, const StateVector& s, const Eigen::MatrixXd& V) const;

  // phi and, for each column v_k of `probes` (N*stride x K), the quadratic form v_k^T J v_k
  // (Hutchinson's estimator of tr J with one probe). Many probes go in chunks; `between_chunks`
  // runs between them and may throw to stop.
  void velocity_with_probes(double t, const StateVector& s, const Eigen::MatrixXd& probes, StateVector& ds,
                            Eigen::VectorXd& quad, const std::function<void()>& between_chunks = {}) const;

  // phi and the exact trace of J = d phi / d s over all N*stride diagonal entries, carrying the
  // basis tangents through in chunks. `between_chunks` runs before each chunk (a few ms of work
  // apart) and may throw to stop: one evaluation of a large molecule takes long enough that
  // cancellation cannot wait for the solver's next step.
  double velocity_with_exact_trace(double t, const StateVector& s, StateVector& ds,
                                   const std::function<void()>& between_chunks = {}) const {
    return velocity_with_exact_trace(t, s, ds, ExactTraceSplit{}, between_chunks);
  }
  // The same over one block of the diagonal: the columns are cut into chunks as for the whole
  // trace and part split.part of split.parts takes a contiguous run of them, so every diagonal
  // entry is computed exactly as the unsplit call computes it. The chunks run on split.threads
  // threads (native builds; 1 in WebAssembly). Returns the block's entries summed in column order
  // (for one part: the trace, the same for any thread count); `block`, when given, receives the
  // entries themselves and `begin` the block's first column.
  double velocity_with_exact_trace(double t, const StateVector& s, StateVector& ds, const ExactTraceSplit& split,
                                   const std::function<void()>& between_chunks = {},
                                   std::vector<double>* block = nullptr, int* begin = nullptr) const;

 private:
  // This thread's linearization for this kind of field, reused between calls.
  Linearization& scratch() const;
};

}  // namespace enf::flow
