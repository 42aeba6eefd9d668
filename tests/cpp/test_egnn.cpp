// Properties of the EGNN vector field on random small networks: E(n) equivariance, tangents
// against finite differences, exact trace and Hutchinson's estimator.
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <algorithm>
#include <iostream>
#include <numeric>

#include "errors.hpp"
#include "flow/dynamics.hpp"
#include "tensor/random.hpp"

using enf::flow::EgnnDynamics;
using enf::flow::StateVector;

namespace {

EgnnDynamics small_dynamics(int dim, int features, bool attention, bool tanh, uint64_t seed) {
  enf::egnn::EgnnConfig c;
  c.n_layers = 3;
  c.hidden = 16;
  c.in_features = features + 1;
  c.out_features = features + 1;
  c.attention = attention;
  c.tanh = tanh;
  c.edge_attr = true;
  auto w = enf::egnn::EgnnWeights::random(c, seed);
  for (auto& l : w.p.layers) l.coord2_w *= 300.0f;  // make the coordinate head matter in tests
  return EgnnDynamics(enf::egnn::Egnn(std::move(w)), dim, features, true);
}

StateVector random_state(int n, int stride, uint64_t seed, double scale = 1.0) {
  enf::Rng rng(seed);
  StateVector s(n * stride);
  for (int i = 0; i < s.size(); ++i) s(i) = scale * rng.normal();
  return s;
}

Eigen::MatrixXd random_orthogonal(int dim, uint64_t seed, bool reflect) {
  enf::Rng rng(seed);
  Eigen::MatrixXd a(dim, dim);
  for (int i = 0; i < a.size(); ++i) a(i) = rng.normal();
  Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(a).householderQ();
  if ((q.determinant() < 0) != reflect) q.col(0) *= -1;
  return q;
}

// Applies x -> Q x + b to every atom's positions and permutes atoms: new atom i = old perm[i].
StateVector transform(const StateVector& s, int dim, int stride, const Eigen::MatrixXd& Q, const Eigen::VectorXd& b,
                      const std::vector<int>& perm) {
  const int n = static_cast<int>(s.size() / stride);
  StateVector out(s.size());
  for (int i = 0; i < n; ++i) {
    const int src = perm[i];
    out.segment(i * stride, dim) = Q * s.segment(src * stride, dim) + b;
    out.segment(i * stride + dim, stride - dim) = s.segment(src * stride + dim, stride - dim);
  }
  return out;
}

}  // namespace

class EgnnEquivariance : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(EgnnEquivariance, RotationsReflectionsTranslationsPermutations) {
  const auto [dim, reflect] = GetParam();
  const int features = 2, stride = dim + features, n = 6;
  const EgnnDynamics dyn = small_dynamics(dim, features, true, true, 7);
  for (uint64_t trial = 0; trial < 3; ++trial) {
    const StateVector s = random_state(n, stride, 100 + trial);
    const Eigen::MatrixXd Q = random_orthogonal(dim, 200 + trial, reflect);
    Eigen::VectorXd b = random_state(1, dim, 300 + trial, 5.0);
    std::vector<int> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    enf::Rng rng(400 + trial);
    for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.next_u64() % (i + 1)]);

    StateVector v, vt;
    const double t = 0.3;
    dyn.velocity(t, s, v);
    dyn.velocity(t, transform(s, dim, stride, Q, b, perm), vt);
    // The velocity rotates with x, ignores translations, and permutes with the atoms.
    const StateVector expected = transform(v, dim, stride, Q, Eigen::VectorXd::Zero(dim), perm);
    EXPECT_LT((vt - expected).cwiseAbs().maxCoeff(), 2e-4 * std::max(1.0, v.cwiseAbs().maxCoeff()))
        << "dim " << dim << " trial " << trial;
  }
}

INSTANTIATE_TEST_SUITE_P(Dims, EgnnEquivariance,
                         ::testing::Values(std::make_tuple(3, false), std::make_tuple(3, true),
                                           std::make_tuple(2, true)));

