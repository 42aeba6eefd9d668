// Limits with clear errors: atoms per model, solver steps, Hutchinson probes and dequantization
// samples, the model configuration a weights file may give, the binding-level argument checks,
// and regressions for the inputs the fuzzers (fuzz/) and their review turned up.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "api/arguments.hpp"
#include "api/options.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"
#include "models/json.hpp"
#include "models/particle_model.hpp"
#include "models/qm9_model.hpp"
#include "models/safetensors.hpp"
#include "models/verify.hpp"
#include "ode/ode.hpp"

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A tiny QM9-shaped model with random weights (hidden 4, one layer per network, max_atoms 9),
// written by fuzz/make_corpus.py as the model target's seed.
std::vector<uint8_t> tiny_bytes() {
  std::ifstream in(ENF_SOURCE_DIR "/fuzz/corpus/model/tiny.safetensors", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const enf::Qm9Model& tiny() {
  static const enf::Qm9Model m = enf::Qm9Model::load(enf::SafeTensors::from_bytes(tiny_bytes()));
  return m;
}

// The tiny file with its metadata config rewritten by `edit` (the checksum is dropped, so that
// only the config decides).
template <class Edit>
std::vector<uint8_t> with_config(Edit edit) {
  const std::vector<uint8_t> bytes = tiny_bytes();
  uint64_t header_len = 0;
  for (int k = 7; k >= 0; --k) header_len = (header_len << 8) | bytes[k];
  const enf::json::Value header =
      enf::json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, header_len));
  enf::json::Value::Object members;
  for (const auto& [k, v] : header.as_object()) {
    if (k != "__metadata__") {
      members.emplace_back(k, v);
      continue;
    }
    enf::json::Value::Object meta;
    for (const auto& [mk, mv] : v.as_object()) {
      if (mk == "config") {
        enf::json::Value::Object config = enf::json::parse(mv.as_string()).as_object();
        edit(config);
        meta.emplace_back(mk, enf::json::Value::string(enf::json::dump(enf::json::Value::object(config))));
      } else if (mk != "sha256") {
        meta.emplace_back(mk, mv);
      }
    }
    members.emplace_back(k, enf::json::Value::object(meta));
  }
  std::string text = enf::json::dump(enf::json::Value::object(members));
  std::vector<uint8_t> out(8);
  for (int k = 0; k < 8; ++k) out[k] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * k));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), bytes.begin() + 8 + static_cast<long>(header_len), bytes.end());
  return out;
}

void set(enf::json::Value::Object& obj, const std::string& key, enf::json::Value v) {
  for (auto& [k, x] : obj)
    if (k == key) {
      x = std::move(v);
      return;
    }
  obj.emplace_back(key, std::move(v));
}

