// Köhler, Klein and Noé's E(n) equivariant dynamics (ICML 2020), the paper's Table 1 baselines
// "Kernel dynamics" and "Simple dynamics". Both are radial pair fields,
//   v_i = sum_j phi(d_ij, t) (x_i - x_j),   d_ij = |x_i - x_j|,
// and differ in phi:
//   kernel: phi = sum_o T_o(t) [sum_k W_ko (K_k(d) + c_k^2) + b_o], K and T normalised Gaussian
//           kernels on distance and time whose widths are trained (the reference's
//           KernelDynamics, with its DW4 and LJ13 kernel placements as presets);
//   simple: v = -grad of sum_{i != j} f(d_ij) with f an MLP (tanh, 50-64-32-1) on normalised RBF
//           features of d (the reference's SimpleEqDynamics; time-independent), so
//           phi = -2 f'(d) / d.
// phi and d phi / d d are written once, as second-order jets (value, first and second derivative
// in d) of tape operations: the training tape differentiates them, and inference evaluates the same
// expressions and forms the velocity and its Jacobian-vector products in closed form, in double
// precision (these fields are cheap).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "egnn/f32_backend.hpp"
#include "errors.hpp"
#include "fields/field.hpp"
#include "fields/settings.hpp"
#include "tensor/random.hpp"

namespace enf::fields {

namespace {

using train::ad::Tape;
using train::ad::Var;

// ---- jets: f, f', f'' in d, each a (rows, E) matrix on the tape; an invalid part is zero

struct Jet {
  Var v, d1, d2;
};

Var add(Tape& T, Var a, Var b) {
  if (!a.valid()) return b;
  if (!b.valid()) return a;
  return T.add(a, b);
}
Var mul(Tape& T, Var a, Var b) { return a.valid() && b.valid() ? T.mul(a, b) : Var{}; }
Var scale(Tape& T, Var a, double c) { return a.valid() ? T.scale(a, c) : Var{}; }
Var matmul(Tape& T, Var W, Var a) { return a.valid() ? T.matmul(W, a) : Var{}; }

Jet jmul(Tape& T, const Jet& a, const Jet& b) {
  return {T.mul(a.v, b.v), add(T, mul(T, a.d1, b.v), mul(T, a.v, b.d1)),
          add(T, add(T, mul(T, a.d2, b.v), scale(T, mul(T, a.d1, b.d1), 2.0)), mul(T, a.v, b.d2))};
}
Jet jmul(Tape& T, const Jet& a, Var c) { return {T.mul(a.v, c), mul(T, a.d1, c), mul(T, a.d2, c)}; }  // c constant in d
Jet jscale(Tape& T, const Jet& a, double c) { return {T.scale(a.v, c), scale(T, a.d1, c), scale(T, a.d2, c)}; }
Jet jexp(Tape& T, const Jet& a) {
  const Var e = T.exp(a.v);
  return {e, mul(T, e, a.d1), mul(T, e, add(T, a.d2, mul(T, a.d1, a.d1)))};
}
Jet jtanh(Tape& T, const Jet& a) {
  const Var y = T.tanh(a.v);
  const Var s = T.add_scalar(T.scale(T.mul(y, y), -1.0), 1.0);  // 1 - y^2
  return {y, mul(T, s, a.d1), mul(T, s, add(T, a.d2, scale(T, mul(T, y, mul(T, a.d1, a.d1)), -2.0)))};
}
Jet jreciprocal(Tape& T, const Jet& a) {
  const Var r = T.reciprocal(a.v);
  const Var r2 = T.mul(r, r);
  return {r, scale(T, mul(T, r2, a.d1), -1.0),
          add(T, scale(T, mul(T, T.mul(r2, r), mul(T, a.d1, a.d1)), 2.0), scale(T, mul(T, r2, a.d2), -1.0))};
}
Jet jlinear(Tape& T, Var W, Var bias, const Jet& a) {
  return {bias.valid() ? T.add_col(T.matmul(W, a.v), bias) : T.matmul(W, a.v), matmul(T, W, a.d1), matmul(T, W, a.d2)};
}
Jet jsum_rows(Tape& T, const Jet& a) {
  return {T.sum_rows(a.v), a.d1.valid() ? T.sum_rows(a.d1) : Var{}, a.d2.valid() ? T.sum_rows(a.d2) : Var{}};
}
Jet jrepeat_rows(Tape& T, const Jet& a, int rows) {  // (1, E) -> (rows, E)
  const Var ones = T.leaf(Mat::Ones(rows, 1), false);
  return {T.matmul(ones, a.v), matmul(T, ones, a.d1), matmul(T, ones, a.d2)};
}

// Normalised Gaussian kernels of d: g_k = exp(-(d - mu_k)^2 inv_gamma2_k) + eps, K = g / (S + floor)
// with S = sum_k g_k; inv_gamma2 (K, 1) is a tape variable (trained or constant).
Jet normalised_rbf(Tape& T, const Jet& d, const Eigen::VectorXd& mu, Var inv_gamma2, double eps, double floor) {
  const int K = static_cast<int>(mu.size());
  const int E = static_cast<int>(T.value(d.v).cols());
  const Jet D = jrepeat_rows(T, d, K);
  const Jet diff{T.add_col(D.v, T.leaf(-mu, false)), D.d1, D.d2};
  const Var ig = T.matmul(inv_gamma2, T.leaf(Mat::Ones(1, E), false));  // (K, E)
  Jet g = jexp(T, jscale(T, jmul(T, jmul(T, diff, diff), ig), -1.0));
  if (eps != 0) g.v = T.add_scalar(g.v, eps);
  const Jet inv = jreciprocal(T, [&] {
    Jet s = jsum_rows(T, g);
    s.v = T.add_scalar(s.v, floor);
    return s;
  }());
  return jmul(T, g, jrepeat_rows(T, inv, K));
}

Eigen::VectorXd linspace(double a, double b, int n) { return Eigen::VectorXd::LinSpaced(n, a, b); }

// phi(d, t) and d phi / d d per edge, (1, E) each.
struct Radial {
  Var phi, dphi;
};

// A radial pair field kind: its phi on the tape; the velocity, its tangent and the inference
// field are shared.
class RadialKind : public FieldKind {
 public:
  virtual Radial radial(Tape& T, const FieldParams& p, const std::vector<Var>& params, Var d, double t) const = 0;

