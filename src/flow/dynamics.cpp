#include "flow/dynamics.hpp"

#include <algorithm>

#include "errors.hpp"

namespace enf::flow {

using egnn::MatrixF;

EgnnDynamics::EgnnDynamics(egnn::Egnn net, int dim, int features, bool condition_time)
    : net_(std::move(net)), dim_(dim), features_(features), condition_time_(condition_time) {
  const auto& c = net_.config();
  if (dim < 1 || features < 0 || c.in_features != features + (condition_time ? 1 : 0) || c.out_features < features)
    throw WeightsError("the dynamics network does not fit the state: in_features " + std::to_string(c.in_features) +
                       ", out_features " + std::to_string(c.out_features) + ", state features " +
                       std::to_string(features));
}

void EgnnDynamics::forward(const double* t, const StateVector* const* s, StateVector* ds, int B,
                           egnn::ForwardCache* cache) const {
  const int S = stride();
  const Eigen::Index size = s[0]->size();
  if (size == 0 || size % S) throw InvalidInput("ODE state size is not a multiple of " + std::to_string(S));
  for (int b = 1; b < B; ++b)
    if (s[b]->size() != size) throw InvalidInput("a batch of states must all be the same size");
  const int N = static_cast<int>(size / S);
  // One block of N columns per state, each with its own time.
  MatrixF x(dim_, N * B), h(net_.config().in_features, N * B);
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < N; ++i) {
      for (int d = 0; d < dim_; ++d) x(d, b * N + i) = static_cast<float>((*s[b])(i * S + d));
      for (int f = 0; f < features_; ++f) h(f, b * N + i) = static_cast<float>((*s[b])(i * S + dim_ + f));
      if (condition_time_) h(features_, b * N + i) = static_cast<float>(t[b]);
    }
  egnn::EgnnOutput out = net_.forward(x, h, cache, N);
  for (int b = 0; b < B; ++b) {
    // Position velocity: displacement of the EGNN's coordinates, made mean-free (per state).
    Eigen::MatrixXd v = (out.x.middleCols(b * N, N) - x.middleCols(b * N, N)).cast<double>();
    Eigen::VectorXd mean = v.rowwise().mean();
    StateVector& d_out = ds[b];
    d_out.resize(size);
    for (int i = 0; i < N; ++i) {
      for (int d = 0; d < dim_; ++d) d_out(i * S + d) = v(d, i) - mean(d);
      for (int f = 0; f < features_; ++f) d_out(i * S + dim_ + f) = out.h(f, b * N + i);
    }
  }
}

namespace {

struct EgnnLinearization final : Linearization {
  egnn::ForwardCache cache;
};

}  // namespace

std::unique_ptr<Linearization> EgnnDynamics::new_linearization() const { return std::make_unique<EgnnLinearization>(); }

bool EgnnDynamics::accepts(const Linearization& lin) const { return dynamic_cast<const EgnnLinearization*>(&lin); }

void EgnnDynamics::linearize(double t, const StateVector& s, StateVector& ds, Linearization& lin) const {
  const StateVector* one = &s;
  forward(&t, &one, &ds, 1, &dynamic_cast<EgnnLinearization&>(lin).cache);
}

int EgnnDynamics::tangent_width(int n) const {
  const int N = n / std::max(1, stride());
  return std::max(1, 4096 / std::max(1, N * (N - 1)));
}

Eigen::MatrixXd EgnnDynamics::tangent(const Linearization& lin, const Eigen::MatrixXd& V) const {
  const egnn::ForwardCache& cache = dynamic_cast<const EgnnLinearization&>(lin).cache;
  const int S = stride();
  const int N = cache.n_atoms;
  const int T = static_cast<int>(V.cols());
  MatrixF dx(dim_, N * T), dh = MatrixF::Zero(net_.config().in_features, N * T);  // time has no tangent
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < N; ++i) {
      for (int d = 0; d < dim_; ++d) dx(d, t * N + i) = static_cast<float>(V(i * S + d, t));
      for (int f = 0; f < features_; ++f) dh(f, t * N + i) = static_cast<float>(V(i * S + dim_ + f, t));
    }
  egnn::EgnnOutput out = net_.jvp(cache, dx, dh, T);
  Eigen::MatrixXd JV(V.rows(), T);
  for (int t = 0; t < T; ++t) {
    Eigen::MatrixXd dv = (out.x.middleCols(t * N, N) - dx.middleCols(t * N, N)).cast<double>();
    Eigen::VectorXd mean = dv.rowwise().mean();
    for (int i = 0; i < N; ++i) {
      for (int d = 0; d < dim_; ++d) JV(i * S + d, t) = dv(d, i) - mean(d);
      for (int f = 0; f < features_; ++f) JV(i * S + dim_ + f, t) = out.h(f, t * N + i);
    }
  }
  return JV;
}

void EgnnDynamics::velocity(double t, const StateVector& s, StateVector& ds) const {
  const StateVector* one = &s;
  forward(&t, &one, &ds, 1, nullptr);
}

void EgnnDynamics::velocity_batch(const std::vector<double>& t, const std::vector<const StateVector*>& s,
                                  std::vector<StateVector>& ds) const {
  ds.resize(s.size());
  if (s.empty()) return;
  if (t.size() != s.size()) throw InvalidInput("a batch needs one time per state");
  forward(t.data(), s.data(), ds.data(), static_cast<int>(s.size()), nullptr);
}

}  // namespace enf::flow
