// Training core of the particle E-NF: the differentiable double graph against the float32
// inference path, exact gradients against central finite differences, AdamW against a
// hand-computed update, equivariance, save / load, and the InvalidInput paths.
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <limits>

#include "errors.hpp"
#include "fields/egnn_field.hpp"
#include "models/particle_model.hpp"
#include "models/safetensors.hpp"
#include "random_data.hpp"
#include "tensor/random.hpp"
#include "train/adamw.hpp"
#include "train/mcmc.hpp"
#include "train/particle_net.hpp"
#include "train/trainer.hpp"

using namespace enf;
using namespace enf::train;

namespace {

// The paper's particle network: 3 layers, 32 features, attention, tanh head, time as node input.
egnn::EgnnConfig particle_config() { return egnn::EgnnConfig{3, 32, 1, 1, true, true, 15.0, true}; }

// Random weights with the coordinate head scaled up so that it matters (the reference
// initialisation makes it ~0, which would hide errors in its derivatives).
egnn::EgnnWeights test_weights(egnn::EgnnConfig c, uint64_t seed, float head = 300.0f) {
  auto w = egnn::EgnnWeights::random(c, seed);
  for (auto& l : w.p.layers) l.coord2_w *= head;
  return w;
}

fields::FieldParams test_weights_params(egnn::EgnnConfig c, uint64_t seed, float head = 300.0f) {
  return fields::egnn_field_params(test_weights(c, seed, head));
}

using test::randn;
using test::rademacher;

flow::TraceOptions trace(flow::Trace mode, bool rademacher, uint64_t seed) {
  flow::TraceOptions t;
  t.mode = mode;
  t.probes = 1;
  t.rademacher = rademacher;
  t.seed = seed;
  return t;
}

Eigen::MatrixXd random_orthogonal(int dim, uint64_t seed, bool reflect) {
  Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(randn(dim, dim, seed)).householderQ();
  if ((q.determinant() < 0) != reflect) q.col(0) *= -1;
  return q;
}

// Rotates / reflects each particle, shifts all, and permutes: new particle i = old perm[i].
Eigen::VectorXd transform(const Eigen::VectorXd& x, int D, const Eigen::MatrixXd& Q, const Eigen::VectorXd& shift,
                          const std::vector<int>& perm) {
  Eigen::VectorXd out(x.size());
  for (size_t i = 0; i < perm.size(); ++i) out.segment(i * D, D) = Q * x.segment(perm[i] * D, D) + shift;
  return out;
}

}  // namespace

TEST(TrainGraph, MatchesFloat32VelocityAndJvp) {
  // DW4 (2-D) and LJ13 (3-D) shapes with the paper's network.
  for (auto [N, D] : {std::pair{4, 2}, std::pair{13, 3}}) {
    const auto w = test_weights(particle_config(), 11);
    const FieldParams p = fields::egnn_field_params(w);
    const ParticleModel model("test", N, D, p);
    const Eigen::MatrixXd x = randn(3, N * D, 5, 1.5), e = rademacher(3, N * D, 6);
    const auto [v, jv] = particle_velocity(p, N, D, 0.37, x, e);
    for (int b = 0; b < 3; ++b) {
      flow::StateVector ds;
      model.dynamics().velocity(0.37, x.row(b).transpose(), ds);
      const Eigen::MatrixXd J = model.dynamics().jacobian_times(0.37, x.row(b).transpose(), e.row(b).transpose());
      EXPECT_LT((ds.transpose() - v.row(b)).cwiseAbs().maxCoeff(), 1e-5 * (1 + ds.cwiseAbs().maxCoeff()));
      EXPECT_LT((J.col(0).transpose() - jv.row(b)).cwiseAbs().maxCoeff(), 1e-4 * (1 + J.cwiseAbs().maxCoeff()));
      EXPECT_GT(ds.norm(), 1e-3);  // the test would be vacuous with a zero field
    }
  }
}