// Runs `f`, expecting exception E whose message contains `words`.
template <class E, class F>
void expect_error(F f, const std::string& words) {
  try {
    f();
    ADD_FAILURE() << "expected an error mentioning '" << words << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

enf::chem::Molecule chain(int atoms) {
  enf::chem::Molecule m;
  for (int i = 0; i < atoms; ++i) {
    m.types.push_back(i % 2);
    for (double x : {1.2 * i, 0.2 * (i % 2), 0.0}) m.positions.push_back(x);
  }
  return m;
}

}  // namespace

TEST(Limits, QM9ModelsHandleAtMost29AtomsAndSayWhy) {
  EXPECT_EQ(enf::kQm9MaxAtoms, 29);
  // A weights file may lower the limit (the tiny model says 9) but never raise it.
  EXPECT_EQ(tiny().max_atoms(), 9);
  expect_error<enf::InvalidInput>([] { tiny().validate(chain(10)); }, "at most 9");
  expect_error<enf::InvalidInput>([] { tiny().log_likelihood(chain(10), {}); }, "at most 9");
  enf::SampleOptions o;
  o.atoms = 10;
  EXPECT_THROW(tiny().sample(o), enf::InvalidInput);
  expect_error<enf::InvalidInput>(
      [] { enf::api::sample_call(enf::json::parse(R"({"atoms": 10})"), tiny().max_atoms()); },
      "atoms must be an integer in [0, 9]");
  expect_error<enf::WeightsError>(
      [] {
        enf::Qm9Model::load(enf::SafeTensors::from_bytes(
            with_config([](auto& c) { set(c, "max_atoms", enf::json::Value::number(30)); })));
      },
      "max_atoms must be an integer in [1, 29]");
  // XYZ text announcing more atoms than allowed is refused at the count line, before any atom.
  expect_error<enf::InvalidInput>([] { enf::chem::parse_xyz("30\n\n"); }, "at most 29");
}

TEST(Limits, SolverStepsAreBoundedSoNoSolveHangs) {
  enf::ode::Vector y(1);
  y << 1.0;
  enf::ode::Options o;
  o.max_steps = enf::ode::kMaxSteps + 1;
  const auto rhs = [](double, const enf::ode::Vector& v, enf::ode::Vector& d) { d = v; };
  expect_error<enf::InvalidInput>([&] { enf::ode::integrate(rhs, 0, 1, y, o); }, "max_steps must be in [1, 1000000]");
  o.method = enf::ode::Method::rk4();
  o.fixed_steps = enf::ode::kMaxSteps + 1;
  expect_error<enf::InvalidInput>([&] { enf::ode::integrate(rhs, 0, 1, y, o); }, "fixed_steps must be in [1, 1000000]");
  // y' = y^2 from y(0) = 1 blows up at t = 1: dopri5 must stop with SolverError, quickly.
  const auto start = std::chrono::steady_clock::now();
  enf::ode::Options blowup;
  y << 1.0;
  EXPECT_THROW(enf::ode::integrate([](double, const enf::ode::Vector& v, enf::ode::Vector& d) { d = v.cwiseProduct(v); },
                                   0, 2, y, blowup),
               enf::SolverError);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  // A model solve that cannot finish in its step budget says so.
  enf::SampleOptions s;
  s.atoms = 5;
  s.solver.max_steps = 2;
  s.solver.rtol = s.solver.atol = 1e-9;
  expect_error<enf::SolverError>([&] { tiny().sample(s); }, "within 2 steps");
}

TEST(Limits, ProbeSampleAndFrameCountsAreBounded) {
  const enf::chem::Molecule m = chain(4);
  enf::LikelihoodOptions o;
  o.solver.method = enf::ode::Method::rk4();
  o.solver.fixed_steps = 2;
  for (int probes : {0, -1, enf::api::kMaxProbes + 1}) {
    o.probes = probes;
    expect_error<enf::InvalidInput>([&] { tiny().log_likelihood(m, o); }, "probes must be between 1 and 1024");
  }
  o.probes = 1;
  for (int samples : {0, enf::api::kMaxSamples + 1}) {
    o.samples = samples;
    expect_error<enf::InvalidInput>([&] { tiny().log_likelihood(m, o); }, "samples must be between 1 and 1000");
  }
  o.samples = 1;
  o.probes = enf::api::kMaxProbes;  // the largest allowed count works (and stays cheap here)
  o.solver.fixed_steps = 1;
  EXPECT_EQ(tiny().log_likelihood(m, o).per_sample.size(), 1u);
  expect_error<enf::InvalidInput>([] { enf::api::likelihood_call(enf::json::parse(R"({"probes": 1025})")); },
                                  "probes must be an integer in [1, 1024]");
  expect_error<enf::InvalidInput>([] { enf::api::likelihood_call(enf::json::parse(R"({"samples": 1001})")); },
                                  "samples must be an integer in [1, 1000]");
  expect_error<enf::InvalidInput>([] { enf::api::likelihood_call(enf::json::parse(R"({"trace": "Exact"})")); },
                                  "trace must be one of 'hutchinson', 'exact'");
  enf::SampleOptions s;
  s.atoms = 3;
  expect_error<enf::InvalidInput>([&] { tiny().sample_trajectory(s, enf::api::kMaxFrames + 1, {}); },
                                  "frames must be 0 or between 2 and 10000");
}

TEST(Limits, BindingArgumentChecksAcceptExactlyTheirRange) {
  using enf::api::to_int;
  EXPECT_EQ(to_int(29, "atoms", 0, 29), 29);
  for (double bad : {30.0, -1.0, 2.5, kNaN, kInf, 1e300, -2147483649.0})
    EXPECT_THROW(to_int(bad, "atoms", 0, 29), enf::InvalidInput) << bad;
  EXPECT_EQ(enf::api::to_seed(9007199254740992.0), uint64_t{1} << 53);
  for (double bad : {9007199254740994.0, -1.0, 0.5, kNaN, 1e300}) EXPECT_THROW(enf::api::to_seed(bad), enf::InvalidInput);
  EXPECT_EQ(enf::api::to_tolerance(1e-4, "rtol"), 1e-4);
  for (double bad : {0.0, 1.0, -1e-4, kNaN, kInf}) EXPECT_THROW(enf::api::to_tolerance(bad, "rtol"), enf::InvalidInput);
  EXPECT_EQ(enf::api::type_from_number(6), 1);
  EXPECT_EQ(enf::api::type_from_name("c"), 1);
  for (double bad : {17.0, 6.5, -6.0, 1e300, kNaN, 0.0}) EXPECT_THROW(enf::api::type_from_number(bad), enf::InvalidInput);
  EXPECT_THROW(enf::api::type_from_name("Cl"), enf::InvalidInput);
  // Array lengths are checked before the copy allocates (a sparse JS Array can claim 2^32 - 1).
  EXPECT_NO_THROW(enf::api::check_length(900000, 9.0 * enf::api::kHelperMaxAtoms, "positions"));
  expect_error<enf::InvalidInput>([] { enf::api::check_length(4294967295.0, 900000, "positions"); }, "at most 900000");
}

TEST(Limits, WeightsConfigIsCheckedAndNamed) {
  using V = enf::json::Value;
  const auto load = [](auto edit) { return enf::Qm9Model::load(enf::SafeTensors::from_bytes(with_config(edit))); };
  EXPECT_EQ(load([](auto&) {}).max_atoms(), 9);
  expect_error<enf::WeightsError>(
      [&] {
        load([](auto& c) {
          for (auto& [k, v] : c)
            if (k == "flow") {
              auto f = v.as_object();
              set(f, "attention", V::boolean(false));
              v = V::object(f);
            }
        });
      },
      "flow.attention is false, this model has true");
  expect_error<enf::WeightsError>(
      [&] {
        load([](auto& c) {
          for (auto& [k, v] : c)
            if (k == "flow") {
              auto f = v.as_object();
              set(f, "hidden", V::number(5000));
              v = V::object(f);
            }
        });
      },
      "flow.hidden must be an integer in [1, 1024]");
  // Hidden 5 is allowed by the config but the tensors are 4 wide: the shape check names the tensor.
  expect_error<enf::WeightsError>(
      [&] {
        load([](auto& c) {
          for (auto& [k, v] : c)
            if (k == "dequantizer") {
              auto f = v.as_object();
              set(f, "hidden", V::number(5));
              v = V::object(f);
            }
        });
      },
      "net_fn.egnn.embedding.weight");
  expect_error<enf::WeightsError>(
      [&] { load([](auto& c) { set(c, "atomic_numbers", V::array({V::number(1), V::number(6)})); }); },
      "atomic_numbers");
}

// Regression: std::stoi read the histogram keys, so "99999999999" escaped as std::out_of_range
// and "abc" as std::invalid_argument instead of WeightsError, "5x" was read as 5, and a total
// of Inf turned p(M) into zeros.
TEST(Limits, AtomCountHistogramKeysAndTotalsAreChecked) {
  using V = enf::json::Value;
  for (const char* key : {"99999999999", "abc", "5x", "", "-3", "10", "0"}) {
    const std::string k = key;
    expect_error<enf::WeightsError>(
        [&] {
          enf::Qm9Model::load(enf::SafeTensors::from_bytes(with_config([&](auto& c) {
            set(c, "n_atoms_histogram", V::object({{"3", V::number(1)}, {k, V::number(1)}}));
          })));
        },
        "histogram");
  }
  expect_error<enf::WeightsError>(
      [&] {
        enf::Qm9Model::load(enf::SafeTensors::from_bytes(with_config([&](auto& c) {
          set(c, "n_atoms_histogram", V::object({{"3", V::number(1e308)}, {"4", V::number(1e308)}}));
        })));
      },
      "not finite");
  expect_error<enf::WeightsError>(
      [&] {
        enf::Qm9Model::load(enf::SafeTensors::from_bytes(with_config([&](auto& c) { set(c, "n_atoms_histogram", V::array({})); })));
      },
      "malformed");
}

// Regression: verify_golden indexed golden-file matrices by the state's atom count without
// checking their sizes (heap overflow on a short dequantizer_input.h or dequant_eps), and cast
// atomic numbers such as 1e300 to int (undefined behaviour).
TEST(Limits, GoldenFilesWithMismatchedSizesAreRejected) {
  enf::VerifyOptions o;
  o.rtol = o.atol = 1e-3;
  const std::string row9 = "[0.1,0.2,0.3,0,0,0,0,0,1]";
  const std::string dyn = R"({"cases":[{"t":0.5,"state":[)" + row9 + "," + row9 + "," + row9 +
                          R"(],"dstate_dt":[)" + row9 + "," + row9 + "," + row9 +
                          R"(],"dequantizer_input":{"x":[[0,0,0],[1,0,0],[0,1,0]],"h":[[1,0,0,0,0,1]]},)"
                          R"("dequantizer_mu_logsigma":[]}]})";
  expect_error<enf::InvalidInput>([&] { enf::verify_golden(tiny(), dyn, o); }, "one row per atom");
  const std::string flow_short_eps =
      R"({"cases":[{"atoms":[8,1,1],"x_centered":[[0,0,0.1],[0,0.7,-0.4],[0,-0.7,-0.4]],)"
      R"("dequant_eps":[[0,0,0,0,0,0]],"h_lifted":[],"log_q_h":0,"z":[],"delta_logp":0,"log_pz":0,"log_pN":0,"log_p":0}]})";
  expect_error<enf::InvalidInput>([&] { enf::verify_golden(tiny(), flow_short_eps, o); }, "dequantization noise");
  const std::string flow_bad_x =
      R"({"cases":[{"atoms":[8,1,1],"x_centered":[[0,0,0.1]],"dequant_eps":[],"h_lifted":[],"log_q_h":0,"z":[],)"
      R"("delta_logp":0,"log_pz":0,"log_pN":0,"log_p":0}]})";
  expect_error<enf::InvalidInput>([&] { enf::verify_golden(tiny(), flow_bad_x, o); }, "positions matrix");
  const std::string flow_huge_z =
      R"({"cases":[{"atoms":[1e300],"x_centered":[[0,0,0]],"dequant_eps":[],"h_lifted":[],"log_q_h":0,"z":[],)"
      R"("delta_logp":0,"log_pz":0,"log_pN":0,"log_p":0}]})";
  expect_error<enf::InvalidInput>([&] { enf::verify_golden(tiny(), flow_huge_z, o); }, "is not H, C, N, O or F");
}

namespace {

// The tiny file with the float32 tensor `name` filled with `value` (checksum dropped).
std::vector<uint8_t> with_tensor_value(const std::string& name, float value) {
  std::vector<uint8_t> bytes = with_config([](auto&) {});
  uint64_t header_len = 0;
  for (int k = 7; k >= 0; --k) header_len = (header_len << 8) | bytes[k];
  const enf::json::Value header =
      enf::json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, header_len));
  const auto& offsets = header.at(name).at("data_offsets").as_array();
  for (auto at = static_cast<size_t>(offsets[0].as_number()); at < static_cast<size_t>(offsets[1].as_number()); at += 4)
    std::memcpy(bytes.data() + 8 + header_len + at, &value, 4);
  return bytes;
}

}  // namespace

