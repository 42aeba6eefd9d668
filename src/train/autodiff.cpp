#include "train/autodiff.hpp"

#include <cmath>

namespace enf::train::ad {

namespace {
Eigen::ArrayXXd sig(const Mat& a) { return (1.0 + (-a.array()).exp()).inverse(); }
}  // namespace

Var Tape::push(Mat value, bool needs_grad, std::function<void(Tape&, const Mat&)> backward) {
  Node n;
  n.value = std::move(value);
  n.needs_grad = needs_grad;
  if (needs_grad) n.backward = std::move(backward);
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

Var Tape::leaf(Mat value, bool needs_grad) { return push(std::move(value), needs_grad, {}); }

void Tape::accumulate(Var v, const Mat& g) {
  Node& n = nodes_[v.id];
  if (!n.needs_grad) return;
  if (n.grad.size() == 0)
    n.grad = g;
  else
    n.grad += g;
}

void Tape::accumulate(Var v, Mat&& g) {
  Node& n = nodes_[v.id];
  if (!n.needs_grad) return;
  if (n.grad.size() == 0)
    n.grad = std::move(g);
  else
    n.grad += g;
}

void Tape::seed(Var v, const Mat& s) { accumulate(v, s); }

void Tape::backward() {
  for (int i = static_cast<int>(nodes_.size()) - 1; i >= 0; --i) {
    Node& n = nodes_[i];
    if (!n.needs_grad || n.grad.size() == 0 || !n.backward) continue;
    // Intermediate values are no longer needed once their gradient has been pushed on: freeing
    // the gradient would be wrong (callers read input gradients), but the backward closure may go.
    n.backward(*this, n.grad);
    n.backward = nullptr;
    n.aux.resize(0, 0);
  }
}

Var Tape::matmul(Var a, Var b) {
  return push(value(a) * value(b), any(a, b), [a, b](Tape& t, const Mat& g) {
    if (t.any(a)) t.accumulate(a, g * t.value(b).transpose());
    if (t.any(b)) t.accumulate(b, t.value(a).transpose() * g);
  });
}

Var Tape::add(Var a, Var b) {
  return push(value(a) + value(b), any(a, b), [a, b](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    t.accumulate(b, g);
  });
}

Var Tape::sub(Var a, Var b) {
  return push(value(a) - value(b), any(a, b), [a, b](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    if (t.any(b)) t.accumulate(b, -g);
  });
}

Var Tape::mul(Var a, Var b) {
  return push(value(a).cwiseProduct(value(b)), any(a, b), [a, b](Tape& t, const Mat& g) {
    if (t.any(a)) t.accumulate(a, g.cwiseProduct(t.value(b)));
    if (t.any(b)) t.accumulate(b, g.cwiseProduct(t.value(a)));
  });
}

Var Tape::scale(Var a, double c) {
  return push(c * value(a), any(a), [a, c](Tape& t, const Mat& g) { t.accumulate(a, c * g); });
}

Var Tape::add_scalar(Var a, double c) {
  return push(value(a).array() + c, any(a), [a](Tape& t, const Mat& g) { t.accumulate(a, g); });
}

Var Tape::add_col(Var a, Var col) {
  Mat v = value(a).colwise() + value(col).col(0);
  return push(std::move(v), any(a, col), [a, col](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    if (t.any(col)) t.accumulate(col, g.rowwise().sum());
  });
}

Var Tape::add_row(Var a, Var row) {
  Mat v = value(a).rowwise() + value(row).row(0);
  return push(std::move(v), any(a, row), [a, row](Tape& t, const Mat& g) {
    t.accumulate(a, g);
    if (t.any(row)) t.accumulate(row, g.colwise().sum());
  });
}

Var Tape::mul_row(Var a, Var row) {
  Mat v = value(a).array().rowwise() * value(row).row(0).array();
  return push(std::move(v), any(a, row), [a, row](Tape& t, const Mat& g) {
    if (t.any(a)) t.accumulate(a, (g.array().rowwise() * t.value(row).row(0).array()).matrix());
    if (t.any(row)) t.accumulate(row, g.cwiseProduct(t.value(a)).colwise().sum());
  });
}

// silu and silu_grad keep sigmoid(a) for their backward rule (one exp per element, not two).
Var Tape::silu(Var a) {
  Mat s = sig(value(a)).matrix();
  Var out = push((value(a).array() * s.array()).matrix(), any(a), {});
  if (any(a)) {
    nodes_[out.id].aux = std::move(s);
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      const auto s = t.nodes_[out.id].aux.array();
      t.accumulate(a, (g.array() * s * (1.0 + t.value(a).array() * (1.0 - s))).matrix());
    };
  }
  return out;
}

Var Tape::silu_grad(Var a) {
  Mat s = sig(value(a)).matrix();
  Var out = push((s.array() * (1.0 + value(a).array() * (1.0 - s.array()))).matrix(), any(a), {});
  if (any(a)) {
    nodes_[out.id].aux = std::move(s);
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      // silu''(z) = s (1 - s) (2 + z (1 - 2 s))
      const auto s = t.nodes_[out.id].aux.array();
      t.accumulate(a, (g.array() * s * (1.0 - s) * (2.0 + t.value(a).array() * (1.0 - 2.0 * s))).matrix());
    };
  }
  return out;
}

