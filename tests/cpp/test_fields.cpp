// The paper's Table 1 fields (fields/: E-NF's EGNN, GNF's GNN with and without attention,
// Köhler et al.'s kernel and simple dynamics) through the shared machinery: inference against the
// training tape, equivariance where it holds and its detectable failure for GNF, gradients against
// finite differences, sliced batches, methods and their metadata.
#include <gtest/gtest.h>

#include <cmath>

#include "errors.hpp"
#include "fields/field.hpp"
#include "fields/methods.hpp"
#include "models/particle_model.hpp"
#include "models/safetensors.hpp"
#include "random_data.hpp"
#include "symmetry.hpp"
#include "train/particle_net.hpp"
#include "train/systems.hpp"
#include "train/trainer.hpp"

using namespace enf;
using namespace enf::train;

namespace {

using test::randn;
using test::rademacher;

// Every Table 1 method's field for particles of `system` in `dim` dimensions, from `seed`.
FieldParams method_params(const std::string& name, const std::string& system, int dim, uint64_t seed) {
  const fields::Method m = fields::method(name, system);
  FieldParams p = fields::field_kind(m.field).init(m.settings, dim, seed);
  if (m.field == "egnn")  // the reference's near-zero coordinate head would hide its derivatives
    for (size_t i = 0; i < p.values.size(); ++i)
      if (p.names[i].find("coord_mlp.2") != std::string::npos) p.values[i] *= 300;
  return p;
}

const std::vector<std::string> kFieldMethods{"E-NF", "GNF", "GNF-att", "Simple dynamics", "Kernel dynamics"};

// Particle i of the result is particle perm[i] of x, mapped by Q.
Eigen::VectorXd act(const Eigen::VectorXd& x, int D, const Eigen::MatrixXd& Q, const std::vector<int>& perm) {
  Eigen::VectorXd out(x.size());
  for (size_t i = 0; i < perm.size(); ++i) out.segment(i * D, D) = Q * x.segment(perm[i] * D, D);
  return out;
}

}  // namespace

TEST(Fields, RegistryAndMethods) {
  EXPECT_EQ(fields::field_kinds(), (std::vector<std::string>{"egnn", "gnn", "kernel", "simple"}));
  EXPECT_EQ(fields::method_names().size(), 6u);
  EXPECT_EQ(fields::method("Kernel dynamics", "lj13").settings.at("preset").as_string(), "lj13");
  EXPECT_EQ(fields::method("Kernel dynamics", "dw4").settings.at("preset").as_string(), "dw4");
  EXPECT_TRUE(fields::method("GNF-att-aug", "dw4").augment);
  EXPECT_FALSE(fields::method("GNF-att", "dw4").augment);
  try {
    fields::method("GNF-aug", "dw4");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("unknown method 'GNF-aug': use one of E-NF, GNF, GNF-att, GNF-att-aug"), std::string::npos);
  }
  EXPECT_THROW(fields::field_kind("kernel").configure(json::parse(R"({"preset": "lj7"})")), InvalidInput);
  EXPECT_THROW(fields::field_kind("gnn").configure(json::parse(R"({"heads": 2})")), InvalidInput);
  EXPECT_THROW(fields::field_kind("simple").configure(json::parse(R"({"hidden": 2})")), InvalidInput);
}

// The inference field (float32 for the graph networks, double for the radial fields) and the
// training tape compute the same velocity and Jacobian-vector product.
TEST(Fields, InferenceMatchesTheTrainingTape) {
  for (const std::string& name : kFieldMethods)
    for (auto [N, D, system] : {std::tuple{4, 2, "dw4"}, std::tuple{13, 3, "lj13"}}) {
      SCOPED_TRACE(name + " " + system);
      const FieldParams p = method_params(name, system, D, 11);
      const ParticleModel model(system, N, D, p, name);
      const Eigen::MatrixXd x = centre(randn(3, N * D, 5, 1.5), D), e = randn(3, N * D, 6);
      const auto [v, jv] = particle_velocity(p, N, D, 0.37, x, e);
      for (int b = 0; b < 3; ++b) {
        flow::StateVector ds;
        model.dynamics().velocity(0.37, x.row(b).transpose(), ds);
        const Eigen::MatrixXd J = model.dynamics().jacobian_times(0.37, x.row(b).transpose(), e.row(b).transpose());
        EXPECT_LT((ds.transpose() - v.row(b)).cwiseAbs().maxCoeff(), 1e-5 * (1 + ds.cwiseAbs().maxCoeff()));
        EXPECT_LT((J.col(0).transpose() - jv.row(b)).cwiseAbs().maxCoeff(), 1e-4 * (1 + J.cwiseAbs().maxCoeff()));
        EXPECT_GT(ds.norm(), 1e-3);  // vacuous with a zero field
        EXPECT_GT(J.norm(), 1e-3);
      }
    }
}

