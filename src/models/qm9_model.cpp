#include "models/qm9_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "chem/elements.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"
#include "models/json.hpp"
#include "models/registry.hpp"
#include "models/safetensors.hpp"
#include "nn/activations.hpp"
#include "tensor/random.hpp"

namespace enf {

namespace {

constexpr double kLog2Pi = 1.8378770664093453;

// What a weights file configures; everything else about the architecture is fixed.
struct ModelConfig {
  int flow_layers = 6, flow_hidden = 64;
  int dequantizer_layers = 4, dequantizer_hidden = 64;
  int max_atoms = kQm9MaxAtoms;
  std::vector<int> elements{0, 1, 2, 3, 4};  // chem types in the model's categorical order: H, C, N, O, F
  std::vector<double> p_atoms;  // index = atom count, normalised
  // Per atom: one-hot over the elements, then the integer feature (the atomic number).
  int features() const { return static_cast<int>(elements.size()) + 1; }
};

egnn::EgnnConfig flow_config(const ModelConfig& c) {
  return egnn::EgnnConfig{c.flow_layers, c.flow_hidden, c.features() + 1, c.features() + 1, true, true, 15.0, true};
}

egnn::EgnnConfig dequantizer_config(const ModelConfig& c) {
  return egnn::EgnnConfig{c.dequantizer_layers, c.dequantizer_hidden, c.features(), 2 * c.features(),
                          false, false, 15.0, false};
}

[[noreturn]] void config_error(const std::string& what) {
  throw WeightsError("weights metadata 'config': " + what + "; this is not a QM9 E-NF weights file");
}

// An optional integer setting in [lo, hi].
int config_int(const json::Value& obj, const char* key, int fallback, int lo, int hi, const std::string& where) {
  if (!obj.has(key)) return fallback;
  const json::Value& v = obj.at(key);
  const double x = v.is_number() ? v.as_number() : -1.0;
  if (!(x >= lo && x <= hi) || x != std::floor(x))
    config_error(where + key + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

// Architecture fields the converter records: when present they must describe this model.
void check_fixed(const json::Value& obj, const std::string& where, const char* fixed_json) {
  const json::Value fixed = json::parse(fixed_json);  // named: the loop must not outlive it
  for (const auto& [key, want] : fixed.as_object())
    if (obj.has(key) && !(obj.at(key) == want))
      config_error(where + key + " is " + json::dump(obj.at(key)) + ", this model has " + json::dump(want));
}

// A histogram key: the decimal digits of an atom count (std::stoi would accept "5x" and throw
// std::out_of_range for long numbers).
int atom_count_key(const std::string& key, int max_atoms) {
  int m = 0;
  for (char c : key) {
    if (c < '0' || c > '9' || m > max_atoms) return -1;
    m = 10 * m + (c - '0');
  }
  return key.empty() ? -1 : m;
}

// The element set: "atom_types" (symbols, the model's categorical order) with "atomic_numbers"
// to match when given; QM9's H, C, N, O, F when absent. The chemistry tables (chem/elements)
// must know each element.
std::vector<int> read_elements(const json::Value& config) {
  if (!config.has("atom_types")) return {0, 1, 2, 3, 4};
  std::vector<int> types;
  for (const json::Value& v : config.at("atom_types").as_array()) {
    if (!v.is_string()) config_error("atom_types must list element symbols");
    try {
      types.push_back(chem::type_from_symbol(v.as_string()));
    } catch (const InvalidInput& e) {
      config_error(std::string("atom_types: ") + e.what());
    }
  }
  if (types.empty() || types.size() > 16) config_error("atom_types must list 1 to 16 elements");
  for (size_t a = 0; a < types.size(); ++a)
    for (size_t b = a + 1; b < types.size(); ++b)
      if (types[a] == types[b]) config_error("atom_types lists an element twice");
  if (config.has("atomic_numbers")) {
    const auto& z = config.at("atomic_numbers").as_array();
    if (z.size() != types.size()) config_error("atomic_numbers must match atom_types one to one");
    for (size_t k = 0; k < z.size(); ++k)
      if (!z[k].is_number() || z[k].as_number() != chem::element(types[k]).atomic_number)
        config_error("atomic_numbers must match atom_types one to one");
  }
  return types;
}

// The histogram of training-set atom counts and the architecture travel in the weights' metadata.
ModelConfig read_config(const SafeTensors& file) {
  const auto& meta = file.metadata();
  auto it = meta.find("config");
  if (it == meta.end()) throw WeightsError("weights metadata has no 'config' entry; convert the checkpoint again");
  ModelConfig c;
  try {
    const json::Value config = json::parse(it->second);
    if (!config.is_object()) config_error("not a JSON object");
    c.max_atoms = config_int(config, "max_atoms", kQm9MaxAtoms, 1, kQm9MaxAtoms, "");
    c.elements = read_elements(config);
    // Each network's size may be configured; its architecture and input/output widths are fixed.
    const auto network = [&](const char* key, int& layers, int& hidden, const std::string& fixed, int in, int out) {
      if (!config.has(key)) return;
      const json::Value& n = config.at(key);
      const std::string where = std::string(key) + ".";
      if (!n.is_object()) config_error(std::string(key) + " is not an object");
      layers = config_int(n, "n_layers", layers, 1, 32, where);
      hidden = config_int(n, "hidden", hidden, 1, 1024, where);
      check_fixed(n, where, fixed.c_str());
      check_fixed(n, where, ("{\"in_features\": " + std::to_string(in) + ", \"out_features\": " + std::to_string(out) + "}").c_str());
    };
    network("flow", c.flow_layers, c.flow_hidden,
            R"({"attention": true, "tanh": true, "coords_range": 15, "edge_attr": true, "aggregation": "sum",
                "condition_time": true, "actnorm": true})",
            c.features() + 1, c.features() + 1);  // the features and time
    network("dequantizer", c.dequantizer_layers, c.dequantizer_hidden,
            R"({"kind": "argmax_variational", "attention": false, "tanh": false, "edge_attr": false})", c.features(),
            2 * c.features());
    c.p_atoms.assign(c.max_atoms + 1, 0.0);
    double total = 0;
    for (const auto& [key, value] : config.at("n_atoms_histogram").as_object()) {
      const int m = atom_count_key(key, c.max_atoms);
      const double count = value.as_number();
      if (m < 1 || m > c.max_atoms || !(count >= 0))
        throw WeightsError("weights metadata: atom-count histogram entry '" + key + "' is out of range (1.." +
                           std::to_string(c.max_atoms) + " atoms, counts >= 0)");
      c.p_atoms[m] = count;
      total += count;
    }
    if (!(total > 0) || !std::isfinite(total))
      throw WeightsError("weights metadata: the atom-count histogram is empty or its total is not finite");
    for (double& v : c.p_atoms) v /= total;
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("weights metadata 'config' is malformed: ") + e.what());
  }
  return c;
}

// The building blocks take matrices from callers (verify reads them from JSON): check the shapes
// before any indexing, since Eigen does not in release builds.
void check_atoms_matrix(const Eigen::MatrixXd& a, Eigen::Index atoms, Eigen::Index cols, const char* what) {
  if (a.rows() != atoms || a.cols() != cols)
    throw InvalidInput(std::string(what) + " is " + std::to_string(a.rows()) + " x " + std::to_string(a.cols()) +
                       "; expected " + std::to_string(atoms) + " x " + std::to_string(cols) + " (one row per atom)");
  if (!a.allFinite()) throw InvalidInput(std::string(what) + " contains NaN or Inf");
}

Eigen::MatrixXd centred(const Eigen::MatrixXd& x) {
  Eigen::RowVectorXd mean = x.colwise().mean();
  return x.rowwise() - mean;
}

}  // namespace

