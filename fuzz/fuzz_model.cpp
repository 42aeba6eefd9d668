// A weights file from arbitrary bytes: the safetensors reader, then Qm9Model::load (architecture
// and p(M) from the metadata config), then a few cheap uses of whatever loaded (weights may be
// NaN or huge). Properties: a bad file raises WeightsError, a loaded model respects its limits,
// and using it raises only the documented errors (InvalidInput, SolverError).
#include <numeric>
#include <vector>

#include "common.hpp"
#include "errors.hpp"
#include "models/qm9_model.hpp"
#include "models/safetensors.hpp"

namespace {

void use(const enf::Qm9Model& model) {
  FUZZ_CHECK(model.max_atoms() >= 1 && model.max_atoms() <= enf::kQm9MaxAtoms);
  const auto& p = model.atom_count_probabilities();
  FUZZ_CHECK(static_cast<int>(p.size()) == model.max_atoms() + 1);
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  FUZZ_CHECK(std::abs(total - 1.0) < 1e-9);
  // The smallest size p(M) supports, so that the solves below stay cheap.
  int atoms = 1;
  while (p[atoms] <= 0) ++atoms;
  enf::ode::Options cheap;
  cheap.method = enf::ode::Method::rk4();
  cheap.fixed_steps = 2;
  try {
    enf::SampleOptions o;
    o.atoms = atoms;
    o.seed = 7;
    o.solver = cheap;
    const enf::SampledMolecule s = model.sample(o);
    FUZZ_CHECK(s.molecule.size() == atoms);
    FUZZ_CHECK(static_cast<int>(s.charges.size()) == atoms);
  } catch (const enf::SolverError&) {
  } catch (const enf::InvalidInput&) {
  }
  try {
    enf::chem::Molecule m;
    for (int i = 0; i < atoms; ++i) {
      m.types.push_back(i % enf::kQm9Types);
      for (double x : {1.1 * i, 0.3 * (i % 2), -0.2 * i}) m.positions.push_back(x);
    }
    enf::LikelihoodOptions o;
    o.solver = cheap;
    o.probes = 2;
    const enf::LikelihoodResult r = model.log_likelihood(m, o);
    FUZZ_CHECK(r.atoms == atoms && r.per_sample.size() == 1);
  } catch (const enf::SolverError&) {
  } catch (const enf::InvalidInput&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  try {
    // The checksum only guards against corruption in transit; skipping it lets mutated tensor
    // data reach the model. The checked path runs on the same bytes afterwards.
    const enf::SafeTensors file = enf::SafeTensors::from_bytes(bytes, false);
    for (const auto& name : file.names()) {
      try {
        file.floats(name, file.shape(name));
      } catch (const enf::WeightsError&) {
        file.ints(name);  // the shape matched, so it is an integer tensor and this must work
      }
    }
    try {
      enf::SafeTensors::from_bytes(bytes, true);
    } catch (const enf::WeightsError&) {
    }
    use(enf::Qm9Model::load(file));
  } catch (const enf::WeightsError&) {
  }
  return 0;
}