TEST(EgnnTangents, JacobianTimesVectorMatchesFiniteDifferences) {
  for (bool attention : {true, false})
    for (bool tanh : {true, false}) {
      const int dim = 3, features = 2, stride = 5, n = 5;
      const EgnnDynamics dyn = small_dynamics(dim, features, attention, tanh, 11);
      const StateVector s = random_state(n, stride, 12);
      Eigen::MatrixXd V(s.size(), 3);
      for (int k = 0; k < 3; ++k) V.col(k) = random_state(n, stride, 20 + k);
      const Eigen::MatrixXd JV = dyn.jacobian_times(0.6, s, V);
      for (int k = 0; k < 3; ++k) {
        const double h = 1e-2;
        StateVector vp, vm;
        dyn.velocity(0.6, s + h * V.col(k), vp);
        dyn.velocity(0.6, s - h * V.col(k), vm);
        const StateVector fd = (vp - vm) / (2 * h);
        EXPECT_LT((JV.col(k) - fd).norm(), 2e-3 * std::max(1.0, fd.norm()))
            << "attention " << attention << " tanh " << tanh << " probe " << k;
      }
    }
}

TEST(EgnnTrace, ExactTraceEqualsFiniteDifferenceJacobianTrace) {
  const int dim = 3, features = 2, stride = 5, n = 7;
  const EgnnDynamics dyn = small_dynamics(dim, features, true, true, 31);
  const StateVector s = random_state(n, stride, 32);
  StateVector v;
  const double exact = dyn.velocity_with_exact_trace(0.2, s, v);
  double fd_trace = 0;
  const double h = 1e-2;
  for (int k = 0; k < s.size(); ++k) {
    StateVector sp = s, sm = s, vp, vm;
    sp(k) += h;
    sm(k) -= h;
    dyn.velocity(0.2, sp, vp);
    dyn.velocity(0.2, sm, vm);
    fd_trace += (vp(k) - vm(k)) / (2 * h);
  }
  EXPECT_NEAR(exact, fd_trace, 2e-3 * std::max(1.0, std::abs(fd_trace)));
  StateVector v_plain;
  dyn.velocity(0.2, s, v_plain);
  EXPECT_EQ((v - v_plain).cwiseAbs().maxCoeff(), 0.0);
}

TEST(EgnnTrace, HutchinsonMeanIsWithinThreeStandardErrorsOfExact) {
  const int dim = 3, features = 2, stride = 5, n = 6;
  const EgnnDynamics dyn = small_dynamics(dim, features, true, true, 41);
  const StateVector s = random_state(n, stride, 42);
  StateVector v;
  const double exact = dyn.velocity_with_exact_trace(0.5, s, v);
  for (bool rademacher : {false, true}) {
    const int K = 4000;
    enf::Rng rng(rademacher ? 43 : 44);
    Eigen::MatrixXd probes(s.size(), K);
    for (int i = 0; i < probes.size(); ++i) probes(i) = rademacher ? rng.rademacher() : rng.normal();
    Eigen::VectorXd quad;
    dyn.velocity_with_probes(0.5, s, probes, v, quad);
    const double mean = quad.mean();
    const double se = std::sqrt((quad.array() - mean).square().sum() / (K - 1) / K);
    EXPECT_LT(std::abs(mean - exact), 3 * se) << "mean " << mean << " exact " << exact << " se " << se;
    EXPECT_GT(se, 0);
  }
}

// Many Hutchinson probes go through the network in chunks (bounded scratch memory): every probe's
// quadratic form equals the one computed for that probe alone, and the hook runs between chunks.
TEST(EgnnDynamicsProbes, ChunkedProbesMatchOneByOne) {
  const int dim = 3, features = 2, atoms = 12;
  const EgnnDynamics dyn = small_dynamics(dim, features, true, true, 53);
  const StateVector s = random_state(atoms, dim + features, 54);
  const int n = static_cast<int>(s.size());
  const int K = 200;  // 12 atoms: 132 edges, so 31 probes per chunk and 7 chunks
  enf::Rng rng(55);
  Eigen::MatrixXd probes(n, K);
  for (int i = 0; i < probes.size(); ++i) probes(i) = rng.rademacher();
  StateVector ds, ds1;
  Eigen::VectorXd quad, q1;
  int calls = 0;
  dyn.velocity_with_probes(0.3, s, probes, ds, quad, [&] { ++calls; });
  EXPECT_EQ(calls, 6);
  ASSERT_EQ(quad.size(), K);
  for (int k = 0; k < K; ++k) {
    dyn.velocity_with_probes(0.3, s, probes.col(k), ds1, q1);
    EXPECT_NEAR(quad(k), q1(0), 1e-5 * (1 + std::abs(q1(0)))) << "probe " << k;
  }
  EXPECT_TRUE(ds.isApprox(ds1, 1e-12));
}

