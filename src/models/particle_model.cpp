#include "models/particle_model.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "fields/methods.hpp"
#include "models/json.hpp"
#include "models/registry.hpp"
#include "models/safetensors.hpp"
#include "tensor/random.hpp"

namespace enf {

namespace {

void check_sizes(int n, int dim) {
  if (n < 2 || n > 1000) throw InvalidInput("a particle model needs 2 to 1000 particles, got " + std::to_string(n));
  if (dim < 1 || dim > 3) throw InvalidInput("particles live in 1 to 3 dimensions, got " + std::to_string(dim));
}

// An integer setting from the config: range-checked as a double first, since casting a number
// such as 1e300 to int is undefined behaviour.
int config_int(const json::Value& c, const char* key, int lo, int hi) {
  const double v = c.at(key).as_number();
  if (!(v >= lo && v <= hi) || v != std::floor(v))
    throw InvalidInput(std::string(key) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       "]");
  return static_cast<int>(v);
}

}  // namespace

ParticleModel::ParticleModel(std::string system, int n, int dim, fields::FieldParams p, std::string method, int n_train)
    : system_(std::move(system)), n_(n), dim_(dim), params_(std::move(p)), method_(std::move(method)), n_train_(n_train) {
  check_sizes(n, dim);
  if (method_.empty()) method_ = fields::default_method(params_);
  fields::check_method(method_, params_);
  if (n_train < 0) throw InvalidInput("n_train must be >= 0");
  dynamics_ = fields::field_kind(params_.kind).inference(params_, dim);
}

ParticleModel ParticleModel::load(const SafeTensors& f) {
  const auto& meta = f.metadata();
  expect_family(f, ModelFamily::Particle);
  auto it = meta.find("config");
  if (it == meta.end()) throw WeightsError("particle E-NF weights need a 'config' entry in their metadata");
  json::Value c;
  try {
    c = json::parse(it->second);
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("the weights' config metadata is not valid JSON: ") + e.what());
  }
  try {
    // The system's keys; the rest are the field's settings (files before fields/ have no "field":
    // they are EGNNs).
    json::Value::Object settings;
    for (const auto& [key, value] : c.as_object())
      if (key != "system" && key != "n_particles" && key != "dim" && key != "field") settings.emplace_back(key, value);
    const std::string kind = c.has("field") ? c.at("field").as_string() : "egnn";
    const int n = config_int(c, "n_particles", 2, 1000), dim = config_int(c, "dim", 1, 3);
    fields::FieldParams p = fields::load_params(kind, json::Value::object(settings), dim, [&](const std::string& name, int rows, int cols) {
      return f.floats(name, name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0
                                ? std::vector<int64_t>{rows}
                                : std::vector<int64_t>{rows, cols});
    });
    // Files written before methods name none: the field's natural method.
    auto m = meta.find("method");
    int n_train = 0;
    if (auto t = meta.find("n_train"); t != meta.end()) {
      const json::Value v = json::Value::object({{"n_train", json::parse(t->second)}});
      n_train = config_int(v, "n_train", 0, 100000000);
    }
    return ParticleModel(c.at("system").as_string(), n, dim, std::move(p), m == meta.end() ? "" : m->second, n_train);
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("the weights' config metadata is incomplete: ") + e.what());
  }
}

std::vector<uint8_t> ParticleModel::to_safetensors(const std::map<std::string, std::string>& extra) const {
  std::vector<TensorF32> tensors;
  for (size_t k = 0; k < params_.values.size(); ++k) {
    const std::string& name = params_.names[k];
    const Eigen::MatrixXd& m = params_.values[k];
    TensorF32 t{name, {m.rows()}, {}};
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".bias") != 0) t.shape.push_back(m.cols());  // biases are 1-D
    const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = m.cast<float>();
    t.values.assign(r.data(), r.data() + r.size());
    tensors.push_back(std::move(t));
  }
  json::Value::Object config{{"system", json::Value::string(system_)},
                             {"n_particles", json::Value::number(n_)},
                             {"dim", json::Value::number(dim_)},
                             {"field", json::Value::string(params_.kind)}};
  for (const auto& [key, value] : params_.config.as_object()) config.emplace_back(key, value);
  std::vector<std::pair<std::string, std::string>> meta;
  for (const auto& [k, v] : extra)
    if (k != "model" && k != "config" && k != "sha256" && k != "method" && k != "system" && k != "n_train")
      meta.emplace_back(k, v);
  meta.emplace_back("method", method_);
  meta.emplace_back("system", system_);
  if (n_train_ > 0) meta.emplace_back("n_train", std::to_string(n_train_));
  meta.emplace_back("model", "particle_enf");
  meta.emplace_back("config", json::dump(json::Value::object(config)));
  return write_safetensors(tensors, meta);
}

