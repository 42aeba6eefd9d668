// A particle E-NF weights file (the JS training mode imports them) from arbitrary bytes:
// SafeTensors::from_bytes, ParticleModel::load (config and tensors), then a cheap sample and
// score when the system is small. Properties: a bad file raises WeightsError; using a loaded
// model raises only InvalidInput or SolverError.
#include <vector>

#include "common.hpp"
#include "errors.hpp"
#include "models/particle_model.hpp"
#include "models/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  try {
    const enf::ParticleModel model = enf::ParticleModel::load(enf::SafeTensors::from_bytes(bytes, false));
    FUZZ_CHECK(model.n_particles() >= 2 && model.n_particles() <= 1000 && model.dim() >= 1 && model.dim() <= 3);
    if (model.n_particles() > 16) return 0;  // a fuzzing run is no place for large systems
    enf::ode::Options cheap;
    cheap.method = enf::ode::Method::rk4();
    cheap.fixed_steps = 2;
    try {
      const Eigen::MatrixXd s = model.sample(2, 3, cheap);
      FUZZ_CHECK(s.rows() == 2 && s.cols() == model.n_particles() * model.dim());
      enf::flow::TraceOptions trace;
      trace.mode = enf::flow::Trace::Hutchinson;
      trace.probes = 2;
      trace.seed = 1;
      const auto l = model.log_likelihood(s.row(0).transpose(), cheap, trace);
      FUZZ_CHECK(l.nfe > 0);
    } catch (const enf::SolverError&) {
    } catch (const enf::InvalidInput&) {
    }
  } catch (const enf::WeightsError&) {
  }
  return 0;
}