// One atom has no edges: its coordinate velocity is zero and everything is finite, forward and in
// tangents (a fuzzed model that allows M = 1 once reached undefined behaviour here under UBSan).
TEST(EgnnSingleAtom, NoEdgesNoCoordinateVelocity) {
  for (bool attention : {true, false}) {
    const int dim = 3, features = 2, stride = 5;
    const EgnnDynamics dyn = small_dynamics(dim, features, attention, true, 31);
    const StateVector s = random_state(1, stride, 32);
    StateVector v;
    dyn.velocity(0.4, s, v);
    ASSERT_EQ(v.size(), stride);
    EXPECT_TRUE(v.allFinite());
    EXPECT_EQ(v.head(dim).norm(), 0.0) << "attention " << attention;
    Eigen::MatrixXd V = Eigen::MatrixXd::Identity(stride, stride);
    const Eigen::MatrixXd JV = dyn.jacobian_times(0.4, s, V);
    EXPECT_TRUE(JV.allFinite());
    EXPECT_EQ(JV.topRows(dim).norm(), 0.0);
  }
}

// A batch of graphs through one evaluation gives each graph what it gets alone: no edges cross
// between graphs, each keeps its own time and its own mean-free velocity. Every size a particle
// system may have, 1 to 13 particles, in 2 and 3 dimensions, batches of 1 to 7.
TEST(EgnnBatch, EachGraphOfABatchEqualsItsOwnEvaluation) {
  double worst = 0;
  int differing = 0, compared = 0;
  for (int dim : {2, 3})
    for (int features : {0, 2}) {
      const int stride = dim + features;
      const EgnnDynamics dyn = small_dynamics(dim, features, true, true, 41 + dim);
      for (int n = 1; n <= 13; ++n)
        for (int B : {1, 2, 7}) {
          std::vector<StateVector> states;
          std::vector<const StateVector*> ptrs;
          std::vector<double> ts;
          for (int b = 0; b < B; ++b) states.push_back(random_state(n, stride, 100 * n + b));
          for (int b = 0; b < B; ++b) {
            ptrs.push_back(&states[b]);
            ts.push_back(0.1 + 0.13 * b);
          }
          std::vector<StateVector> batched;
          dyn.velocity_batch(ts, ptrs, batched);
          ASSERT_EQ(static_cast<int>(batched.size()), B);
          for (int b = 0; b < B; ++b) {
            StateVector alone;
            dyn.velocity(ts[b], states[b], alone);
            ASSERT_EQ(batched[b].size(), alone.size());
            const double err = (batched[b] - alone).cwiseAbs().maxCoeff() / std::max(1.0, alone.cwiseAbs().maxCoeff());
            worst = std::max(worst, err);
            differing += err > 0;
            ++compared;
            EXPECT_LT(err, 1e-6) << "dim " << dim << ", " << n << " particles, graph " << b << " of " << B;
          }
        }
    }
  std::cout << "[ batch    ] " << differing << " of " << compared << " graphs differ from alone; largest "
            << worst << " relative\n";
  // States of different sizes cannot share a batch.
  const EgnnDynamics dyn = small_dynamics(3, 0, true, true, 5);
  const StateVector a = random_state(4, 3, 1), b = random_state(5, 3, 2);
  std::vector<StateVector> out;
  EXPECT_THROW(dyn.velocity_batch({0.1, 0.2}, {&a, &b}, out), enf::InvalidInput);
}