  std::shared_ptr<const flow::VelocityField> inference(const FieldParams& p, int dim) const override;

  train::Dual tape_velocity(train::TapeBackend& b, const FieldParams& p, const std::vector<Var>& params, double t,
                            train::Dual x) const override {
    Tape& T = b.tape();
    const train::Graph& g = b.graph();
    const int BN = g.B * g.N;
    const Var r = T.sub(T.gather_cols(x.v, g.ei), T.gather_cols(x.v, g.ej));
    const Var d = T.sqrt(T.sum_rows(T.mul(r, r)));
    const Radial f = radial(T, p, params, d, t);
    train::Dual out{T.scatter_cols(T.mul_row(r, f.phi), g.ei, BN), Var{}};
    if (x.t.valid()) {
      const Var dr = T.sub(T.gather_cols(x.t, g.ei), T.gather_cols(x.t, g.ej));
      const Var dd = T.mul(T.sum_rows(T.mul(r, dr)), T.reciprocal(d));
      out.t = T.scatter_cols(T.add(T.mul_row(r, T.mul(f.dphi, dd)), T.mul_row(dr, f.phi)), g.ei, BN);
    }
    return out;
  }
};

// The inference field: phi and phi' from the kind's tape expressions (on a throwaway tape without
// gradients), the velocity and J V in closed form.
class RadialDynamics final : public flow::VelocityField {
 public:
  RadialDynamics(const RadialKind& kind, FieldParams p, int dim) : kind_(kind), p_(std::move(p)), dim_(dim) {}

