// The authors' pretrained QM9 E-NF: p(M), the argmax + variational dequantizer, ActNorm and the
// EGNN ODE flow, exactly as ../shared/docs/MODEL_SPEC.md fixes them.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chem/molecule.hpp"
#include "egnn/egnn.hpp"
#include "flow/cnf.hpp"
#include "flow/dynamics.hpp"
#include "flow/latent_transform.hpp"
#include "ode/ode.hpp"

namespace enf {

class SafeTensors;
class Rng;

// The authors' checkpoint's layout. A weights file's config may name another element set
// ("atom_types"); the model reads its layout from there (Qm9Model::n_types, features, stride).
constexpr int kQm9Types = 5;      // H, C, N, O, F
constexpr int kQm9Features = 6;   // one-hot (5) + atomic number (1)
constexpr int kQm9Stride = 9;     // x (3) + features (6) per atom
// The most atoms a QM9 model handles: QM9's largest molecules have 29 atoms, p(M) has no mass
// beyond, and the network's cost grows as M^2 per evaluation (M^3 for an exact trace). A weights
// file may lower it ("max_atoms" in its config), never raise it.
constexpr int kQm9MaxAtoms = 29;

struct SampleOptions {
  int atoms = 0;        // 0: draw the atom count from p(M)
  uint64_t seed = 0;
  ode::Options solver;  // dopri5, rtol = atol = 1e-4 as the authors sampled
  // Optional orthogonal 3x3 matrix and atom permutation applied to the latent drawn for `seed`:
  // by equivariance the result is the same molecule, rotated (or reflected) and relabelled.
  flow::LatentTransform latent;
};

struct SampledMolecule {
  chem::Molecule molecule;      // argmax types, positions in Å (centred)
  std::vector<int> charges;     // floor of the integer feature (atomic numbers when consistent)
  std::vector<double> state;    // data-space ODE state, M x 9: x, 5 categorical, 1 integer feature
  ode::Stats stats;
};

// One frame of the sampling trajectory, mapped to data space (inverse ActNorm).
struct TrajectoryFrame {
  int index = 0;
  double t = 0;                  // flow time: 1 = noise, 0 = molecule
  std::vector<int> types;        // argmax of the categorical features at this time
  std::vector<double> positions; // M x 3, Å
};
using FrameCallback = std::function<void(const TrajectoryFrame&)>;

struct LikelihoodOptions {
  flow::Trace trace = flow::Trace::Hutchinson;
  int probes = 1;       // Hutchinson probes per solve
  int samples = 1;      // dequantization samples; > 1 gives the importance-weighted bound
  uint64_t seed = 0;
  ode::Options solver;
  // Progress in [0, 1] after each accepted ODE step; may throw to cancel.
  std::function<void(double)> on_progress;
  // Called often during the solve (every evaluation; between chunks of an exact trace, tens of ms
  // apart at most); may throw to cancel sooner than on_progress can.
  std::function<void()> interrupt;
  // Exact trace: integrate one block of the diagonal (split.part of split.parts; the parts'
  // delta_logp terms sum to the whole, ActNorm's share in part 0) on split.threads threads.
  flow::ExactTraceSplit split;
  // Step control on the state alone (required by a split into parts; see flow::TraceOptions).
  bool state_step_control = false;
  // Sums this part's trace with the other parts' (see flow::TraceOptions::combine); every part then
  // returns the whole result.
  std::function<double(const std::vector<double>& block, int begin, int n)> combine_trace;
};

struct LikelihoodTerms {
  double log_pz = 0;      // prior density of the latent (nats)
  double delta_logp = 0;  // ActNorm + ODE log-determinant (nats)
  double log_q = 0;       // dequantizer density of the lifted features (nats)
  double log_pM = 0;      // log p(M) (nats)
};

struct LikelihoodResult {
  double log_likelihood = 0;  // log p(x, h, M) lower bound, nats
  double per_atom = 0;        // log_likelihood / M, nats per atom
  double stderr_ = 0;         // standard error (nats); NaN when one stochastic sample cannot estimate it
  bool stochastic = false;    // Hutchinson or random dequantization made the figure random
  LikelihoodTerms terms;      // averaged over samples
  std::vector<double> per_sample;  // the ELBO of each dequantization sample
  int nfe = 0;
  int atoms = 0;
};

// Lifted continuous features and their dequantizer log-density.
struct Lifted {
  Eigen::MatrixXd h;  // (M, 6) categorical (5) then integer (1)
  double log_q = 0;
};

struct FlowToLatent {
  flow::StateVector z;             // M x 9 at t = 1
  double delta_logp = 0;           // ActNorm + ODE, averaged over probes
  std::vector<double> delta_logp_per_probe;
  ode::Stats stats;
};

class Qm9Model {
 public:
  // The metadata "config" (JSON) gives p(M) ("n_atoms_histogram") and may give "max_atoms" and
  // the two networks' "n_layers" and "hidden" (defaults: the authors' 6 x 64 flow, 4 x 64
  // dequantizer); any other architecture field it names must match the QM9 E-NF. WeightsError
  // names what does not fit.
  static Qm9Model load(const SafeTensors& file);
  static Qm9Model load_file(const std::string& path);

