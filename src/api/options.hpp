// A call's options as they cross from JavaScript into the core: one JSON-like object per call
// (the bindings convert the JS object to a json::Value), read here once. Every function names the
// call in its errors, checks each option's type and range, and rejects a key it does not know with
// a "did you mean" hint, so a misspelt option fails instead of being ignored. Adding an option is
// one line here and one field in the core's option struct.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "flow/cnf.hpp"
#include "flow/latent_transform.hpp"
#include "models/json.hpp"
#include "models/qm9_model.hpp"
#include "models/verify.hpp"
#include "ode/ode.hpp"
#include "train/mcmc.hpp"
#include "train/trainer.hpp"

namespace enf::api {

// Reads one options object; `call` names it in messages ("sample", "score", ...).
class OptionReader {
 public:
  OptionReader(const json::Value& options, std::string call);

  bool has(std::string_view key);  // present and not null (marks the key as known)
  int integer(std::string_view key, int lo, int hi, int fallback);
  uint64_t seed(std::string_view key, uint64_t fallback = 0);  // an integer in [0, 2^53]
  double number(std::string_view key, double lo, double hi, double fallback, bool open_low = false);
  double tolerance(std::string_view key, double fallback);  // in (0, 1)
  bool boolean(std::string_view key, bool fallback);
  std::string choice(std::string_view key, std::initializer_list<std::string_view> allowed, std::string fallback);
  std::string text(std::string_view key, std::string fallback);
  std::vector<double> numbers(std::string_view key, size_t max);  // an array of numbers; [] when absent
  // A dim x dim matrix, flat (row-major) or as dim rows; [] when absent.
  std::vector<double> matrix(std::string_view key, int dim);
  const json::Value* object(std::string_view key);  // a nested object, or nullptr when absent
  // Marks `keys` as handled elsewhere (by the JS wrapper: signal, onProgress, ...).
  void allow(std::initializer_list<std::string_view> keys);
  // Throws InvalidInput for the first key nobody read, with a "did you mean" hint.
  void finish() const;

 private:
  const json::Value* get(std::string_view key);
  [[noreturn]] void fail(std::string_view key, const std::string& must) const;
  const json::Value o_;  // a copy: readers are made from temporaries (shared, cheap to copy)
  std::string call_;
  std::vector<std::string> known_;
};

// The ODE options every solve takes: method (a tableau's name), rtol and atol (adaptive
// methods), steps (fixed-step methods).
ode::Options solver_options(OptionReader& r);
// rotation (orthogonal dim x dim) and permutation (indices into `particles`), of a latent.
flow::LatentTransform latent_options(OptionReader& r, int dim, int particles);

// QM9 model calls. frames: 0 for a sample, else the trajectory's frame count.
struct SampleCall {
  SampleOptions options;
  int frames = 0;
};
SampleCall sample_call(const json::Value& o, int max_atoms);
LikelihoodOptions likelihood_call(const json::Value& o);
VerifyOptions verify_call(const json::Value& o);

// Particle flow calls: sample (count, seed, solver, latent transform), score (trace, seed, solver).
struct ParticleSampleCall {
  int count = 1;
  uint64_t seed = 0;
  int batch = 0;  // samples per network evaluation (0: ParticleModel::default_batch())
  ode::Options solver;
  flow::LatentTransform latent;
};
ParticleSampleCall particle_sample_call(const json::Value& o, int particles, int dim);
struct ParticleScoreCall {
  flow::TraceOptions trace;
  ode::Options solver;
};
ParticleScoreCall particle_score_call(const json::Value& o);

// Training: the trainer's settings (batch, lr, weightDecay, maxGradNorm, rk4Steps, method (the
// Table 1 row), solver (a fixed-step ODE method), seed, fieldSettings, keepTapes), fitted to a wasm heap's tape memory; MCMC overrides (step,
// thin, burnIn, initScale, temperatures) on a system's default chain.
train::TrainConfig train_call(const json::Value& o, const train::ParticleSystem& system);

// A particle system: { name } for a built-in one (train/systems.hpp), or { name, particles, dim,
// comSpring, table, rMin, rMax } for a pair energy tabulated by the caller (train::tabulated_pair).
train::ParticleSystem system_call(const json::Value& o, double* r_max = nullptr);
// MCMC data: { count, seed } and overrides of the system's chain (step, thin, burnIn, initScale,
// temperatures); a tabulated system's rMax bounds the chain's spread.
struct DataCall {
  int count = 1;
  train::McmcOptions mcmc;
};
DataCall data_call(const json::Value& o, const train::ParticleSystem& system, double r_max);

}  // namespace enf::api