TEST(TrainGraph, NllMatchesFloat32Rk4Solve) {
  // The same discretisation (RK4, 3/8 rule, 5 steps) and the same Rademacher probe as
  // flow::integrate_forward draws for a seed: the double graph and the float32 path agree.
  const int N = 4, D = 2, steps = 5;
  const FieldParams p = fields::egnn_field_params(test_weights(particle_config(), 3, 30.0f));
  const ParticleModel model("dw4", N, D, p);
  const Eigen::MatrixXd x = centre(randn(1, N * D, 9, 2.0), D);
  const uint64_t seed = 77;
  Rng rng(seed);
  Eigen::MatrixXd probe(1, N * D);
  for (int i = 0; i < N * D; ++i) probe(0, i) = rng.rademacher();
  const NllResult r = particle_nll(p, N, D, x, probe, NllOptions{steps, false}, false);
  ode::Options solver;
  solver.method = ode::Method::rk4();
  solver.fixed_steps = steps;
  const ParticleLikelihood f = model.log_likelihood(x.row(0).transpose(), solver, trace(flow::Trace::Hutchinson, true, seed));
  EXPECT_NEAR(r.log_p(0), f.log_likelihood, 1e-4 * (1 + std::abs(f.log_likelihood)));
  EXPECT_GT(std::abs(f.delta_logp), 1e-3);
}

// A small particle network with random weights (scale: the init's spread, as in test_weights).
FieldParams tiny_params(int n_layers, int hidden, uint64_t seed, float scale) {
  egnn::EgnnConfig c = particle_config();
  c.n_layers = n_layers;
  c.hidden = hidden;
  return fields::egnn_field_params(test_weights(c, seed, scale));
}

// The derivative of `objective` along a random direction u in parameter space: grad . u from the
// given gradient, and the central finite difference (f(p + h u) - f(p - h u)) / 2h.
template <class F>
std::pair<double, double> directional_derivative(const FieldParams& p, const std::vector<Eigen::MatrixXd>& grads,
                                                 F objective, uint64_t seed, double h = 1e-5) {
  FieldParams up = p, um = p;
  double dot = 0;
  Rng rng(seed);
  for (size_t i = 0; i < p.values.size(); ++i)
    for (Eigen::Index k = 0; k < p.values[i].size(); ++k) {
      const double u = rng.normal();
      up.values[i](k) += h * u;
      um.values[i](k) -= h * u;
      dot += grads[i](k) * u;
    }
  return {dot, (objective(up) - objective(um)) / (2 * h)};
}

// Exact gradients of the training loss (Hutchinson NLL through 3 RK4 steps) against central
// finite differences in double on a tiny network: two entries of every parameter tensor of every
// layer (and one in each input block of edge_mlp.0 and node_mlp.0: [h_i, h_j, r, attr] and
// [h, agg]), and the whole loss along a random direction in parameter space.
TEST(TrainGraph, GradientMatchesFiniteDifferences) {
  const FieldParams p = tiny_params(2, 6, 21, 100.0f);
  const int N = 4, D = 2;
  const Eigen::MatrixXd x = centre(randn(3, N * D, 4, 2.0), D), e = rademacher(3, N * D, 8);
  const NllOptions o{3, false};
  const NllResult r = particle_nll(p, N, D, x, e, o, true);
  ASSERT_EQ(r.grads.size(), p.values.size());
  auto loss = [&](const FieldParams& q) { return particle_nll(q, N, D, x, e, o, false).loss; };
  const double h = 1e-5;
  int checked = 0;
  for (size_t i = 0; i < p.values.size(); ++i) {
    if (p.names[i].rfind("embedding_out", 0) == 0) {  // unused by the position velocity
      EXPECT_EQ(r.grads[i].cwiseAbs().maxCoeff(), 0.0);
      continue;
    }
    std::vector<Eigen::Index> entries{0, p.values[i].size() - 1};
    const Eigen::Index rows = p.values[i].rows(), H = static_cast<Eigen::Index>(p.config.at("hidden").as_number());
    if (p.names[i].find("edge_mlp.0.weight") != std::string::npos) entries.insert(entries.end(), {H * rows, 2 * H * rows});
    if (p.names[i].find("node_mlp.0.weight") != std::string::npos) entries.push_back(H * rows);
    for (Eigen::Index k : entries) {
      FieldParams q = p;
      q.values[i](k) += h;
      const double lp = loss(q);
      q.values[i](k) -= 2 * h;
      const double fd = (lp - loss(q)) / (2 * h);
      const double ad = r.grads[i](k);
      EXPECT_LE(std::abs(ad - fd), 1e-4 * std::max(std::abs(fd), 1e-3)) << p.names[i] << "[" << k << "]: " << ad << " vs " << fd;
      ++checked;
    }
  }
  EXPECT_GE(checked, 2 * (2 + 2 * 13) + 2 * 3);
  // Whole loss along a random direction u: d/ds L(p + s u) = grad . u.
  const auto [dot, fd] = directional_derivative(p, r.grads, loss, 99, h);
  EXPECT_LE(std::abs(dot - fd), 1e-4 * std::abs(fd)) << dot << " vs " << fd;
}