  int dim() const override { return dim_; }
  int features() const override { return 0; }
  void velocity(double t, const flow::StateVector& s, flow::StateVector& ds) const override {
    Lin lin;
    linearize(t, s, ds, lin);
  }
  std::unique_ptr<flow::Linearization> new_linearization() const override { return std::make_unique<Lin>(); }
  bool accepts(const flow::Linearization& lin) const override { return dynamic_cast<const Lin*>(&lin); }
  int tangent_width(int) const override { return 64; }

  void linearize(double t, const flow::StateVector& s, flow::StateVector& ds, flow::Linearization& l) const override {
    Lin& L = dynamic_cast<Lin&>(l);
    const int D = dim_;
    if (s.size() == 0 || s.size() % D) throw InvalidInput("ODE state size is not a multiple of " + std::to_string(D));
    const int N = static_cast<int>(s.size() / D);
    if (L.n != N) {
      L.n = N;
      egnn::make_edges(N, L.ei, L.ej);
    }
    const int E = static_cast<int>(L.ei.size());
    L.r.resize(D, E);
    for (int e = 0; e < E; ++e)
      for (int k = 0; k < D; ++k) L.r(k, e) = s(L.ei[e] * D + k) - s(L.ej[e] * D + k);
    L.d = L.r.colwise().norm();
    Tape T;
    std::vector<Var> leaves;
    for (const Mat& m : p_.values) leaves.push_back(T.leaf(m, false));
    const Radial f = kind_.radial(T, p_, leaves, T.leaf(L.d, false), t);
    L.phi = T.value(f.phi);
    L.dphi = T.value(f.dphi);
    Mat v = Mat::Zero(D, N);
    for (int e = 0; e < E; ++e) v.col(L.ei[e]) += L.phi(0, e) * L.r.col(e);
    mean_free(v, ds, s.size());
  }

  Eigen::MatrixXd tangent(const flow::Linearization& l, const Eigen::MatrixXd& V) const override {
    const Lin& L = dynamic_cast<const Lin&>(l);
    const int D = dim_, N = L.n, E = static_cast<int>(L.ei.size());
    Eigen::MatrixXd JV(V.rows(), V.cols());
    Mat dv(D, N), dr(D, E);
    flow::StateVector col;
    for (Eigen::Index c = 0; c < V.cols(); ++c) {
      for (int e = 0; e < E; ++e)
        for (int k = 0; k < D; ++k) dr(k, e) = V(L.ei[e] * D + k, c) - V(L.ej[e] * D + k, c);
      // d(d_e) = r_e . dr_e / d_e
      const Eigen::RowVectorXd dd = (L.r.cwiseProduct(dr).colwise().sum().array() / L.d.array()).matrix();
      dv.setZero();
      for (int e = 0; e < E; ++e) dv.col(L.ei[e]) += L.dphi(0, e) * dd(e) * L.r.col(e) + L.phi(0, e) * dr.col(e);
      mean_free(dv, col, V.rows());
      JV.col(c) = col;
    }
    return JV;
  }

 private:
  struct Lin final : flow::Linearization {
    int n = -1;
    std::vector<int> ei, ej;
    Mat r, d, phi, dphi;
  };

  void mean_free(const Mat& v, flow::StateVector& out, Eigen::Index size) const {
    const Eigen::VectorXd mean = v.rowwise().mean();
    out.resize(size);
    for (Eigen::Index i = 0; i < v.cols(); ++i)
      for (int k = 0; k < dim_; ++k) out(i * dim_ + k) = v(k, i) - mean(k);
  }