ParticleLikelihood ParticleModel::log_likelihood(const Eigen::VectorXd& x, const ode::Options& solver,
                                                 const flow::TraceOptions& trace) const {
  if (x.size() != n_ * dim_)
    throw InvalidInput("model '" + system_ + "' scores " + std::to_string(n_) + " x " + std::to_string(dim_) + " = " +
                       std::to_string(n_ * dim_) + " coordinates, got " + std::to_string(x.size()));
  if (!x.allFinite()) throw InvalidInput("the configuration contains NaN or Inf");
  flow::StateVector s = x;
  for (int k = 0; k < dim_; ++k) {
    double mean = 0;
    for (int i = 0; i < n_; ++i) mean += s(i * dim_ + k) / n_;
    for (int i = 0; i < n_; ++i) s(i * dim_ + k) -= mean;
  }
  const flow::ForwardSolve solve = flow::integrate_forward(*dynamics_, s, solver, trace);
  ParticleLikelihood r;
  r.log_pz = flow::log_prior(solve.z, dim_, 0);
  for (double d : solve.delta_logp) r.delta_logp += d / static_cast<double>(solve.delta_logp.size());
  r.log_likelihood = r.log_pz + r.delta_logp;
  r.nfe = solve.stats.nfe;
  return r;
}

double ParticleModel::mean_nll(const Eigen::MatrixXd& samples, const ode::Options& solver,
                               const flow::TraceOptions& trace) const {
  if (samples.rows() == 0) throw InvalidInput("no samples to score");
  double sum = 0;
  for (Eigen::Index r = 0; r < samples.rows(); ++r) {
    flow::TraceOptions t = trace;
    t.seed = trace.seed + static_cast<uint64_t>(r);
    sum -= log_likelihood(samples.row(r).transpose(), solver, t).log_likelihood;
  }
  return sum / static_cast<double>(samples.rows());
}

flow::StateVector ParticleModel::draw_latent(Rng& rng, const flow::LatentTransform& latent) const {
  flow::StateVector z(n_ * dim_);
  for (int i = 0; i < z.size(); ++i) z(i) = rng.normal();
  for (int k = 0; k < dim_; ++k) {
    double mean = 0;
    for (int i = 0; i < n_; ++i) mean += z(i * dim_ + k) / n_;
    for (int i = 0; i < n_; ++i) z(i * dim_ + k) -= mean;
  }
  if (!latent.empty()) z = latent.apply(z, n_, dim_, dim_);
  return z;
}

Eigen::MatrixXd ParticleModel::sample(int count, uint64_t seed, const ode::Options& solver,
                                      const flow::LatentTransform& latent) const {
  if (count < 1 || count > 1000000) throw InvalidInput("count must be between 1 and 1000000");
  latent.validate(n_, dim_);
  Rng rng(seed);
  Eigen::MatrixXd out(count, n_ * dim_);
  for (int c = 0; c < count; ++c) {
    flow::StateVector z = draw_latent(rng, latent);
    flow::integrate_reverse(*dynamics_, z, solver);
    out.row(c) = z.transpose();
  }
  return out;
}

int ParticleModel::default_batch() const {
  const int edges = std::max(1, n_ * (n_ - 1));
  return std::clamp(512 / edges, 1, 64);
}

Eigen::MatrixXd ParticleModel::sample_each(int count, uint64_t seed, const ode::Options& solver,
                                           const flow::LatentTransform& latent, int batch,
                                           const std::function<void(double)>& on_progress) const {
  if (count < 1 || count > 1000000) throw InvalidInput("count must be between 1 and 1000000");
  if (batch == 0) batch = default_batch();
  if (batch < 1 || batch > 4096) throw InvalidInput("batch must be between 1 and 4096");
  latent.validate(n_, dim_);
  Eigen::MatrixXd out(count, n_ * dim_);
  const ode::BatchFunction f = [&](const std::vector<double>& t, const std::vector<const flow::StateVector*>& y,
                                   std::vector<flow::StateVector>& dy) { dynamics_->velocity_batch(t, y, dy); };
  std::vector<flow::StateVector> zs;
  for (int first = 0; first < count; first += batch) {
    const int b = std::min(batch, count - first);
    zs.clear();
    for (int k = 0; k < b; ++k) {
      Rng rng(seed + static_cast<uint64_t>(first + k));
      zs.push_back(draw_latent(rng, latent));
    }
    std::function<void(int)> on_round;
    if (on_progress) on_round = [&](int finished) { on_progress((first + finished) / static_cast<double>(count)); };
    ode::integrate_batch(f, 1.0, 0.0, zs, solver, on_round);
    for (int k = 0; k < b; ++k) out.row(first + k) = zs[k].transpose();
  }
  return out;
}

}  // namespace enf