Qm9Model Qm9Model::load(const SafeTensors& f) {
  expect_family(f, ModelFamily::Molecule);
  const ModelConfig config = read_config(f);
  Qm9Model m;
  const std::string flow_prefix = "transformations.1.odefunc.dynamics.egnn.";
  m.elements_ = config.elements;
  m.n_types_ = static_cast<int>(config.elements.size());
  m.features_ = config.features();
  m.stride_ = 3 + m.features_;
  m.dynamics_ = std::make_shared<flow::EgnnDynamics>(
      egnn::Egnn(egnn::EgnnWeights::load(f, flow_prefix, flow_config(config))), 3, m.features_, true);
  m.dequantizer_ =
      std::make_shared<egnn::Egnn>(egnn::EgnnWeights::load(f, "net_fn.egnn.", dequantizer_config(config)));
  m.x_log_s_ = f.floats("transformations.0.x_log_s", {1, 1})[0];
  auto h_t = f.floats("transformations.0.h_t", {1, m.features_});
  auto h_log_s = f.floats("transformations.0.h_log_s", {1, m.features_});
  m.h_t_ = Eigen::Map<Eigen::VectorXf>(h_t.data(), m.features_).cast<double>();
  m.h_log_s_ = Eigen::Map<Eigen::VectorXf>(h_log_s.data(), m.features_).cast<double>();
  if (!std::isfinite(m.x_log_s_) || !m.h_t_.allFinite() || !m.h_log_s_.allFinite())
    throw WeightsError("weights file corrupt: the ActNorm parameters (transformations.0.*) are not finite");
  m.max_atoms_ = config.max_atoms;
  m.p_atoms_ = config.p_atoms;
  return m;
}

