// The one boundary (src/api/options.cpp): each call's options object is read once, with its
// types, ranges and unknown keys checked and the errors naming the call and the option.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "api/options.hpp"
#include "errors.hpp"
#include "models/json.hpp"
#include "train/systems.hpp"

namespace {

using enf::json::parse;

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Options, SampleReadsEveryOptionOnce) {
  const auto c = enf::api::sample_call(
      parse(R"({"atoms": 12, "seed": 9, "rtol": 1e-6, "atol": 1e-5, "method": "bosh3", "steps": 20,
               "rotation": [[0, -1, 0], [1, 0, 0], [0, 0, 1]], "permutation": [1, 0], "frames": 5})"),
      29);
  EXPECT_EQ(c.options.atoms, 12);
  EXPECT_EQ(c.options.seed, 9u);
  EXPECT_EQ(c.options.solver.rtol, 1e-6);
  EXPECT_EQ(c.options.solver.atol, 1e-5);
  EXPECT_EQ(c.options.solver.method.name(), "bosh3");
  EXPECT_EQ(c.options.solver.fixed_steps, 20);
  EXPECT_EQ(c.options.latent.orthogonal, (std::vector<double>{0, -1, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(c.options.latent.permutation, (std::vector<int>{1, 0}));
  EXPECT_EQ(c.frames, 5);
  // Defaults: the authors' dopri5 at 1e-4, the seed 0, no transform, no trajectory.
  const auto d = enf::api::sample_call(parse("{}"), 29);
  EXPECT_EQ(d.options.solver.method.name(), "dopri5");
  EXPECT_EQ(d.options.solver.rtol, 1e-4);
  EXPECT_TRUE(d.options.latent.empty());
  EXPECT_EQ(d.frames, 0);
  // A flat row-major matrix is the same as rows.
  EXPECT_EQ(enf::api::sample_call(parse(R"({"rotation": [0, -1, 0, 1, 0, 0, 0, 0, 1]})"), 29).options.latent.orthogonal,
            c.options.latent.orthogonal);
}

TEST(Options, UnknownKeysAreRefusedWithAHint) {
  expect_error([] { enf::api::sample_call(parse(R"({"atom": 12})"), 29); }, "sample: unknown option 'atom': did you mean 'atoms'?");
  expect_error([] { enf::api::likelihood_call(parse(R"({"prob": 4})")); }, "did you mean 'probes'?");
  expect_error([] { enf::api::likelihood_call(parse(R"({"zzzzzz": 4})")); }, "unknown option 'zzzzzz'; the options are trace, probes");
  expect_error([] { enf::api::verify_call(parse(R"({"rtoll": 1e-3})")); }, "verify: unknown option 'rtoll': did you mean 'rtol'?");
}

TEST(Options, TypesAndRangesAreCheckedByName) {
  expect_error([] { enf::api::sample_call(parse(R"({"atoms": 30})"), 29); }, "sample: atoms must be an integer in [0, 29]");
  expect_error([] { enf::api::sample_call(parse(R"({"atoms": "12"})"), 29); }, "atoms must be an integer");
  expect_error([] { enf::api::sample_call(parse(R"({"seed": -1})"), 29); }, "seed must be an integer in [0, 2^53]");
  expect_error([] { enf::api::sample_call(parse(R"({"rtol": 0})"), 29); }, "rtol must be a number in (0, 1)");
  expect_error([] { enf::api::sample_call(parse(R"({"method": "rk45"})"), 29); }, "use one of dopri5, bosh3, rk4, midpoint, euler");
  expect_error([] { enf::api::sample_call(parse(R"({"rotation": [1, 0, 0]})"), 29); }, "rotation must be a 3x3 matrix");
  expect_error([] { enf::api::sample_call(parse(R"({"frames": 1})"), 29); }, "frames must be 0");
  expect_error([] { enf::api::sample_call(parse("[1, 2]"), 29); }, "sample: the options must be an object");
  expect_error([] { enf::api::likelihood_call(parse(R"({"trace": "Exact"})")); }, "trace must be one of 'hutchinson', 'exact'");
}

TEST(Options, TrainingCallsUseTheRegistryAndTheCore) {
  const enf::train::ParticleSystem dw4 = enf::api::system_call(parse(R"({"name": "dw4"})"));
  EXPECT_EQ(dw4.n_particles, 4);
  expect_error([] { enf::api::system_call(parse(R"({"name": "dw5"})")); }, "the built-in systems are 'dw4', 'lj13' and 'lj13-fluid'");
  // A tabulated pair energy: a flat well with a wall.
  double r_max = 0;
  const auto custom = enf::api::system_call(
      parse(R"({"name": "well", "particles": 3, "dim": 2, "table": [5, 1, 0, 1, 2], "rMin": 0, "rMax": 4})"), &r_max);
  EXPECT_EQ(custom.n_particles, 3);
  EXPECT_EQ(r_max, 4);
  const auto t = enf::api::train_call(parse(R"({"batch": 10, "lr": 1e-3, "solver": "midpoint", "seed": 3})"), dw4);
  EXPECT_EQ(t.batch, 10);
  EXPECT_EQ(t.solver.method.name(), "midpoint");
  EXPECT_EQ(t.method, "E-NF");
  EXPECT_EQ(t.field, "egnn");
  expect_error([] { enf::api::train_call(parse(R"({"solver": "dopri5"})"), enf::train::dw4()); }, "fixed-step method");
  // method is the Table 1 row; an ODE method there is pointed to `solver`.
  expect_error([] { enf::api::train_call(parse(R"({"method": "rk4"})"), enf::train::dw4()); },
               "method is the model (one of E-NF, GNF, GNF-att, GNF-att-aug, Simple dynamics, Kernel dynamics); the ODE "
               "solver 'rk4' goes in `solver`");
  expect_error([] { enf::api::train_call(parse(R"({"method": "GNN"})"), enf::train::dw4()); }, "unknown method 'GNN'");
  expect_error([] { enf::api::train_call(parse(R"({"field": "gnn"})"), enf::train::dw4()); }, "unknown option 'field'");
  const auto g = enf::api::train_call(parse(R"({"method": "GNF-att-aug", "fieldSettings": {"hidden": 8}})"), dw4);
  EXPECT_EQ(g.field, "gnn");
  EXPECT_TRUE(g.augment);
  EXPECT_EQ(g.field_settings.at("hidden").as_number(), 8);  // over the method's settings
  EXPECT_TRUE(g.field_settings.at("attention").as_bool());
  expect_error([] { enf::api::train_call(parse(R"({"fieldSettings": {"layers": 2}})"), enf::train::dw4()); },
               "unknown EGNN setting 'layers'");
  const auto d = enf::api::data_call(parse(R"({"count": 7, "seed": 5, "thin": 3})"), dw4, 1e300);
  EXPECT_EQ(d.count, 7);
  EXPECT_EQ(d.mcmc.seed, 5u);
  EXPECT_EQ(d.mcmc.thin, 3);
  EXPECT_EQ(d.mcmc.temperatures, enf::train::find_system("dw4")->mcmc.temperatures);  // the registry's chain
}
