// Our trained DW4 weights (weights/dw4.safetensors) against their model card (weights/dw4.md):
// the test set is regenerated from the documented seed and the exact-trace NLL must match the
// card's figure within 0.1 nats.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "models/particle_model.hpp"
#include "models/safetensors.hpp"
#include "train/mcmc.hpp"

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(TrainWeights, Dw4ModelCardNllReproduces) {
  const std::string dir = std::string(ENF_SOURCE_DIR) + "/weights/";
  if (!std::ifstream(dir + "dw4.safetensors")) GTEST_SKIP() << "weights/dw4.safetensors not present";
  const enf::SafeTensors file = enf::SafeTensors::load_file(dir + "dw4.safetensors");
  const enf::ParticleModel model = enf::ParticleModel::load(file);
  ASSERT_EQ(model.system(), "dw4");
  const auto& meta = file.metadata();
  const uint64_t seed = std::stoull(meta.at("data_seed"));
  const int n_train = std::stoi(meta.at("n_train"));
  // The card states the same seed and NLL as the weights' metadata.
  const std::string card = read_text(dir + "dw4.md");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(card, m, std::regex(R"(Test NLL[^0-9]*([0-9]+\.[0-9]+) nats)"))) << "no 'Test NLL' in the card";
  const double card_nll = std::stod(m[1]);
  EXPECT_NEAR(card_nll, std::stod(meta.at("test_nll")), 1e-3);
  EXPECT_NE(card.find("seed " + std::to_string(seed)), std::string::npos) << "the card must state the data seed";

  const enf::train::Dataset data = enf::train::make_dataset(enf::train::dw4(), n_train, 1000, 1000, seed);
  enf::ode::Options solver;  // dopri5, as the card states
  solver.rtol = solver.atol = 1e-5;
  enf::flow::TraceOptions exact;
  exact.mode = enf::flow::Trace::Exact;
  const double nll = model.mean_nll(data.test, solver, exact);
  EXPECT_NEAR(nll, card_nll, 0.1);
}