  const RadialKind& kind_;
  FieldParams p_;
  int dim_;
};

std::shared_ptr<const flow::VelocityField> RadialKind::inference(const FieldParams& p, int dim) const {
  size_t k = 0;
  layout(p.config, dim, [&](const std::string&, int rows, int cols) {
    if (k >= p.values.size() || p.values[k].rows() != rows || p.values[k].cols() != cols)
      throw InvalidInput("the " + name() + " field's parameters do not match its settings");
    ++k;
  });
  // The parameters as a weights file stores them (float32), so that a model and its exported
  // weights give bit-identical results, as the float32 graph fields do.
  FieldParams q = p;
  for (Mat& m : q.values) m = m.cast<float>().cast<double>();
  return std::make_shared<RadialDynamics>(*this, std::move(q), dim);
}

// ---- Kernel dynamics

struct KernelPreset {
  Eigen::VectorXd mu, gamma, mu_time, gamma_time;
};

// The reference's kernel placements: "dw4" (main_dw4_lj13's kernel_dynamics) and "lj13"
// (kernel_dynamics_lj13: kernels denser at short range, time kernels widest at the ends).
KernelPreset kernel_preset(const std::string& name) {
  KernelPreset k;
  k.mu_time = linspace(0, 1, 10);
  if (name == "dw4") {
    k.mu = linspace(0, 8, 50);
    k.gamma = Eigen::VectorXd::Constant(50, 0.5);
    k.gamma_time = Eigen::VectorXd::Constant(10, 0.3);
  } else if (name == "lj13") {
    const double d_max = 16;
    const Eigen::VectorXd m = linspace(0, d_max, 50);
    k.mu = (2 * ((m.array() / d_max - 1.5 / d_max) / 2).square() * d_max).matrix();
    std::sort(k.mu.data(), k.mu.data() + k.mu.size());
    k.gamma = (0.3 + 3 * ((k.mu.array() / d_max - 1.5 / d_max) / 2).square() * d_max).matrix();
    const Eigen::ArrayXd gain = 0.3 + 2 * ((k.mu_time.array() - 0.5) / 2).square();
    k.gamma_time = (gain * 1.0 / std::sqrt(10.0)).matrix();  // compute_gammas: gain * range / sqrt(n)
  } else {
    throw InvalidInput("unknown kernel dynamics preset '" + name + "': use dw4 or lj13");
  }
  return k;
}

class KernelKind final : public RadialKind {
 public:
  std::string name() const override { return "kernel"; }

  json::Value configure(const json::Value& settings) const override {
    const std::string preset = Settings(settings, "kernel dynamics", {"preset"}).text("preset", "dw4");
    kernel_preset(preset);  // known
    return json::Value::object({{"preset", json::Value::string(preset)}});
  }

  void layout(const json::Value& config, int, const std::function<void(const std::string&, int, int)>& f) const override {
    const KernelPreset k = kernel_preset(configure(config).at("preset").as_string());
    const int K = static_cast<int>(k.mu.size()), O = static_cast<int>(k.mu_time.size());
    f("dynamics._weights", K, O);
    f("dynamics._bias", 1, O);
    f("dynamics._importance", K, 1);
    f("dynamics._neg_log_gammas", K, 1);
    f("dynamics._neg_log_gammas_time", 1, O);
  }

  FieldParams init(const json::Value& config, int dim, uint64_t seed) const override {
    FieldParams p{name(), configure(config), {}, {}};
    const KernelPreset k = kernel_preset(p.config.at("preset").as_string());
    Rng rng(seed);
    layout(p.config, dim, [&](const std::string& n, int rows, int cols) {
      Mat m = Mat::Zero(rows, cols);
      if (n == "dynamics._weights")
        for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = rng.normal() * std::sqrt(1.0 / rows);
      else if (n == "dynamics._neg_log_gammas")
        m.col(0) = -k.gamma.array().log().matrix();
      else if (n == "dynamics._neg_log_gammas_time")
        m.row(0) = -k.gamma_time.array().log().matrix().transpose();
      p.names.push_back(n);
      p.values.push_back(std::move(m));
    });
    return p;
  }