// The same check in 3-D (LJ13's dimension), along a random direction: every formula is shared
// with 2-D, but the shapes (and the prior's (N - 1) D) are not.
TEST(TrainGraph, GradientMatchesFiniteDifferences3d) {
  const FieldParams p = tiny_params(2, 6, 31, 100.0f);
  const int N = 5, D = 3;
  const Eigen::MatrixXd x = centre(randn(3, N * D, 32, 1.0), D), e = rademacher(3, N * D, 33);
  const NllOptions o{3, true};
  const NllResult r = particle_nll(p, N, D, x, e, o, true);
  auto loss = [&](const FieldParams& q) { return particle_nll(q, N, D, x, e, o, false).loss; };
  const auto [dot, fd] = directional_derivative(p, r.grads, loss, 34);
  EXPECT_LE(std::abs(dot - fd), 1e-4 * std::abs(fd)) << dot << " vs " << fd;
  EXPECT_GT(std::abs(fd), 1e-3);
}

// The optional regularisers (kinetic energy, Jacobian Frobenius estimate) are differentiated too.
TEST(TrainGraph, RegularisedGradientMatchesFiniteDifferences) {
  const FieldParams p = tiny_params(2, 6, 23, 100.0f);
  const Eigen::MatrixXd x = centre(randn(3, 8, 14, 2.0), 2), e = rademacher(3, 8, 15);
  NllOptions o{3, false};
  o.kinetic = 0.3;
  o.jacobian = 0.2;
  const NllResult r = particle_nll(p, 4, 2, x, e, o, true);
  EXPECT_GT(r.regulariser, 1e-3);
  auto objective = [&](const FieldParams& q) {
    const NllResult s = particle_nll(q, 4, 2, x, e, o, false);
    return s.loss + s.regulariser;
  };
  const double h = 1e-5;
  const auto [dot, fd] = directional_derivative(p, r.grads, objective, 5, h);
  EXPECT_LE(std::abs(dot - fd), 1e-4 * std::abs(fd)) << dot << " vs " << fd;
  for (size_t i : {size_t(4), size_t(15), p.values.size() - 1}) {  // edge_hi, coord2 of layer 0, node2.bias of the last
    FieldParams q = p;
    q.values[i](0) += h;
    const double lp = objective(q);
    q.values[i](0) -= 2 * h;
    const double fdi = (lp - objective(q)) / (2 * h);
    EXPECT_LE(std::abs(r.grads[i](0) - fdi), 1e-4 * std::max(std::abs(fdi), 1e-3)) << p.names[i];
  }
  o.kinetic = -1;
  EXPECT_THROW(particle_nll(p, 4, 2, x, e, o, false), InvalidInput);
}