Qm9Model Qm9Model::load_file(const std::string& path) { return load(SafeTensors::load_file(path)); }

double Qm9Model::log_p_atoms(int atoms) const {
  if (atoms < 0 || atoms > max_atoms_ || p_atoms_[atoms] <= 0) return -std::numeric_limits<double>::infinity();
  return std::log(p_atoms_[atoms]);
}

int Qm9Model::draw_atoms(Rng& rng) const {
  double u = rng.uniform(), acc = 0;
  int last = 0;
  for (int m = 0; m <= max_atoms_; ++m) {
    if (p_atoms_[m] <= 0) continue;
    acc += p_atoms_[m];
    last = m;
    if (u < acc) return m;
  }
  return last;
}

void Qm9Model::validate(const chem::Molecule& m) const {
  chem::validate(m, max_atoms_);
  for (int t : m.types) index_of(t);  // an element this model knows
}

int Qm9Model::index_of(int type) const {
  for (int k = 0; k < n_types_; ++k)
    if (elements_[k] == type) return k;
  std::string known;
  for (int e : elements_) known += (known.empty() ? "" : ", ") + std::string(chem::element(e).symbol);
  if (type < 0 || type >= chem::kNumTypes) throw InvalidInput("atom type " + std::to_string(type) + " is not an element");
  throw InvalidInput(std::string("element ") + chem::element(type).symbol + " is not one this model knows (" + known + ")");
}

flow::StateVector Qm9Model::velocity(double t, const flow::StateVector& state) const {
  if (state.size() == 0 || state.size() % stride_ || state.size() / stride_ > max_atoms_)
    throw InvalidInput("an ODE state holds M x 9 numbers with 1 <= M <= " + std::to_string(max_atoms_));
  flow::StateVector ds;
  dynamics_->velocity(t, state, ds);
  return ds;
}

Eigen::MatrixXd Qm9Model::dequantizer_output(const Eigen::MatrixXd& x, const std::vector<int>& types) const {
  const int M = static_cast<int>(types.size());
  if (M < 1 || M > max_atoms_)
    throw InvalidInput("the molecule has " + std::to_string(M) + " atoms; this model allows 1 to " +
                       std::to_string(max_atoms_));
  check_atoms_matrix(x, M, 3, "the positions matrix");
  egnn::MatrixF xf = x.transpose().cast<float>();
  egnn::MatrixF h = egnn::MatrixF::Zero(features_, M);
  for (int i = 0; i < M; ++i) {
    h(index_of(types[i]), i) = 1.0f;
    h(n_types_, i) = static_cast<float>(chem::element(types[i]).atomic_number);
  }
  return dequantizer_->forward(xf, h).h.transpose().cast<double>();
}