  Radial radial(Tape& T, const FieldParams& p, const std::vector<Var>& P, Var d, double t) const override {
    const KernelPreset k = kernel_preset(p.config.at("preset").as_string());
    const Var W = P[0], bias = P[1], importance = P[2], nlg = P[3], nlg_t = P[4];
    const int E = static_cast<int>(T.value(d).cols());
    // Distance kernels (K, E); the importance term is constant in d.
    const Jet Kd = normalised_rbf(T, Jet{d, T.leaf(Mat::Ones(1, E), false), Var{}}, k.mu, T.exp(T.scale(nlg, 2.0)), 0, 1e-6);
    const Var Wt = T.transpose(W);  // (O, K)
    const Var offset = T.add(T.matmul(Wt, T.mul(importance, importance)), T.transpose(bias));  // (O, 1)
    const Jet mag = jlinear(T, Wt, offset, Kd);                                                // (O, E)
    // Time kernels (1, O): the same normalised Gaussians of t.
    const Eigen::RowVectorXd dt2 = (t - k.mu_time.array()).square().matrix().transpose();
    const Var g_t = T.exp(T.scale(T.mul(T.leaf(dt2, false), T.exp(T.scale(nlg_t, 2.0))), -1.0));
    const Var T_t = T.matmul(T.reciprocal(T.add_scalar(T.sum_all(g_t), 1e-6)), g_t);
    return {T.matmul(T_t, mag.v), T.matmul(T_t, mag.d1)};
  }
};

// ---- Simple dynamics

class SimpleKind final : public RadialKind {
 public:
  std::string name() const override { return "simple"; }

  json::Value configure(const json::Value& settings) const override {
    Settings(settings, "simple dynamics", {});
    return json::Value::object({});
  }

  void layout(const json::Value& config, int, const std::function<void(const std::string&, int, int)>& f) const override {
    configure(config);
    const int units[] = {kRbfs, 64, 32, 1};
    for (int l = 0; l < 3; ++l) {
      const std::string n = "dynamics._transformation._layers." + std::to_string(2 * l) + ".";
      f(n + "weight", units[l + 1], units[l]);
      f(n + "bias", units[l + 1], 1);
    }
  }

  FieldParams init(const json::Value& config, int dim, uint64_t seed) const override {
    // PyTorch's nn.Linear default: uniform in +-1/sqrt(fan_in), a bias with its weight's fan-in.
    FieldParams p{name(), configure(config), {}, {}};
    Rng rng(seed);
    layout(p.config, dim, [&](const std::string& n, int rows, int cols) {
      const int fan_in = n.compare(n.size() - 4, 4, "bias") == 0 ? static_cast<int>(p.values.back().cols()) : cols;
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      Mat m(rows, cols);
      for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = bound * (2 * rng.uniform() - 1);
      p.names.push_back(n);
      p.values.push_back(std::move(m));
    });
    return p;
  }

  Radial radial(Tape& T, const FieldParams&, const std::vector<Var>& P, Var d, double) const override {
    const int E = static_cast<int>(T.value(d).cols());
    const Jet dj{d, T.leaf(Mat::Ones(1, E), false), Var{}};
    // RBF features: the reference's kernelize_with_rbf (fixed mu in [0, 8], gamma 0.5, eps 1e-6).
    const Jet rbf =
        normalised_rbf(T, dj, linspace(0, 8, kRbfs), T.leaf(Mat::Constant(kRbfs, 1, 1.0 / (0.5 * 0.5)), false), 1e-6, 0);
    const Jet a1 = jtanh(T, jlinear(T, P[0], P[1], rbf));
    const Jet a2 = jtanh(T, jlinear(T, P[2], P[3], a1));
    const Jet f = jlinear(T, P[4], P[5], a2);  // the pair potential f(d) with f', f''
    // phi = -2 f'/d (each unordered pair is in the potential twice); phi' = -2 (f'' - f'/d) / d.
    const Var inv_d = T.reciprocal(d);
    const Var phi = T.scale(T.mul(f.d1, inv_d), -2.0);
    const Var dphi = T.scale(T.mul(T.sub(f.d2, T.mul(f.d1, inv_d)), inv_d), -2.0);
    return {phi, dphi};
  }

 private:
  static constexpr int kRbfs = 50;
};

}  // namespace

const FieldKind& kernel_kind() {
  static const KernelKind kind;
  return kind;
}

const FieldKind& simple_kind() {
  static const SimpleKind kind;
  return kind;
}

}  // namespace enf::fields