TEST(TrainGraph, KeptTapesGiveTheSameGradient) {
  const FieldParams p = tiny_params(particle_config().n_layers, 8, 2, 50.0f);
  const Eigen::MatrixXd x = centre(randn(5, 8, 1, 2.0), 2), e = rademacher(5, 8, 2);
  const NllResult a = particle_nll(p, 4, 2, x, e, NllOptions{4, false}, true);
  const NllResult b = particle_nll(p, 4, 2, x, e, NllOptions{4, true}, true);
  EXPECT_EQ(a.loss, b.loss);
  for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_LE((a.grads[i] - b.grads[i]).cwiseAbs().maxCoeff(), 1e-12);
}

// Gradient accumulation: passes over slices of the batch (uneven: 7 = 3 + 3 + 1) add up to the
// whole batch's loss, log p, regulariser and gradient.
TEST(TrainGraph, ChunkedBatchGivesTheSameLossAndGradient) {
  const FieldParams p = tiny_params(particle_config().n_layers, 8, 2, 50.0f);
  const Eigen::MatrixXd x = centre(randn(7, 8, 3, 2.0), 2), e = rademacher(7, 8, 4);
  NllOptions whole{3, true};
  whole.chunk = 7;
  whole.kinetic = 0.1;
  whole.jacobian = 0.05;
  NllOptions sliced = whole;
  sliced.chunk = 3;
  const NllResult a = particle_nll(p, 4, 2, x, e, whole, true);
  const NllResult b = particle_nll(p, 4, 2, x, e, sliced, true);
  sliced.chunk = 0;  // automatic: 128 edges per pass is 10 samples of 4 particles, one pass here
  EXPECT_EQ(particle_nll(p, 4, 2, x, e, sliced, false).loss, a.loss);
  EXPECT_NEAR(a.loss, b.loss, 1e-12 * std::abs(a.loss));
  EXPECT_NEAR(a.regulariser, b.regulariser, 1e-12 * std::abs(a.regulariser));
  EXPECT_LE((a.log_p - b.log_p).cwiseAbs().maxCoeff(), 1e-12);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (size_t i = 0; i < a.grads.size(); ++i)
    EXPECT_LE((a.grads[i] - b.grads[i]).cwiseAbs().maxCoeff(), 1e-12 * (1 + a.grads[i].cwiseAbs().maxCoeff()));
  // Slices on 3 threads: the same sums in the same order, so bit-identical.
  sliced.chunk = 2;
  const NllResult one = particle_nll(p, 4, 2, x, e, sliced, true);
  sliced.threads = 3;
  const NllResult three = particle_nll(p, 4, 2, x, e, sliced, true);
  EXPECT_EQ(one.loss, three.loss);
  EXPECT_EQ(one.regulariser, three.regulariser);
  EXPECT_TRUE(one.log_p == three.log_p);
  for (size_t i = 0; i < one.grads.size(); ++i) EXPECT_TRUE(one.grads[i] == three.grads[i]) << i;
  sliced.threads = 0;
  EXPECT_THROW(particle_nll(p, 4, 2, x, e, sliced, false), InvalidInput);
  sliced.threads = 1;
  sliced.chunk = -1;
  EXPECT_THROW(particle_nll(p, 4, 2, x, e, sliced, false), InvalidInput);
}