Lifted Qm9Model::lift(const Eigen::MatrixXd& x, const std::vector<int>& types, const Eigen::MatrixXd& eps) const {
  const int M = static_cast<int>(x.rows());
  const Eigen::MatrixXd out = dequantizer_output(x, types);  // checks x and types
  check_atoms_matrix(eps, M, features_, "the dequantization noise");
  Lifted L;
  L.h.resize(M, features_);
  double log_q = 0;
  std::vector<double> u(features_);
  for (int i = 0; i < M; ++i) {
    for (int f = 0; f < features_; ++f) {
      const double mu = out(i, f), log_sigma = out(i, features_ + f);
      u[f] = mu + std::exp(log_sigma) * eps(i, f);
      log_q += -0.5 * eps(i, f) * eps(i, f) - 0.5 * kLog2Pi - log_sigma;
    }
    // Argmax dequantization: the true type's number T = u_k is the largest by construction.
    const int k = index_of(types[i]);
    const double T = u[k];
    for (int j = 0; j < n_types_; ++j) {
      if (j == k) {
        L.h(i, j) = T;
      } else {
        L.h(i, j) = T - nn::softplus(T - u[j]);
        log_q -= nn::log_sigmoid(T - u[j]);
      }
    }
    // Integer feature: charge + sigmoid(u) lies in (charge, charge + 1).
    const double v = u[n_types_];
    L.h(i, n_types_) = chem::element(types[i]).atomic_number + nn::sigmoid(v);
    log_q -= nn::log_sigmoid(v) + nn::log_sigmoid(-v);
  }
  L.log_q = log_q;
  return L;
}

FlowToLatent Qm9Model::to_latent(const Eigen::MatrixXd& x, const Eigen::MatrixXd& h, const ode::Options& solver,
                                 const flow::TraceOptions& trace) const {
  const int M = static_cast<int>(x.rows());
  if (M < 1 || M > max_atoms_)
    throw InvalidInput("the molecule has " + std::to_string(M) + " atoms; this model allows 1 to " +
                       std::to_string(max_atoms_));
  check_atoms_matrix(x, M, 3, "the positions matrix");
  check_atoms_matrix(h, M, features_, "the lifted features");
  flow::StateVector s(M * stride_);
  const double sx = std::exp(-x_log_s_);
  for (int i = 0; i < M; ++i) {
    for (int d = 0; d < 3; ++d) s(i * stride_ + d) = x(i, d) * sx;
    for (int f = 0; f < features_; ++f)
      s(i * stride_ + 3 + f) = (h(i, f) - h_t_(f)) * std::exp(-h_log_s_(f));
  }
  // ActNorm's log-determinant as the reference computes it (3M for positions; see MODEL_SPEC).
  // A part of a split exact trace integrated alone (no combine) leaves it to part 0.
  const bool alone = trace.split.parts > 1 && !trace.combine;
  const double actnorm_logdet = !alone || trace.split.part == 0 ? -M * h_log_s_.sum() - 3.0 * M * x_log_s_ : 0.0;
  flow::ForwardSolve solve = flow::integrate_forward(*dynamics_, s, solver, trace);
  FlowToLatent out;
  out.z = solve.z;
  out.stats = solve.stats;
  for (double d : solve.delta_logp) out.delta_logp_per_probe.push_back(d + actnorm_logdet);
  out.delta_logp = std::accumulate(out.delta_logp_per_probe.begin(), out.delta_logp_per_probe.end(), 0.0) /
                   static_cast<double>(out.delta_logp_per_probe.size());
  return out;
}

