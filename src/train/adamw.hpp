// AdamW with the AMSGrad variant, step for step as torch.optim.AdamW(amsgrad=True), and global
// gradient-norm clipping as torch.nn.utils.clip_grad_norm_.
#pragma once
#include <Eigen/Dense>
#include <vector>

namespace enf::train {

struct AdamWOptions {
  double lr = 5e-4;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-12;  // decoupled: theta -= lr * weight_decay * theta
  bool amsgrad = true;
};

class AdamW {
 public:
  AdamW(const std::vector<Eigen::MatrixXd>& params, AdamWOptions options);  // throws InvalidInput on bad options
  void step(std::vector<Eigen::MatrixXd>& params, const std::vector<Eigen::MatrixXd>& grads);
  void set_learning_rate(double lr);  // throws InvalidInput unless 0 < lr <= 1
  const AdamWOptions& options() const { return o_; }
  long steps() const { return t_; }

 private:
  AdamWOptions o_;
  long t_ = 0;
  std::vector<Eigen::MatrixXd> m_, v_, vmax_;
};

// Scales grads in place so that their global 2-norm is at most max_norm (factor
// max_norm / (norm + 1e-6) when above, as PyTorch); returns the norm before clipping.
double clip_grad_norm(std::vector<Eigen::MatrixXd>& grads, double max_norm);

}  // namespace enf::train