TEST(TrainAdamW, StepMatchesHandComputedUpdate) {
  // One scalar parameter, lr 0.1, weight decay 0.01, betas (0.9, 0.999), eps 1e-8, amsgrad.
  std::vector<Eigen::MatrixXd> p{Eigen::MatrixXd::Constant(1, 1, 1.0)};
  AdamW opt(p, AdamWOptions{0.1, 0.9, 0.999, 1e-8, 0.01, true});
  // Step 1, g = 0.5: p = 1 * (1 - 0.001) = 0.999; m = 0.05, v = 0.00025; m_hat = 0.5,
  // sqrt(v_max / (1 - 0.999)) = 0.5: p = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8).
  opt.step(p, {Eigen::MatrixXd::Constant(1, 1, 0.5)});
  const double p1 = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8);
  EXPECT_NEAR(p[0](0, 0), p1, 1e-15);
  // Step 2, g = -0.1: m = 0.045 - 0.01 = 0.035, v = 0.00024975 + 0.00001 = 0.00025975, v_max the same;
  // bias corrections 1 - 0.81 = 0.19 and 1 - 0.998001 = 0.001999.
  opt.step(p, {Eigen::MatrixXd::Constant(1, 1, -0.1)});
  const double p2 = p1 * (1 - 0.001) - (0.1 / 0.19) * 0.035 / (std::sqrt(0.00025975) / std::sqrt(0.001999) + 1e-8);
  EXPECT_NEAR(p[0](0, 0), p2, 1e-14);
  // Step 3, g = 0: v decays below v_max; amsgrad keeps the larger v_max = 0.00025975.
  opt.step(p, {Eigen::MatrixXd::Zero(1, 1)});
  const double m3 = 0.9 * 0.035, bc1 = 1 - 0.729, bc2 = 1 - std::pow(0.999, 3);
  const double p3 = p2 * (1 - 0.001) - (0.1 / bc1) * m3 / (std::sqrt(0.00025975) / std::sqrt(bc2) + 1e-8);
  EXPECT_NEAR(p[0](0, 0), p3, 1e-14);
  EXPECT_THROW(opt.set_learning_rate(0), InvalidInput);
  EXPECT_THROW(opt.set_learning_rate(std::nan("")), InvalidInput);
}

TEST(TrainAdamW, ClipGradNorm) {
  std::vector<Eigen::MatrixXd> g{Eigen::MatrixXd::Constant(1, 1, 3.0), Eigen::MatrixXd::Constant(1, 1, 4.0)};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 1.0), 5.0);
  EXPECT_NEAR(std::hypot(g[0](0, 0), g[1](0, 0)), 1.0, 1e-6);
  EXPECT_NEAR(g[0](0, 0) / g[1](0, 0), 0.75, 1e-15);
  std::vector<Eigen::MatrixXd> s{Eigen::MatrixXd::Constant(1, 1, 0.3)};
  clip_grad_norm(s, 1.0);
  EXPECT_EQ(s[0](0, 0), 0.3);
}

TEST(TrainParticleModel, DynamicsEquivariantAndLikelihoodInvariant) {
  for (auto [N, D] : {std::pair{4, 2}, std::pair{13, 3}}) {
    const ParticleModel m("t", N, D, test_weights_params(particle_config(), 4));
    const Eigen::VectorXd x = randn(N * D, 1, 3, 1.5).col(0);
    std::vector<int> perm(N);
    for (int i = 0; i < N; ++i) perm[i] = (i * 3 + 1) % N;
    const Eigen::MatrixXd Q = random_orthogonal(D, 5, true);
    const Eigen::VectorXd shift = randn(D, 1, 6).col(0);
    flow::StateVector v, vt;
    m.dynamics().velocity(0.6, x, v);
    m.dynamics().velocity(0.6, transform(x, D, Q, shift, perm), vt);
    const Eigen::VectorXd expected = transform(v, D, Q, Eigen::VectorXd::Zero(D), perm);
    EXPECT_LT((vt - expected).cwiseAbs().maxCoeff(), 2e-5) << "N = " << N;
    for (int k = 0; k < D; ++k) {  // mean-free output
      double s = 0;
      for (int i = 0; i < N; ++i) s += v(i * D + k);
      EXPECT_NEAR(s, 0, 1e-6);
    }
    if (N == 4) {
      ode::Options o;
      const flow::TraceOptions exact = trace(flow::Trace::Exact, false, 0);
      const double a = m.log_likelihood(x, o, exact).log_likelihood;
      const double b = m.log_likelihood(transform(x, D, Q, shift, perm), o, exact).log_likelihood;
      EXPECT_NEAR(a, b, 1e-3);
    }
  }
}