flow::StateVector Qm9Model::to_data_space(const flow::StateVector& z) const {
  const int M = static_cast<int>(z.size() / stride_);
  flow::StateVector s(z.size());
  const double sx = std::exp(x_log_s_);
  for (int i = 0; i < M; ++i) {
    for (int d = 0; d < 3; ++d) s(i * stride_ + d) = z(i * stride_ + d) * sx;
    for (int f = 0; f < features_; ++f)
      s(i * stride_ + 3 + f) = z(i * stride_ + 3 + f) * std::exp(h_log_s_(f)) + h_t_(f);
  }
  return s;
}

flow::StateVector Qm9Model::from_latent(const flow::StateVector& z, const ode::Options& solver, ode::Stats* stats,
                                        const std::vector<double>& times, const FrameCallback& on_frame) const {
  if (z.size() == 0 || z.size() % stride_ || z.size() / stride_ > max_atoms_)
    throw InvalidInput("a latent holds M x 9 numbers with 1 <= M <= " + std::to_string(max_atoms_));
  if (!z.allFinite()) throw InvalidInput("the latent contains NaN or Inf");
  flow::StateVector s = z;
  ode::OutputCallback cb;
  if (on_frame)
    cb = [&](int index, double t, const flow::StateVector& y) {
      const SampledMolecule d = decode(to_data_space(y));
      on_frame(TrajectoryFrame{index, t, d.molecule.types, d.molecule.positions});
    };
  ode::Stats st = flow::integrate_reverse(*dynamics_, s, solver, times, cb);
  if (stats) *stats = st;
  return to_data_space(s);
}

flow::StateVector Qm9Model::draw_latent(int atoms, Rng& rng) const {
  if (atoms < 1 || atoms > max_atoms_ || p_atoms_[atoms] <= 0)
    throw InvalidInput("this model samples molecules of " + std::to_string(atoms) +
                       " atoms with probability 0; choose a size QM9 contains (at most " +
                       std::to_string(max_atoms_) + ")");
  flow::StateVector z(atoms * stride_);
  // Positions first (all atoms), then features: the draw order is part of the seed contract.
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (int i = 0; i < atoms; ++i)
    for (int d = 0; d < 3; ++d) {
      z(i * stride_ + d) = rng.normal();
      mean(d) += z(i * stride_ + d) / atoms;
    }
  for (int i = 0; i < atoms; ++i)
    for (int d = 0; d < 3; ++d) z(i * stride_ + d) -= mean(d);
  for (int i = 0; i < atoms; ++i)
    for (int f = 0; f < features_; ++f) z(i * stride_ + 3 + f) = rng.normal();
  return z;
}

SampledMolecule Qm9Model::decode(const flow::StateVector& s) const {
  const int M = static_cast<int>(s.size() / stride_);
  // Extreme ActNorm scales can take a finite latent beyond double range; and a charge must fit an int.
  if (!s.allFinite() || (s.size() > 0 && s.cwiseAbs().maxCoeff() > 1e9))
    throw SolverError("the flow's output is not finite or beyond 1e9; these weights do not give usable molecules");
  SampledMolecule out;
  out.state.assign(s.data(), s.data() + s.size());
  out.molecule.types.resize(M);
  out.molecule.positions.resize(3 * M);
  out.charges.resize(M);
  for (int i = 0; i < M; ++i) {
    const double* a = s.data() + i * stride_;
    for (int d = 0; d < 3; ++d) out.molecule.positions[3 * i + d] = a[d];
    out.molecule.types[i] = elements_[std::max_element(a + 3, a + 3 + n_types_) - (a + 3)];
    out.charges[i] = static_cast<int>(std::floor(a[3 + n_types_]));
  }
  return out;
}

SampledMolecule Qm9Model::sample(const SampleOptions& o) const { return sample_trajectory(o, 0, {}); }