Var Tape::sigmoid(Var a) {
  Var out = push(sig(value(a)).matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      const Mat& s = t.value(out);
      t.accumulate(a, (g.array() * s.array() * (1.0 - s.array())).matrix());
    };
  return out;
}

Var Tape::tanh(Var a) {
  Var out = push(value(a).array().tanh().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      const Mat& y = t.value(out);
      t.accumulate(a, (g.array() * (1.0 - y.array().square())).matrix());
    };
  return out;
}

Var Tape::sqrt(Var a) {
  Var out = push(value(a).array().sqrt().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      t.accumulate(a, (0.5 * g.array() / t.value(out).array()).matrix());
    };
  return out;
}

Var Tape::reciprocal(Var a) {
  Var out = push(value(a).array().inverse().matrix(), any(a), {});
  if (any(a))
    nodes_[out.id].backward = [a, out](Tape& t, const Mat& g) {
      t.accumulate(a, (-g.array() * t.value(out).array().square()).matrix());
    };
  return out;
}

Var Tape::sum_rows(Var a) {
  return push(value(a).colwise().sum(), any(a), [a](Tape& t, const Mat& g) {
    t.accumulate(a, g.replicate(t.value(a).rows(), 1));
  });
}

Var Tape::sum_all(Var a) {
  Mat v(1, 1);
  v(0, 0) = value(a).sum();
  return push(std::move(v), any(a), [a](Tape& t, const Mat& g) {
    t.accumulate(a, Mat::Constant(t.value(a).rows(), t.value(a).cols(), g(0, 0)));
  });
}

Var Tape::gather_cols(Var a, const std::vector<int>& idx) {
  const Mat& A = value(a);
  Mat v(A.rows(), static_cast<Eigen::Index>(idx.size()));
  for (size_t k = 0; k < idx.size(); ++k) v.col(k) = A.col(idx[k]);
  return push(std::move(v), any(a), [a, &idx](Tape& t, const Mat& g) {
    Mat ga = Mat::Zero(t.value(a).rows(), t.value(a).cols());
    for (size_t k = 0; k < idx.size(); ++k) ga.col(idx[k]) += g.col(k);
    t.accumulate(a, ga);
  });
}

Var Tape::scatter_cols(Var a, const std::vector<int>& idx, int n_cols) {
  const Mat& A = value(a);
  Mat v = Mat::Zero(A.rows(), n_cols);
  for (size_t k = 0; k < idx.size(); ++k) v.col(idx[k]) += A.col(k);
  return push(std::move(v), any(a), [a, &idx](Tape& t, const Mat& g) {
    Mat ga(g.rows(), static_cast<Eigen::Index>(idx.size()));
    for (size_t k = 0; k < idx.size(); ++k) ga.col(k) = g.col(idx[k]);
    t.accumulate(a, ga);
  });
}

}  // namespace enf::train::ad
