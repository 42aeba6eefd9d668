#include "models/particle_model.hpp"

#include <cmath>
#include <cstring>

#include "errors.hpp"
#include "models/json.hpp"
#include "models/safetensors.hpp"
#include "models/sha256.hpp"
#include "tensor/random.hpp"

namespace enf {

namespace {

const char* const kPrefix = "dynamics.egnn.";

void check_sizes(int n, int dim) {
  if (n < 2 || n > 1000) throw InvalidInput("a particle model needs 2 to 1000 particles, got " + std::to_string(n));
  if (dim < 1 || dim > 3) throw InvalidInput("particles live in 1 to 3 dimensions, got " + std::to_string(dim));
}

// Appends a float32 tensor (row-major) to the header object and the data section.
void put(json::Value::Object& header, std::vector<uint8_t>& data, const std::string& name, const egnn::MatrixF& m) {
  const size_t begin = data.size();
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) {
      const float v = m(r, c);
      uint8_t b[4];
      std::memcpy(b, &v, 4);  // little-endian targets only (x86-64, wasm32)
      data.insert(data.end(), b, b + 4);
    }
  json::Value::Array shape{json::Value::number(static_cast<double>(m.rows()))};
  if (m.cols() != 1 || name.find(".bias") == std::string::npos)
    shape.push_back(json::Value::number(static_cast<double>(m.cols())));
  header.emplace_back(name, json::Value::object(json::Value::Object{
      {"dtype", json::Value::string("F32")},
      {"shape", json::Value::array(shape)},
      {"data_offsets", json::Value::array({json::Value::number(static_cast<double>(begin)),
                                           json::Value::number(static_cast<double>(data.size()))})}}));
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

egnn::EgnnConfig ParticleModel::default_config() { return egnn::EgnnConfig{3, 32, 1, 1, true, true, 15.0, true}; }

ParticleModel::ParticleModel(std::string system, int n, int dim, egnn::EgnnWeights w)
    : system_(std::move(system)), n_(n), dim_(dim) {
  check_sizes(n, dim);
  dynamics_ = std::make_shared<flow::EgnnDynamics>(egnn::Egnn(std::move(w)), dim, 0, true);
}

ParticleModel ParticleModel::load(const SafeTensors& f) {
  const auto& meta = f.metadata();
  auto model = meta.find("model");
  if (model == meta.end() || model->second != "particle_enf")
    throw WeightsError("these weights are not a particle E-NF (metadata 'model' must be 'particle_enf')");
  auto it = meta.find("config");
  if (it == meta.end()) throw WeightsError("particle E-NF weights need a 'config' entry in their metadata");
  json::Value c;
  try {
    c = json::parse(it->second);
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("the weights' config metadata is not valid JSON: ") + e.what());
  }
  egnn::EgnnConfig ec = default_config();
  try {
    ec.n_layers = config_int(c, "n_layers", 1, 64);  // EgnnWeights::load's own limits
    ec.hidden = config_int(c, "hidden", 1, 4096);
    ec.attention = c.at("attention").as_bool();
    ec.tanh = c.at("tanh").as_bool();
    ec.coords_range = c.at("coords_range").as_number();
    ec.edge_attr = c.at("edge_attr").as_bool();
    return ParticleModel(c.at("system").as_string(), config_int(c, "n_particles", 2, 1000), config_int(c, "dim", 1, 3),
                         egnn::EgnnWeights::load(f, kPrefix, ec));
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("the weights' config metadata is incomplete: ") + e.what());
  }
}