TEST(TrainParticleModel, SafetensorsRoundTripAndSampling) {
  const ParticleModel m("dw4", 4, 2, test_weights_params(particle_config(), 8, 30.0f));
  std::vector<uint8_t> bytes = m.to_safetensors({{"note", "test"}});
  const SafeTensors f = SafeTensors::from_bytes(bytes);
  EXPECT_EQ(f.metadata().at("note"), "test");
  const ParticleModel r = ParticleModel::load(f);
  EXPECT_EQ(r.system(), "dw4");
  EXPECT_EQ(r.n_particles(), 4);
  EXPECT_EQ(r.dim(), 2);
  const Eigen::VectorXd x = randn(8, 1, 1).col(0);
  flow::StateVector a, b;
  m.dynamics().velocity(0.2, x, a);
  r.dynamics().velocity(0.2, x, b);
  EXPECT_EQ((a - b).cwiseAbs().maxCoeff(), 0.0);
  // Samples are centred, deterministic per seed, and map back to their latent's density.
  const Eigen::MatrixXd s = m.sample(3, 5, ode::Options{}), s2 = m.sample(3, 5, ode::Options{});
  EXPECT_EQ((s - s2).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_LT(centre(s, 2).cwiseAbs().maxCoeff() - s.cwiseAbs().maxCoeff(), 1e-12);
  for (int k = 0; k < 2; ++k) EXPECT_NEAR(s(0, k) + s(0, 2 + k) + s(0, 4 + k) + s(0, 6 + k), 0, 1e-6);
  // A corrupted byte in the data section is caught by the checksum.
  bytes[bytes.size() - 3] ^= 0x40;
  EXPECT_THROW(SafeTensors::from_bytes(bytes), WeightsError);
}

TEST(TrainTrainer, DeterministicAndDecreasesLoss) {
  const Dataset d = make_dataset(dw4(), 40, 1, 1, 3);
  TrainConfig c;
  c.batch = 20;
  c.seed = 4;
  c.adam.lr = 2e-3;
  Trainer a(dw4(), d.train, c), b(dw4(), d.train, c);
  const double first = a.epoch();
  b.epoch();
  for (size_t i = 0; i < a.params().values.size(); ++i)
    EXPECT_EQ((a.params().values[i] - b.params().values[i]).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(a.steps(), 2);
  double last = first;
  for (int e = 0; e < 5; ++e) last = a.epoch();
  EXPECT_LT(last, first);
  EXPECT_EQ(a.epochs(), 6);
}

TEST(TrainTrainer, BadInputIsInvalidInput) {
  TrainConfig c;
  Eigen::MatrixXd ok = Eigen::MatrixXd::Random(10, 8);
  EXPECT_THROW(Trainer(dw4(), Eigen::MatrixXd(0, 8), c), InvalidInput);      // zero samples
  EXPECT_THROW(Trainer(dw4(), Eigen::MatrixXd::Random(10, 9), c), InvalidInput);  // wrong dimensionality
  Eigen::MatrixXd bad = ok;
  bad(3, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(Trainer(dw4(), bad, c), InvalidInput);
  c.batch = 0;
  EXPECT_THROW(Trainer(dw4(), ok, c), InvalidInput);
  c.batch = 10;
  c.adam.lr = -1;
  EXPECT_THROW(Trainer(dw4(), ok, c), InvalidInput);
  const FieldParams p = fields::egnn_field_params(egnn::EgnnWeights::random(particle_config(), 1));
  EXPECT_THROW(particle_nll(p, 4, 2, Eigen::MatrixXd::Zero(2, 6), Eigen::MatrixXd::Zero(2, 6), {}, false), InvalidInput);
  const ParticleModel m("dw4", 4, 2, p);
  EXPECT_THROW(m.log_likelihood(Eigen::VectorXd::Zero(9), {}, {}), InvalidInput);
  EXPECT_THROW(m.mean_nll(Eigen::MatrixXd(0, 8), {}, {}), InvalidInput);
}
