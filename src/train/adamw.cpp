#include "train/adamw.hpp"

#include <cmath>

#include "errors.hpp"

namespace enf::train {

AdamW::AdamW(const std::vector<Eigen::MatrixXd>& params, AdamWOptions o) : o_(o) {
  set_learning_rate(o.lr);
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    throw InvalidInput("AdamW betas must lie in [0, 1)");
  if (!(o.eps > 0) || !(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
    throw InvalidInput("AdamW needs eps > 0 and a finite weight decay >= 0");
  for (const auto& p : params) {
    m_.push_back(Eigen::MatrixXd::Zero(p.rows(), p.cols()));
    v_.push_back(m_.back());
    if (o.amsgrad) vmax_.push_back(m_.back());
  }
}

void AdamW::set_learning_rate(double lr) {
  if (!(lr > 0 && lr <= 1)) throw InvalidInput("the learning rate must be in (0, 1], got " + std::to_string(lr));
  o_.lr = lr;
}

void AdamW::step(std::vector<Eigen::MatrixXd>& params, const std::vector<Eigen::MatrixXd>& grads) {
  if (params.size() != m_.size() || grads.size() != m_.size())
    throw InvalidInput("AdamW::step got a different number of tensors than it was built for");
  ++t_;
  const double bc1 = 1 - std::pow(o_.beta1, static_cast<double>(t_));
  const double bc2 = 1 - std::pow(o_.beta2, static_cast<double>(t_));
  const double step_size = o_.lr / bc1;
  for (size_t i = 0; i < params.size(); ++i) {
    Eigen::MatrixXd& p = params[i];
    const Eigen::MatrixXd& g = grads[i];
    if (g.rows() != p.rows() || g.cols() != p.cols()) throw InvalidInput("AdamW::step: gradient shape differs");
    p *= 1 - o_.lr * o_.weight_decay;
    m_[i] = o_.beta1 * m_[i] + (1 - o_.beta1) * g;
    v_[i] = o_.beta2 * v_[i] + (1 - o_.beta2) * g.cwiseProduct(g);
    const Eigen::MatrixXd* v = &v_[i];
    if (o_.amsgrad) {
      vmax_[i] = vmax_[i].cwiseMax(v_[i]);
      v = &vmax_[i];
    }
    const Eigen::ArrayXXd denom = v->array().sqrt() / std::sqrt(bc2) + o_.eps;
    p.array() -= step_size * m_[i].array() / denom;
  }
}

double clip_grad_norm(std::vector<Eigen::MatrixXd>& grads, double max_norm) {
  double sq = 0;
  for (const auto& g : grads) sq += g.squaredNorm();
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const double f = max_norm / (norm + 1e-6);
    for (auto& g : grads) g *= f;
  }
  return norm;
}

}  // namespace enf::train