SampledMolecule Qm9Model::sample_trajectory(const SampleOptions& o, int frames, const FrameCallback& on_frame) const {
  if (frames < 0 || frames == 1 || frames > 10000) throw InvalidInput("frames must be 0 or between 2 and 10000");
  Rng rng(o.seed);
  const int atoms = o.atoms == 0 ? draw_atoms(rng) : o.atoms;
  flow::StateVector z = draw_latent(atoms, rng);
  if (!o.latent.empty()) z = o.latent.apply(z, atoms, 3, stride_);
  std::vector<double> times;
  for (int k = 0; k < frames; ++k) times.push_back(1.0 - static_cast<double>(k) / (frames - 1));
  ode::Stats stats;
  SampledMolecule out = decode(from_latent(z, o.solver, &stats, times, on_frame));
  out.stats = stats;
  return out;
}

LikelihoodResult Qm9Model::log_likelihood(const chem::Molecule& mol, const LikelihoodOptions& o) const {
  validate(mol);
  if (o.samples < 1 || o.samples > 1000) throw InvalidInput("samples must be between 1 and 1000");
  if (o.split.parts > 1 && (o.trace != flow::Trace::Exact || o.samples != 1))
    throw InvalidInput("a trace split into parts needs trace 'exact' and one dequantization sample");
  const int M = mol.size();
  const double log_pM = log_p_atoms(M);
  if (!std::isfinite(log_pM))
    throw InvalidInput("the model gives molecules of " + std::to_string(M) + " atoms probability 0");
  Eigen::MatrixXd x = centred(Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>>(
      mol.positions.data(), M, 3));
  Rng rng(o.seed);
  LikelihoodResult res;
  res.atoms = M;
  res.stochastic = true;  // dequantization noise is drawn for every score
  double probe_var_sum = 0;
  for (int s = 0; s < o.samples; ++s) {
    Eigen::MatrixXd eps(M, features_);
    for (int i = 0; i < M; ++i)
      for (int f = 0; f < features_; ++f) eps(i, f) = rng.normal();
    const Lifted lifted = lift(x, mol.types, eps);
    flow::TraceOptions trace{o.trace, o.probes, false, rng.next_u64(), o.interrupt, o.split, o.state_step_control,
                             o.combine_trace};
    ode::Options solver = o.solver;
    if (o.on_progress)
      solver.on_step = [&](double t, const ode::Stats&) { o.on_progress((s + t) / o.samples); };
    const FlowToLatent fl = to_latent(x, lifted.h, solver, trace);
    const double log_pz = flow::log_prior(fl.z, 3, features_);
    const double elbo = log_pz + fl.delta_logp - lifted.log_q + log_pM;
    res.per_sample.push_back(elbo);
    res.terms.log_pz += log_pz / o.samples;
    res.terms.delta_logp += fl.delta_logp / o.samples;
    res.terms.log_q += lifted.log_q / o.samples;
    res.nfe += fl.stats.nfe;
    const int K = static_cast<int>(fl.delta_logp_per_probe.size());
    if (K > 1) {
      double var = 0;
      for (double d : fl.delta_logp_per_probe) var += (d - fl.delta_logp) * (d - fl.delta_logp);
      probe_var_sum += var / (K - 1) / K;  // variance of this sample's probe mean
    }
  }
  res.terms.log_pM = log_pM;
  const int S = o.samples;
  if (S == 1) {
    res.log_likelihood = res.per_sample[0];
    res.stderr_ = o.probes > 1 && o.trace == flow::Trace::Hutchinson ? std::sqrt(probe_var_sum)
                                                                       : std::numeric_limits<double>::quiet_NaN();
  } else {
    // Importance-weighted bound: log mean exp of the per-sample ELBOs; delta-method standard error.
    const double mx = *std::max_element(res.per_sample.begin(), res.per_sample.end());
    Eigen::ArrayXd w(S);
    for (int s = 0; s < S; ++s) w(s) = std::exp(res.per_sample[s] - mx);
    const double mean_w = w.mean();
    res.log_likelihood = mx + std::log(mean_w);
    const double var_w = (w - mean_w).square().sum() / (S - 1);
    res.stderr_ = std::sqrt(var_w / S) / mean_w;
  }
  res.per_atom = res.log_likelihood / M;
  return res;
}

}  // namespace enf
