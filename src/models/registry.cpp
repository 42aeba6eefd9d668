#include "models/registry.hpp"

#include "errors.hpp"
#include "models/safetensors.hpp"

namespace enf {

namespace {

struct Family {
  const char* metadata;  // the "model" entry
  ModelFamily family;
  const char* what;      // for messages
};

constexpr Family kFamilies[] = {
    {"qm9", ModelFamily::Molecule, "a molecule E-NF (load it with loadModel)"},
    {"particle_enf", ModelFamily::Particle, "a particle flow (load it with loadParticleFlow)"},
};

const Family& family_of(const SafeTensors& file) {
  const auto& meta = file.metadata();
  const auto it = meta.find("model");
  const std::string name = it == meta.end() ? "qm9" : it->second;
  for (const Family& f : kFamilies)
    if (name == f.metadata) return f;
  throw WeightsError("these weights are for model '" + name + "', which this library does not know (it loads 'qm9' and 'particle_enf')");
}

}  // namespace

ModelFamily model_family(const SafeTensors& file) { return family_of(file).family; }

void expect_family(const SafeTensors& file, ModelFamily family) {
  const Family& f = family_of(file);
  if (f.family == family) return;
  for (const Family& want : kFamilies)
    if (want.family == family)
      throw WeightsError(std::string("these weights are ") + f.what + ", not " + want.what);
}

}  // namespace enf
