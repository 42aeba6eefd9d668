#include "train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "errors.hpp"
#include "fields/methods.hpp"

namespace enf::train {

Trainer::Trainer(const ParticleSystem& s, Eigen::MatrixXd d, TrainConfig c)
    : Trainer(s, std::move(d), c, fields::field_kind(c.field).init(c.field_settings, s.dim, c.seed)) {}

Trainer::Trainer(const ParticleSystem& s, Eigen::MatrixXd d, TrainConfig c, fields::FieldParams init)
    : sys_(s),
      data_(std::move(d)),
      cfg_(c),
      params_(std::move(init)),
      opt_(params_.values, c.adam),
      rng_(c.seed ^ 0x5eed5eed5eedULL) {
  validate_dataset(data_, sys_, "the training set");
  if (c.batch < 1 || c.batch > 100000) throw InvalidInput("the batch size must be between 1 and 100000");
  if (!(c.max_grad_norm >= 0)) throw InvalidInput("max_grad_norm must be >= 0 (0 disables clipping)");
  fields::check_method(cfg_.method, params_);  // a known kind that the method trains
  data_ = centre(data_, sys_.dim);
  order_.resize(data_.rows());
  shuffle();
}

void apply_method(TrainConfig& c, const std::string& name, const ParticleSystem& system) {
  const fields::Method m = fields::method(name, system.name);
  c.method = m.name;
  c.field = m.field;
  c.field_settings = m.settings;
  c.augment = m.augment;
  c.adam.lr = m.lr;
}

namespace {

// A Haar-distributed orthogonal matrix (rotations and reflections alike): Gram-Schmidt on the columns
// of a Gaussian matrix, which is its QR factor with R's diagonal positive. (D <= 3; a loop, not
// Eigen's QR, keeps the WebAssembly module small.)
Eigen::MatrixXd random_orthogonal(int D, Rng& rng) {
  Eigen::MatrixXd Q(D, D);
  for (Eigen::Index i = 0; i < Q.size(); ++i) Q(i) = rng.normal();
  for (int k = 0; k < D; ++k) {
    for (int j = 0; j < k; ++j) Q.col(k) -= Q.col(j).dot(Q.col(k)) * Q.col(j);
    Q.col(k) /= Q.col(k).norm();
  }
  return Q;
}

}  // namespace

void Trainer::shuffle() {
  std::iota(order_.begin(), order_.end(), 0);
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[static_cast<size_t>(rng_.uniform() * i)]);
  cursor_ = 0;
}

StepReport Trainer::step() {
  if (cursor_ >= order_.size()) shuffle();
  const int B = static_cast<int>(std::min<size_t>(cfg_.batch, order_.size() - cursor_));
  Eigen::MatrixXd x(B, data_.cols()), probes(B, data_.cols());
  for (int b = 0; b < B; ++b) x.row(b) = data_.row(order_[cursor_ + b]);
  if (cfg_.augment)  // GNF-att-aug: the data under random rotations and reflections
    for (int b = 0; b < B; ++b) {
      const Eigen::MatrixXd Q = random_orthogonal(sys_.dim, rng_);
      Eigen::MatrixXd P(sys_.dim, sys_.n_particles);
      for (int i = 0; i < sys_.n_particles; ++i)
        for (int k = 0; k < sys_.dim; ++k) P(k, i) = x(b, i * sys_.dim + k);
      P = Q * P;
      for (int i = 0; i < sys_.n_particles; ++i)
        for (int k = 0; k < sys_.dim; ++k) x(b, i * sys_.dim + k) = P(k, i);
    }
  for (Eigen::Index i = 0; i < probes.size(); ++i) probes(i) = rng_.rademacher();
  cursor_ += B;
  if (cursor_ >= order_.size()) ++epochs_;
  if (!diverged_.empty()) throw SolverError(diverged_);
  StepReport rep;
  NllResult r;
  try {
    r = particle_nll(params_, sys_.n_particles, sys_.dim, x, probes, cfg_.solver, true);
    rep.loss = r.loss;
    rep.regulariser = r.regulariser;
    rep.grad_norm = clip_grad_norm(r.grads, cfg_.max_grad_norm);
  } catch (const SolverError&) {
    rep.loss = std::numeric_limits<double>::quiet_NaN();
  }
  if (!std::isfinite(rep.loss) || !std::isfinite(rep.grad_norm)) {
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, "loss %.6g, gradient norm %.6g", rep.loss, rep.grad_norm);
    diverged_ = "training diverged at step " + std::to_string(steps() + 1) + " (" + numbers +
                "); the weights are no longer usable: create a new trainer with a lower lr or a smaller "
                "maxGradNorm, and check the data's scale";
    throw SolverError(diverged_);
  }
  opt_.step(params_.values, r.grads);
  return rep;
}

double Trainer::epoch() {
  double sum = 0;
  int n = 0;
  do {
    sum += step().loss;
    ++n;
  } while (cursor_ < order_.size());
  return sum / n;
}

double Trainer::validation_nll(const Eigen::MatrixXd& samples, uint64_t seed, int limit) const {
  if (samples.rows() == 0) throw InvalidInput("there is no validation set (nVal is 0)");
  validate_dataset(samples, sys_, "the validation set");
  if (limit < 1) throw InvalidInput("validate at least one sample");
  const int rows = std::min<int>(static_cast<int>(samples.rows()), limit);
  const Eigen::MatrixXd x = centre(samples.topRows(rows), sys_.dim);
  Rng rng(seed);
  NllOptions o = cfg_.solver;
  o.keep_tapes = false;
  const int B = std::max(1, cfg_.batch);
  double sum = 0;
  for (int start = 0; start < rows; start += B) {
    const int b = std::min(B, rows - start);
    Eigen::MatrixXd probes(b, x.cols());
    for (Eigen::Index i = 0; i < probes.size(); ++i) probes(i) = rng.rademacher();
    sum += particle_nll(params_, sys_.n_particles, sys_.dim, x.middleRows(start, b), probes, o, false).loss * b;
  }
  return sum / rows;
}

void fit_tape_memory(TrainConfig& c, const ParticleSystem& sys, double budget, int keep_tapes) {
  const double pairs = static_cast<double>(sys.n_particles) * (sys.n_particles - 1);
  const int chunk = std::min(c.batch, std::max(1, static_cast<int>(kChunkEdges / std::max(1.0, pairs))));
  const double edges = chunk * pairs;
  const double per_step = edges * 4;  // evaluations per step with rk4
  c.solver.keep_tapes = keep_tapes < 0 ? per_step * c.solver.steps <= budget / 1.5 : keep_tapes != 0;
  if (per_step * (c.solver.keep_tapes ? c.solver.steps : 1) > budget)
    throw InvalidInput(std::to_string(sys.n_particles) + " particles need more tape memory per sample than a "
                       "WebAssembly heap has (2 GB)" +
                       (c.solver.keep_tapes ? "; use keepTapes: false or fewer rk4Steps" : ""));
}

ParticleModel Trainer::model() const {
  return ParticleModel(sys_.name, sys_.n_particles, sys_.dim, params_, cfg_.method, static_cast<int>(data_.rows()));
}

}  // namespace enf::train