// The exact trace equals the trace of the Jacobian assembled column by column.
TEST(Fields, ExactTraceIsTheJacobiansTrace) {
  for (const std::string& name : kFieldMethods) {
    SCOPED_TRACE(name);
    const int N = 5, D = 3;
    const ParticleModel model("lj13", N, D, method_params(name, "lj13", D, 3), name);
    const flow::StateVector s = centre(randn(1, N * D, 8, 1.2), D).row(0).transpose();
    flow::StateVector ds;
    const double tr = model.dynamics().velocity_with_exact_trace(0.6, s, ds);
    const Eigen::MatrixXd J = model.dynamics().jacobian_times(0.6, s, Eigen::MatrixXd::Identity(N * D, N * D));
    EXPECT_NEAR(tr, J.trace(), 1e-4 * (1 + std::abs(tr)));
  }
}

// E-NF, kernel and simple dynamics commute with rotations, reflections and permutations of the
// particles; GNF and GNF-att commute with permutations only, and the test sees their rotation error.
TEST(Fields, EquivarianceHoldsExceptForGnf) {
  for (const std::string& name : kFieldMethods)
    for (auto [N, D, system] : {std::tuple{4, 2, "dw4"}, std::tuple{13, 3, "lj13"}}) {
      SCOPED_TRACE(name + " " + system);
      const ParticleModel model(system, N, D, method_params(name, system, D, 21), name);
      const bool equivariant = fields::method(name, system).equivariant;
      for (uint64_t seed : {1, 2}) {
        const flow::StateVector x = centre(randn(1, N * D, 30 + seed, 1.5), D).row(0).transpose();
        const Eigen::MatrixXd Q = test::random_orthogonal(D, seed, seed == 2);
        const std::vector<int> perm = test::random_permutation(N, 40 + seed), id = [&] {
          std::vector<int> v(N);
          for (int i = 0; i < N; ++i) v[i] = i;
          return v;
        }();
        flow::StateVector v, v_rot, v_perm;
        model.dynamics().velocity(0.4, x, v);
        model.dynamics().velocity(0.4, act(x, D, Q, id), v_rot);
        model.dynamics().velocity(0.4, act(x, D, Eigen::MatrixXd::Identity(D, D), perm), v_perm);
        const double scale = v.cwiseAbs().maxCoeff();
        ASSERT_GT(scale, 1e-3);
        const double rot_err = (v_rot - act(v, D, Q, id)).cwiseAbs().maxCoeff() / scale;
        const double perm_err = (v_perm - act(v, D, Eigen::MatrixXd::Identity(D, D), perm)).cwiseAbs().maxCoeff() / scale;
        EXPECT_LT(perm_err, 1e-5);
        if (equivariant)
          EXPECT_LT(rot_err, 1e-5);
        else
          EXPECT_GT(rot_err, 1e-2);  // GNF: not equivariant, and detectably so
      }
      // The likelihood: invariant for the equivariant fields (exact trace, tight solve).
      if (!equivariant) continue;
      ode::Options solver;
      solver.rtol = solver.atol = 1e-7;
      flow::TraceOptions exact;
      exact.mode = flow::Trace::Exact;
      const Eigen::VectorXd x = centre(randn(1, N * D, 50, 1.5), D).row(0).transpose();
      const Eigen::MatrixXd Q = test::random_orthogonal(D, 5, true);
      const double a = model.log_likelihood(x, solver, exact).log_likelihood;
      const double b = model.log_likelihood(act(x, D, Q, test::random_permutation(N, 6)), solver, exact).log_likelihood;
      EXPECT_NEAR(a, b, 1e-4 * (1 + std::abs(a)));
    }
}

// The training loss's gradient against central finite differences along a random direction in
// parameter space, and entry by entry for two entries of every tensor, in 2-D and 3-D.
TEST(Fields, GradientsMatchFiniteDifferences) {
  for (const std::string& name : {"GNF", "GNF-att", "Simple dynamics", "Kernel dynamics"})
    for (auto [N, D, system] : {std::tuple{4, 2, "dw4"}, std::tuple{5, 3, "lj13"}}) {
      SCOPED_TRACE(std::string(name) + " " + system);
      FieldParams p = method_params(name, system, D, 7);
      if (p.kind == "kernel") p.values[2].setConstant(0.3);  // importance: 0 at init, where its gradient vanishes
      const Eigen::MatrixXd x = centre(randn(3, N * D, 4, 1.5), D), e = rademacher(3, N * D, 8);
      const NllOptions o{3, false};
      const NllResult r = particle_nll(p, N, D, x, e, o, true);
      auto loss = [&](const FieldParams& q) { return particle_nll(q, N, D, x, e, o, false).loss; };
      const double h = 1e-5;
      for (size_t i = 0; i < p.values.size(); ++i)
        for (Eigen::Index k : {Eigen::Index(0), p.values[i].size() - 1}) {
          FieldParams q = p;
          q.values[i](k) += h;
          const double lp = loss(q);
          q.values[i](k) -= 2 * h;
          const double fd = (lp - loss(q)) / (2 * h);
          EXPECT_LE(std::abs(r.grads[i](k) - fd), 1e-4 * std::max(std::abs(fd), 1e-3))
              << p.names[i] << "[" << k << "]: " << r.grads[i](k) << " vs " << fd;
        }
      FieldParams up = p, um = p;
      double dot = 0;
      Rng rng(99);
      for (size_t i = 0; i < p.values.size(); ++i)
        for (Eigen::Index k = 0; k < p.values[i].size(); ++k) {
          const double u = rng.normal();
          up.values[i](k) += h * u;
          um.values[i](k) -= h * u;
          dot += r.grads[i](k) * u;
        }
      const double fd = (loss(up) - loss(um)) / (2 * h);
      EXPECT_LE(std::abs(dot - fd), 1e-4 * std::abs(fd)) << dot << " vs " << fd;
      EXPECT_GT(std::abs(fd), 1e-4);
    }
}

