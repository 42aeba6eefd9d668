#include "train/trainer.hpp"

#include <algorithm>
#include <numeric>

#include "errors.hpp"

namespace enf::train {

Trainer::Trainer(const ParticleSystem& s, Eigen::MatrixXd d, TrainConfig c)
    : Trainer(s, std::move(d), c, fields::field_kind(c.field).init(c.field_settings, c.seed)) {}

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
  fields::field_kind(params_.kind);  // a known kind
  data_ = centre(data_, sys_.dim);
  order_.resize(data_.rows());
  shuffle();
}

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
  for (Eigen::Index i = 0; i < probes.size(); ++i) probes(i) = rng_.rademacher();
  cursor_ += B;
  if (cursor_ >= order_.size()) ++epochs_;
  NllResult r = particle_nll(params_, sys_.n_particles, sys_.dim, x, probes, cfg_.solver, true);
  StepReport rep;
  rep.loss = r.loss;
  rep.regulariser = r.regulariser;
  rep.grad_norm = clip_grad_norm(r.grads, cfg_.max_grad_norm);
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

ParticleModel Trainer::model() const { return ParticleModel(sys_.name, sys_.n_particles, sys_.dim, params_); }

}  // namespace enf::train
