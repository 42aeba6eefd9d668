// A molecule model is built from its weights' configuration: another element set than QM9's
// (here H, C, O) gives another state layout (3 types: 4 features, stride 7), and the model's
// element checks follow it.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "chem/elements.hpp"
#include "egnn/egnn.hpp"
#include "errors.hpp"
#include "models/qm9_model.hpp"
#include "models/safetensors.hpp"

namespace {

// A small molecule model with random weights shaped for the elements `symbols`, whose config
// names `config_symbols` (the same unless given).
std::vector<uint8_t> small_model(const std::vector<std::string>& symbols, std::vector<std::string> config_symbols = {}) {
  if (config_symbols.empty()) config_symbols = symbols;
  const int F = static_cast<int>(symbols.size()) + 1;  // one-hot + the integer feature
  std::vector<enf::TensorF32> tensors;
  auto add = [&](const std::string& prefix, const enf::egnn::EgnnConfig& c, uint64_t seed) {
    const enf::egnn::EgnnWeights w = enf::egnn::EgnnWeights::random(c, seed);
    enf::egnn::for_each_param(c, w.p, [&](const std::string& name, const enf::nn::MatrixF& m, int rows, int cols) {
      const bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
      enf::TensorF32 t{name, bias ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols}, {}};
      for (int r = 0; r < rows; ++r)
        for (int k = 0; k < cols; ++k) t.values.push_back(m(r, k));
      tensors.push_back(std::move(t));
    }, prefix);
  };
  add("transformations.1.odefunc.dynamics.egnn.", enf::egnn::EgnnConfig{1, 16, F + 1, F + 1, true, true, 15.0, true}, 1);
  add("net_fn.egnn.", enf::egnn::EgnnConfig{1, 16, F, 2 * F, false, false, 15.0, false}, 2);
  tensors.push_back({"transformations.0.x_log_s", {1, 1}, {0.1f}});
  tensors.push_back({"transformations.0.h_t", {1, F}, std::vector<float>(F, 0.0f)});
  tensors.push_back({"transformations.0.h_log_s", {1, F}, std::vector<float>(F, 0.0f)});
  std::string types, numbers;
  for (const std::string& s : config_symbols) {
    types += (types.empty() ? "\"" : ", \"") + s + "\"";
    numbers += (numbers.empty() ? "" : ", ") + std::to_string(enf::chem::element(enf::chem::type_from_symbol(s)).atomic_number);
  }
  const std::string config = R"({"max_atoms": 6, "n_atoms_histogram": {"3": 1, "4": 2, "5": 1}, "atom_types": [)" + types +
                             R"(], "atomic_numbers": [)" + numbers +
                             R"(], "flow": {"n_layers": 1, "hidden": 16}, "dequantizer": {"n_layers": 1, "hidden": 16}})";
  return enf::write_safetensors(tensors, {{"model", "qm9"}, {"config", config}});
}

}  // namespace

TEST(ModelConfig, AnotherElementSetGivesItsOwnLayoutAndChecks) {
  const enf::Qm9Model m = enf::Qm9Model::load(enf::SafeTensors::from_bytes(small_model({"H", "C", "O"})));
  const int H = enf::chem::type_from_symbol("H"), C = enf::chem::type_from_symbol("C"), O = enf::chem::type_from_symbol("O");
  EXPECT_EQ(m.elements(), (std::vector<int>{H, C, O}));
  EXPECT_EQ(m.n_types(), 3);
  EXPECT_EQ(m.features(), 4);
  EXPECT_EQ(m.stride(), 7);
  EXPECT_EQ(m.max_atoms(), 6);

  // Samples use only the model's elements; a score of an H/C/O molecule is finite.
  enf::SampleOptions o;
  o.atoms = 4;
  o.solver.rtol = o.solver.atol = 1e-3;
  std::set<int> seen;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    o.seed = seed;
    const enf::SampledMolecule s = m.sample(o);
    EXPECT_EQ(s.state.size(), 4u * 7u);
    seen.insert(s.molecule.types.begin(), s.molecule.types.end());
  }
  for (int t : seen) EXPECT_TRUE(t == H || t == C || t == O) << t;
  enf::chem::Molecule water{{O, H, H}, {0, 0, 0.12, 0, 0.76, -0.48, 0, -0.76, -0.48}};
  enf::LikelihoodOptions lo;
  lo.solver.rtol = lo.solver.atol = 1e-3;
  EXPECT_TRUE(std::isfinite(m.log_likelihood(water, lo).log_likelihood));

  // An element outside the set is refused by name.
  enf::chem::Molecule ammonia{{enf::chem::type_from_symbol("N"), H, H, H},
                              {0, 0, 0, 0.94, 0, -0.33, -0.47, 0.81, -0.33, -0.47, -0.81, -0.33}};
  try {
    m.log_likelihood(ammonia, lo);
    FAIL() << "N accepted";
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("element N is not one this model knows (H, C, O)"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, ElementSetsThatDoNotFitAreRefused) {
  auto expect_weights_error = [](const std::vector<std::string>& symbols, const std::string& needle) {
    try {
      enf::Qm9Model::load(enf::SafeTensors::from_bytes(small_model(symbols)));
      ADD_FAILURE() << "accepted";
    } catch (const enf::WeightsError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_weights_error({"H", "H"}, "atom_types lists an element twice");
  // The tensors fit 3 elements, the config says 2: the shapes are checked against the config.
  EXPECT_THROW(enf::Qm9Model::load(enf::SafeTensors::from_bytes(small_model({"H", "C", "O"}, {"H", "C"}))), enf::WeightsError);
}