// Regression: ActNorm scales from the file were used unchecked; exp(80) * z reaches 1e34 and
// decode() cast floor(1e34) to int (undefined behaviour) for the charges.
TEST(Limits, HostileActNormScalesAreRejectedOrEndInSolverError) {
  expect_error<enf::WeightsError>(
      [] { enf::Qm9Model::load(enf::SafeTensors::from_bytes(with_tensor_value("transformations.0.h_log_s", std::numeric_limits<float>::quiet_NaN()))); },
      "ActNorm parameters");
  const enf::Qm9Model huge =
      enf::Qm9Model::load(enf::SafeTensors::from_bytes(with_tensor_value("transformations.0.h_log_s", 80.0f)));
  enf::SampleOptions o;
  o.atoms = 4;
  o.solver.method = enf::ode::Method::rk4();
  o.solver.fixed_steps = 2;
  expect_error<enf::SolverError>([&] { huge.sample(o); }, "beyond 1e9");
}

// Regression: ParticleModel::load cast n_layers, hidden, n_particles and dim from JSON doubles to
// int unchecked (1e300: undefined behaviour). The file is fuzz/corpus/particle's regression seed.
TEST(Limits, ParticleModelConfigIntegersAreRangeChecked) {
  std::ifstream in(ENF_SOURCE_DIR "/fuzz/corpus/particle/regression_n_layers_huge.safetensors", std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  expect_error<enf::WeightsError>([&] { enf::ParticleModel::load(enf::SafeTensors::from_bytes(std::move(bytes))); },
                                  "n_layers must be an integer in [1, 64]");
}