std::vector<uint8_t> ParticleModel::to_safetensors(const std::map<std::string, std::string>& extra) const {
  const egnn::EgnnWeights& w = weights();
  const egnn::EgnnConfig& c = w.config;
  const int H = c.hidden;
  json::Value::Object header;
  std::vector<uint8_t> data;
  const std::string p = kPrefix;
  put(header, data, p + "embedding.weight", w.embedding.weight);
  put(header, data, p + "embedding.bias", w.embedding.bias);
  put(header, data, p + "embedding_out.weight", w.embedding_out.weight);
  put(header, data, p + "embedding_out.bias", w.embedding_out.bias);
  for (int l = 0; l < c.n_layers; ++l) {
    const egnn::GclWeights& L = w.layers[l];
    const std::string g = p + "gcl_" + std::to_string(l) + ".";
    egnn::MatrixF e0(H, 2 * H + 1 + (c.edge_attr ? 1 : 0));
    e0 << L.edge_hi, L.edge_hj, L.edge_r;
    if (c.edge_attr) e0.col(2 * H + 1) = L.edge_attr;
    put(header, data, g + "edge_mlp.0.weight", e0);
    put(header, data, g + "edge_mlp.0.bias", L.edge_b);
    put(header, data, g + "edge_mlp.2.weight", L.edge2.weight);
    put(header, data, g + "edge_mlp.2.bias", L.edge2.bias);
    if (c.attention) {
      put(header, data, g + "att_mlp.0.weight", L.att_w);
      put(header, data, g + "att_mlp.0.bias", egnn::MatrixF::Constant(1, 1, L.att_b));
    }
    put(header, data, g + "coord_mlp.0.weight", L.coord0.weight);
    put(header, data, g + "coord_mlp.0.bias", L.coord0.bias);
    put(header, data, g + "coord_mlp.2.weight", L.coord2);
    egnn::MatrixF n0(H, 2 * H);
    n0 << L.node_h, L.node_agg;
    put(header, data, g + "node_mlp.0.weight", n0);
    put(header, data, g + "node_mlp.0.bias", L.node_b);
    put(header, data, g + "node_mlp.2.weight", L.node2.weight);
    put(header, data, g + "node_mlp.2.bias", L.node2.bias);
  }
  json::Value::Object config{{"system", json::Value::string(system_)},
                      {"n_particles", json::Value::number(n_)},
                      {"dim", json::Value::number(dim_)},
                      {"n_layers", json::Value::number(c.n_layers)},
                      {"hidden", json::Value::number(c.hidden)},
                      {"attention", json::Value::boolean(c.attention)},
                      {"tanh", json::Value::boolean(c.tanh)},
                      {"coords_range", json::Value::number(c.coords_range)},
                      {"edge_attr", json::Value::boolean(c.edge_attr)}};
  json::Value::Object meta;
  for (const auto& [k, v] : extra)
    if (k != "model" && k != "config" && k != "sha256") meta.emplace_back(k, json::Value::string(v));
  meta.emplace_back("model", json::Value::string("particle_enf"));
  meta.emplace_back("config", json::Value::string(json::dump(json::Value::object(config))));
  meta.emplace_back("sha256", json::Value::string(sha256_hex(data.data(), data.size())));
  header.insert(header.begin(), {"__metadata__", json::Value::object(meta)});
  std::string text = json::dump(json::Value::object(header));
  while (text.size() % 8) text += ' ';  // the format pads the header to 8 bytes
  std::vector<uint8_t> out(8 + text.size() + data.size());
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + text.size(), data.data(), data.size());
  return out;
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

Eigen::MatrixXd ParticleModel::sample(int count, uint64_t seed, const ode::Options& solver,
                                      const flow::LatentTransform& latent) const {
  if (count < 1 || count > 1000000) throw InvalidInput("count must be between 1 and 1000000");
  latent.validate(n_, dim_);
  Rng rng(seed);
  Eigen::MatrixXd out(count, n_ * dim_);
  for (int c = 0; c < count; ++c) {
    flow::StateVector z(n_ * dim_);
    for (int i = 0; i < z.size(); ++i) z(i) = rng.normal();
    for (int k = 0; k < dim_; ++k) {
      double mean = 0;
      for (int i = 0; i < n_; ++i) mean += z(i * dim_ + k) / n_;
      for (int i = 0; i < n_; ++i) z(i * dim_ + k) -= mean;
    }
    if (!latent.empty()) z = latent.apply(z, n_, dim_, dim_);
    flow::integrate_reverse(*dynamics_, z, solver);
    out.row(c) = z.transpose();
  }
  return out;
}

}  // namespace enf