  int max_atoms() const { return max_atoms_; }
  // The element set (chem types, in the model's categorical order) and the state layout per atom:
  // positions (3), one-hot over the elements, the integer feature.
  const std::vector<int>& elements() const { return elements_; }
  int n_types() const { return n_types_; }
  int features() const { return features_; }
  int stride() const { return stride_; }
  double log_p_atoms(int atoms) const;  // -inf outside the support
  int draw_atoms(Rng& rng) const;
  const std::vector<double>& atom_count_probabilities() const { return p_atoms_; }

  // Throws InvalidInput naming the problem (sizes, atom count, types, non-finite coordinates).
  void validate(const chem::Molecule& m) const;

  // Building blocks, also used by `verify` and the tests.
  flow::StateVector velocity(double t, const flow::StateVector& state) const;  // phi, state M x 9
  Eigen::MatrixXd dequantizer_output(const Eigen::MatrixXd& x_centered, const std::vector<int>& types) const;  // M x 12
  Lifted lift(const Eigen::MatrixXd& x_centered, const std::vector<int>& types, const Eigen::MatrixXd& eps) const;
  FlowToLatent to_latent(const Eigen::MatrixXd& x_centered, const Eigen::MatrixXd& h_lifted, const ode::Options& solver,
                         const flow::TraceOptions& trace) const;
  // Latent z (M x 9, positions mean-free) to the data-space state; frames at `times` (1 -> 0).
  flow::StateVector from_latent(const flow::StateVector& z, const ode::Options& solver, ode::Stats* stats = nullptr,
                                const std::vector<double>& times = {}, const FrameCallback& on_frame = {}) const;
  flow::StateVector draw_latent(int atoms, Rng& rng) const;
  SampledMolecule decode(const flow::StateVector& data_state) const;

  SampledMolecule sample(const SampleOptions& options) const;
  // The same solve as sample(), read out at `frames` equally spaced times from t = 1 to t = 0;
  // each frame reaches `on_frame` as the solver passes it. The last frame is the sample.
  SampledMolecule sample_trajectory(const SampleOptions& options, int frames, const FrameCallback& on_frame) const;
  LikelihoodResult log_likelihood(const chem::Molecule& molecule, const LikelihoodOptions& options) const;

  const flow::EgnnDynamics& dynamics() const { return *dynamics_; }

 private:
  Qm9Model() = default;
  std::shared_ptr<const flow::EgnnDynamics> dynamics_;
  std::shared_ptr<const egnn::Egnn> dequantizer_;
  double x_log_s_ = 0;
  Eigen::VectorXd h_t_, h_log_s_;  // (6)
  std::vector<double> p_atoms_;    // index = atom count
  int max_atoms_ = kQm9MaxAtoms;
  std::vector<int> elements_;      // chem types, the categorical order
  int n_types_ = kQm9Types, features_ = kQm9Features, stride_ = kQm9Stride;
  int index_of(int type) const;    // the categorical index of a chem type; InvalidInput if unknown
  flow::StateVector to_data_space(const flow::StateVector& latent_state) const;  // inverse ActNorm
};

}  // namespace enf