// Gradient accumulation over slices of the batch gives the whole batch's loss and gradient.
TEST(Fields, SlicedBatchEqualsTheWholeBatch) {
  for (const std::string& name : {"GNF-att", "Simple dynamics", "Kernel dynamics"}) {
    SCOPED_TRACE(name);
    const FieldParams p = method_params(name, "dw4", 2, 2);
    const Eigen::MatrixXd x = centre(randn(7, 8, 3, 2.0), 2), e = rademacher(7, 8, 4);
    NllOptions whole{3, true};
    whole.chunk = 7;
    NllOptions sliced = whole;
    sliced.chunk = 3;
    const NllResult a = particle_nll(p, 4, 2, x, e, whole, true);
    const NllResult b = particle_nll(p, 4, 2, x, e, sliced, true);
    EXPECT_NEAR(a.loss, b.loss, 1e-12 * std::abs(a.loss));
    for (size_t i = 0; i < a.grads.size(); ++i)
      EXPECT_LE((a.grads[i] - b.grads[i]).cwiseAbs().maxCoeff(), 1e-12 * (1 + a.grads[i].cwiseAbs().maxCoeff()));
  }
}

// Each method trains (the loss falls on DW4 data), and its weights carry method, system and
// n_train through a save and load; a file whose method does not fit its field is refused.
TEST(Fields, MethodsTrainAndTheirWeightsSayWhichTheyAre) {
  const ParticleSystem sys = builtin_system("dw4");
  const Eigen::MatrixXd data = randn(40, 8, 5, 1.5);
  for (const std::string& name : fields::method_names()) {
    SCOPED_TRACE(name);
    TrainConfig c;
    c.batch = 20;
    c.seed = 3;
    c.adam.lr = 3e-3;
    apply_method(c, name, sys);
    Trainer t(sys, data, c);
    const double first = t.epoch();
    for (int k = 0; k < 6; ++k) t.epoch();
    EXPECT_LT(t.epoch(), first);
    const ParticleModel m = t.model();
    EXPECT_EQ(m.method(), name);
    EXPECT_EQ(m.n_train(), 40);
    const std::vector<uint8_t> bytes = m.to_safetensors({{"method", "E-NF"}});  // the model's own method wins
    const SafeTensors file = SafeTensors::from_bytes(bytes);
    EXPECT_EQ(file.metadata().at("method"), name);
    EXPECT_EQ(file.metadata().at("system"), "dw4");
    EXPECT_EQ(file.metadata().at("n_train"), "40");
    const ParticleModel back = ParticleModel::load(file);
    EXPECT_EQ(back.method(), name);
    EXPECT_EQ(back.n_train(), 40);
    EXPECT_EQ(back.params().kind, m.params().kind);
  }
  const FieldParams gnf = method_params("GNF", "dw4", 2, 1);
  EXPECT_THROW(ParticleModel("dw4", 4, 2, gnf, "GNF-att-aug"), InvalidInput);  // GNF-att-aug has attention
  EXPECT_THROW(ParticleModel("dw4", 4, 2, gnf, "E-NF"), InvalidInput);
  EXPECT_EQ(ParticleModel("dw4", 4, 2, gnf).method(), "GNF");
}

// GNF-att-aug's augmentation maps each sample by a random orthogonal matrix: the same seed gives
// the same steps, and the loss differs from GNF-att's on the same data and seed.
TEST(Fields, AugmentationRotatesTheTrainingData) {
  const ParticleSystem sys = builtin_system("dw4");
  const Eigen::MatrixXd data = randn(20, 8, 9, 1.5);
  auto first_loss = [&](const std::string& name) {
    TrainConfig c;
    c.batch = 20;
    c.seed = 4;
    apply_method(c, name, sys);
    Trainer t(sys, data, c);
    return t.step().loss;
  };
  EXPECT_EQ(first_loss("GNF-att-aug"), first_loss("GNF-att-aug"));
  EXPECT_NE(first_loss("GNF-att-aug"), first_loss("GNF-att"));
}
