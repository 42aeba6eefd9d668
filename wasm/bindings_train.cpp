// Embind bindings of the training mode (src/train/, src/models/particle_model): DW4, LJ13 or a
// user's pair energy; MCMC data, the trainer, the trained particle flow. Conversion and validation
// only, with the conventions of bindings.cpp: every function returns its result or
// { error: { kind, message } } and never throws into JS; callbacks return whether to continue.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api/arguments.hpp"
#include "errors.hpp"
#include "guarded.hpp"
#include "models/particle_model.hpp"
#include "models/safetensors.hpp"
#include "tensor/random.hpp"
#include "train/energy.hpp"
#include "train/mcmc.hpp"
#include "train/particle_net.hpp"
#include "train/trainer.hpp"

namespace {

using emscripten::val;

// Argument checks are the project's (src/api/arguments.hpp, tested and fuzzed natively); the
// error plumbing is shared with bindings.cpp (guarded.hpp).
using enf::api::check_length;
using enf::api::to_int;
using enf::api::to_seed;
using enf::api::to_tolerance;
using enf::api::trace_from_name;
using enf::wasm::Cancelled;
using enf::wasm::present;

template <class F>
val guarded(F&& body) {
  return enf::wasm::guarded(std::forward<F>(body), "out of memory: use fewer samples or a smaller batch");
}

// Data sets are larger than a molecule: up to 10^5 DW4 samples x 8 numbers and more.
constexpr double kMaxNumbers = 5e7;

std::vector<double> doubles(const val& a, const char* name) {
  if (!a.instanceof(val::global("Float64Array")))
    throw enf::InvalidInput(std::string(name) + " must be a Float64Array");
  check_length(a["length"].as<double>(), kMaxNumbers, name);
  return emscripten::convertJSArrayToNumberVector<double>(a);
}

double number_field(const val& o, const char* key, double fallback) {
  const val v = o[key];
  if (!present(v)) return fallback;
  if (v.typeOf().as<std::string>() != "number") throw enf::InvalidInput(std::string(key) + " must be a number");
  return v.as<double>();
}

val typed_copy(const double* data, size_t n) {
  return val::global("Float64Array").new_(emscripten::typed_memory_view(n, data));
}

// A pair energy tabulated by the caller on a uniform grid over [r_min, r_max]: linear interpolation
// inside, +inf below r_min (closer than the caller defined), linear extrapolation of the last
// interval above r_max. The JS side evaluated the user's function on the grid (a JS function cannot
// cross into a worker or run under a CSP without eval).
struct TabulatedPair {
  std::shared_ptr<const std::vector<double>> table;
  double r_min = 0, h = 1;
  double operator()(double d) const {
    const std::vector<double>& t = *table;
    const double u = (d - r_min) / h;
    if (u < 0) return std::numeric_limits<double>::infinity();
    const size_t last = t.size() - 1;
    size_t k = static_cast<size_t>(u);
    if (k >= last) k = last - 1;
    const double a = t[k], b = t[k + 1];
    if (std::isinf(a) || std::isinf(b)) return u - k < 0.5 ? a : b;  // +inf next to a wall: no interpolation
    return a + (u - static_cast<double>(k)) * (b - a);
  }
};

struct SystemSpec {
  enf::train::ParticleSystem system;
  double r_max = std::numeric_limits<double>::infinity();  // where a tabulated energy ends
};

// spec: { name, particles, dim, comSpring, table (Float64Array or null), rMin, rMax }; 'dw4',
// 'lj13' and 'lj13-paper' without a table are the built-in systems.
SystemSpec system_from(const val& spec) {
  if (!present(spec) || spec.typeOf().as<std::string>() != "object") throw enf::InvalidInput("the system must be an object");
  const val name_v = spec["name"];
  if (present(name_v) && name_v.typeOf().as<std::string>() != "string") throw enf::InvalidInput("the system's name must be a string");
  const std::string name = present(name_v) ? name_v.as<std::string>() : std::string("custom");
  const val table_v = spec["table"];
  SystemSpec out;
  if (!present(table_v)) {
    out.system = enf::train::builtin_system(name);
    return out;
  }
  const int n = to_int(number_field(spec, "particles", NAN), "particles", 2, 1000);
  const int dim = to_int(number_field(spec, "dim", NAN), "dim", 1, 3);
  const double r_min = number_field(spec, "rMin", 0), r_max = number_field(spec, "rMax", NAN);
  if (!std::isfinite(r_min) || r_min < 0 || !std::isfinite(r_max) || r_max <= r_min)
    throw enf::InvalidInput("the pair energy's range needs 0 <= rMin < rMax, both finite");
  auto table = std::make_shared<std::vector<double>>(doubles(table_v, "the pair energy table"));
  if (table->size() < 2 || table->size() > 1000000)
    throw enf::InvalidInput("the pair energy table needs 2 to 10^6 points");
  for (size_t k = 0; k < table->size(); ++k) {
    const double e = (*table)[k];
    if (std::isnan(e) || e == -std::numeric_limits<double>::infinity())
      throw enf::InvalidInput("the pair energy is " + std::string(std::isnan(e) ? "NaN" : "-Infinity") + " at distance " +
                              std::to_string(r_min + (r_max - r_min) * k / (table->size() - 1)) +
                              "; it must be a finite number (or +Infinity for a hard wall)");
  }
  if (std::isinf(table->back()) || std::isinf((*table)[table->size() - 2]))
    throw enf::InvalidInput("the pair energy must be finite near rMax (the table is extrapolated beyond it)");
  TabulatedPair pair{table, r_min, (r_max - r_min) / static_cast<double>(table->size() - 1)};
  out.system = enf::train::custom_system(name, n, dim, pair, number_field(spec, "comSpring", 0));
  out.r_max = r_max;
  return out;
}

Eigen::MatrixXd rows_of(const std::vector<double>& flat, int cols, const char* what) {
  if (flat.empty()) throw enf::InvalidInput(std::string(what) + " has no samples; pass at least one");
  if (flat.size() % static_cast<size_t>(cols) != 0)
    throw enf::InvalidInput(std::string(what) + " holds " + std::to_string(flat.size()) +
                            " numbers, not a whole number of samples of " + std::to_string(cols) + " coordinates");
  const Eigen::Index rows = static_cast<Eigen::Index>(flat.size() / cols);
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(flat.data(), rows, cols);
}

val matrix_out(const Eigen::MatrixXd& m) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = m;
  return typed_copy(r.data(), static_cast<size_t>(r.size()));
}

double max_pair_distance(const Eigen::MatrixXd& s, int n, int dim) {
  double best = 0;
  for (Eigen::Index r = 0; r < s.rows(); ++r)
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        double d2 = 0;
        for (int k = 0; k < dim; ++k) d2 += std::pow(s(r, i * dim + k) - s(r, j * dim + k), 2);
        best = std::max(best, d2);
      }
  return std::sqrt(best);
}

// ---- data

// MCMC samples of exp(-E) with the core's default chain for the system (overridable), exactly
// sample_mcmc's chain. Progress comes from counting pair-energy evaluations against the total the
// chain will make (each proposal re-evaluates every pair), which also lets the callback cancel.
val generate_data(val spec, double count, double seed, val overrides, val on_progress) {
  return guarded([&] {
    SystemSpec s = system_from(spec);
    const int n = to_int(count, "count", 1, 10000000);
    enf::train::McmcOptions o = enf::train::default_mcmc_options(s.system, to_seed(seed));
    if (present(overrides)) {
      o.step = number_field(overrides, "step", o.step);
      o.thin = to_int(number_field(overrides, "thin", o.thin), "thin", 1, 1000000);
      o.burn_in = to_int(number_field(overrides, "burnIn", o.burn_in), "burnIn", 0, 10000000);
      o.init_scale = number_field(overrides, "initScale", o.init_scale);
      const val t = overrides["temperatures"];
      if (present(t)) o.temperatures = doubles(t, "temperatures");
    }
    if (present(on_progress)) {
      const double N = s.system.n_particles;
      const double evals = (o.burn_in + static_cast<double>(n) * o.thin) * static_cast<double>(o.temperatures.size()) *
                           N * N * (N - 1) / 2;
      const double every = std::max(1.0, std::floor(evals / 200));  // about 200 callbacks
      struct Count {
        double calls = 0, next = 0;
      };
      auto count = std::make_shared<Count>(Count{0, every});
      auto inner = s.system.pair;
      s.system.pair = [inner, count, evals, every, &on_progress](double d) {
        if (++count->calls >= count->next) {
          count->next += every;
          if (!on_progress(std::min(1.0, count->calls / evals)).as<bool>()) throw Cancelled();
        }
        return inner(d);
      };
    }
    const enf::train::McmcResult r = enf::train::sample_mcmc(s.system, n, o);
    if (std::isfinite(s.r_max)) {
      const double far = max_pair_distance(r.samples, s.system.n_particles, s.system.dim);
      if (far > s.r_max)
        throw enf::InvalidInput("the MCMC chain diverged: particles drifted " + std::to_string(far) +
                                " apart, beyond the pair energy's range (rMax " + std::to_string(s.r_max) +
                                "); exp(-E) must confine the particles: make the energy grow with distance, add a "
                                "comSpring, or raise rMax if such distances are meant");
    }
    for (double e : r.energies)
      if (!std::isfinite(e)) throw enf::InvalidInput("the MCMC chain reached an infinite energy; check the pair energy");
    val out = val::object();
    out.set("samples", matrix_out(r.samples));
    out.set("energies", typed_copy(r.energies.data(), r.energies.size()));
    out.set("acceptance", r.acceptance);
    out.set("swapAcceptance", r.swap_acceptance);
    return out;
  });
}

// E(x) per row of a flat (rows x N*D) Float64Array; +inf where particles overlap a wall.
val system_energies(val spec, val positions) {
  return guarded([&] {
    const SystemSpec s = system_from(spec);
    const Eigen::MatrixXd x = rows_of(doubles(positions, "positions"), s.system.size(), "positions");
    std::vector<double> e(static_cast<size_t>(x.rows()));
    for (Eigen::Index r = 0; r < x.rows(); ++r) e[static_cast<size_t>(r)] = s.system.energy(x.row(r).transpose());
    val out = val::object();
    out.set("energies", typed_copy(e.data(), e.size()));
    return out;
  });
}

std::map<std::string, std::string> metadata_from(const val& meta) {
  std::map<std::string, std::string> m;
  if (!present(meta)) return m;
  const val keys = val::global("Object").call<val>("keys", meta);
  const int n = keys["length"].as<int>();
  for (int i = 0; i < n; ++i) {
    const std::string k = keys[i].as<std::string>();
    if (meta[k].typeOf().as<std::string>() != "string") throw enf::InvalidInput("metadata values must be strings");
    m[k] = meta[k].as<std::string>();
  }
  return m;
}

val bytes_out(const std::vector<uint8_t>& b) {
  return val::global("Uint8Array").new_(emscripten::typed_memory_view(b.size(), b.data()));
}

enf::ParticleModel model_from_bytes(const val& bytes) {
  if (!bytes.instanceof(val::global("Uint8Array")))
    throw enf::InvalidInput("the weights must be a Uint8Array holding a .safetensors file");
  std::vector<uint8_t> data = emscripten::convertJSArrayToNumberVector<uint8_t>(bytes);
  return enf::ParticleModel::load(enf::SafeTensors::from_bytes(std::move(data), true));
}

// ---- the trained flow

class WasmParticleModel {
 public:
  explicit WasmParticleModel(enf::ParticleModel m) : m_(std::make_shared<enf::ParticleModel>(std::move(m))) {}

  val info() const {
    val out = val::object();
    out.set("system", m_->system());
    out.set("particles", m_->n_particles());
    out.set("dim", m_->dim());
    return out;
  }

  // `count` samples; sample k starts from the latent Rng(seed + k) draws, so it is reproducible alone.
  // rotation ([] or dim x dim numbers) and permutation ([] or one index per particle) transform
  // every latent.
  val sample(double count, double seed, double rtol, double atol, val rotation, val permutation,
             val on_progress) const {
    return guarded([&] {
      const int n = to_int(count, "count", 1, 1000000);
      const enf::flow::LatentTransform latent = enf::api::latent_transform(
          doubles(rotation, "rotation"), doubles(permutation, "permutation"), m_->n_particles() - 1);
      latent.validate(m_->n_particles(), m_->dim());
      const uint64_t s0 = to_seed(seed);
      if (static_cast<double>(s0) + n - 1 > 9007199254740992.0) throw enf::InvalidInput("seed + count - 1 must not exceed 2^53");
      enf::ode::Options o;
      o.rtol = to_tolerance(rtol, "rtol");
      o.atol = to_tolerance(atol, "atol");
      int done = 0;
      if (present(on_progress))
        o.on_step = [&](double t, const enf::ode::Stats&) {
          if (!on_progress((done + (1 - t)) / n).as<bool>()) throw Cancelled();
        };
      Eigen::MatrixXd x(n, m_->n_particles() * m_->dim());
      for (; done < n; ++done) x.row(done) = m_->sample(1, s0 + static_cast<uint64_t>(done), o, latent).row(0);
      val out = val::object();
      out.set("positions", matrix_out(x));
      return out;
    });
  }

  // log p(x) per row of a flat (rows x N*D) Float64Array; Hutchinson probes seeded seed + row.
  val log_likelihood(val positions, std::string trace, double seed, double rtol, double atol, val on_progress) const {
    return guarded([&] {
      const Eigen::MatrixXd x = rows_of(doubles(positions, "positions"), m_->n_particles() * m_->dim(), "positions");
      enf::ode::Options o;
      o.rtol = to_tolerance(rtol, "rtol");
      o.atol = to_tolerance(atol, "atol");
      enf::flow::TraceOptions t;
      t.mode = trace_from_name(trace);
      t.rademacher = true;
      const uint64_t s0 = to_seed(seed);
      Eigen::Index row = 0;
      if (present(on_progress))
        o.on_step = [&](double tt, const enf::ode::Stats&) {
          if (!on_progress((static_cast<double>(row) + tt) / static_cast<double>(x.rows())).as<bool>()) throw Cancelled();
        };
      const size_t rows = static_cast<size_t>(x.rows());
      std::vector<double> ll(rows), pz(rows), dl(rows), nfe(rows);
      for (; row < x.rows(); ++row) {
        t.seed = s0 + static_cast<uint64_t>(row);
        const enf::ParticleLikelihood r = m_->log_likelihood(x.row(row).transpose(), o, t);
        const size_t k = static_cast<size_t>(row);
        ll[k] = r.log_likelihood;
        pz[k] = r.log_pz;
        dl[k] = r.delta_logp;
        nfe[k] = r.nfe;
      }
      val out = val::object();
      out.set("logLikelihood", typed_copy(ll.data(), rows));
      out.set("logPz", typed_copy(pz.data(), rows));
      out.set("deltaLogp", typed_copy(dl.data(), rows));
      out.set("nfe", typed_copy(nfe.data(), rows));
      return out;
    });
  }

  val to_safetensors(val meta) const {
    return guarded([&] {
      val out = val::object();
      out.set("bytes", bytes_out(m_->to_safetensors(metadata_from(meta))));
      return out;
    });
  }

 private:
  std::shared_ptr<const enf::ParticleModel> m_;
};

val load_particle_model(val bytes) {
  return guarded([&] {
    val out = val::object();
    out.set("model", val(WasmParticleModel(model_from_bytes(bytes))));
    return out;
  });
}

// ---- the trainer

class WasmTrainer {
 public:
  struct State {
    SystemSpec spec;
    enf::train::TrainConfig config;
    std::unique_ptr<enf::train::Trainer> trainer;
    Eigen::MatrixXd val;  // centred validation samples (may be empty)
    std::string diverged;  // why training stopped, once a step went non-finite
  };
  explicit WasmTrainer(std::shared_ptr<State> s) : s_(std::move(s)) {}

  val step() {
    return guarded([&] {
      if (!s_->diverged.empty()) throw enf::SolverError(s_->diverged);
      const enf::train::StepReport r = s_->trainer->step();
      if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm)) {
        char numbers[96];
        std::snprintf(numbers, sizeof numbers, "loss %.6g, gradient norm %.6g", r.loss, r.grad_norm);
        s_->diverged = "training diverged at step " + std::to_string(s_->trainer->steps()) + " (" + numbers +
                       "); the weights are no longer usable: create a new trainer with a lower lr or a smaller "
                       "maxGradNorm, and check the data's scale";
        throw enf::SolverError(s_->diverged);
      }
      val out = val::object();
      out.set("loss", r.loss);
      out.set("gradNorm", r.grad_norm);
      out.set("steps", static_cast<double>(s_->trainer->steps()));
      out.set("epochs", s_->trainer->epochs());
      return out;
    });
  }

  // Mean validation NLL with the training estimator (the RK4 steps and Rademacher probes of the
  // loss, probes drawn from `seed` so that successive calls compare like with like), in batches.
  val validate(double seed, double limit) const {
    return guarded([&] {
      if (s_->val.rows() == 0) throw enf::InvalidInput("this trainer has no validation set (nVal is 0)");
      const int rows = std::min<int>(static_cast<int>(s_->val.rows()), to_int(limit, "validation samples", 1, 100000000));
      enf::Rng rng(to_seed(seed));
      enf::train::NllOptions o = s_->config.solver;
      o.keep_tapes = false;
      const int B = std::max(1, s_->config.batch);
      double sum = 0;
      for (int start = 0; start < rows; start += B) {
        const int b = std::min(B, rows - start);
        const Eigen::MatrixXd x = s_->val.middleRows(start, b);
        Eigen::MatrixXd probes(b, x.cols());
        for (Eigen::Index i = 0; i < probes.size(); ++i) probes(i) = rng.rademacher();
        const enf::train::NllResult r = enf::train::particle_nll(s_->trainer->params(), s_->spec.system.n_particles,
                                                                 s_->spec.system.dim, x, probes, o, false);
        sum += r.loss * b;
      }
      val out = val::object();
      out.set("nll", sum / rows);
      out.set("samples", rows);
      return out;
    });
  }

  val set_learning_rate(double lr) {
    return guarded([&] {
      s_->trainer->set_learning_rate(lr);
      return val::object();
    });
  }

  val model() const {
    return guarded([&] {
      val out = val::object();
      out.set("model", val(WasmParticleModel(s_->trainer->model())));
      return out;
    });
  }

 private:
  std::shared_ptr<State> s_;
};

// config: { batch, lr, weightDecay, maxGradNorm, rk4Steps, seed, keepTapes }, checked against the
// system (the tape's memory) before any data is generated.
enf::train::TrainConfig train_config(const enf::train::ParticleSystem& sys, const val& config) {
  enf::train::TrainConfig c;
  if (present(config)) {
    c.batch = to_int(number_field(config, "batch", c.batch), "batch", 1, 100000);
    c.adam.lr = number_field(config, "lr", c.adam.lr);
    if (!(c.adam.lr > 0 && c.adam.lr <= 1)) throw enf::InvalidInput("lr must be a number in (0, 1]");
    c.adam.weight_decay = number_field(config, "weightDecay", c.adam.weight_decay);
    if (!(c.adam.weight_decay >= 0) || !std::isfinite(c.adam.weight_decay))
      throw enf::InvalidInput("weightDecay must be a finite number >= 0");
    c.max_grad_norm = number_field(config, "maxGradNorm", c.max_grad_norm);
    if (!(c.max_grad_norm >= 0) || !std::isfinite(c.max_grad_norm))
      throw enf::InvalidInput("maxGradNorm must be a finite number >= 0 (0 disables clipping)");
    c.solver.steps = to_int(number_field(config, "rk4Steps", c.solver.steps), "rk4Steps", 1, 1000);
    c.seed = to_seed(number_field(config, "seed", 0));
  }
  // The batch goes through the graph in slices (NllOptions::chunk, automatic). Keeping every RK4
  // step's tape of a slice for its backward sweep is faster, but that memory grows with the
  // slice's edges x the evaluations kept, and a wasm32 heap stops at 2 GB. Measured: 31,200
  // edge-evaluations fit (LJ13, 50 samples, one step at a time), 62,400 do not.
  constexpr double kMaxEdgeEvaluations = 31200;
  const double pairs = static_cast<double>(sys.n_particles) * (sys.n_particles - 1);
  const int chunk = std::min(c.batch, std::max(1, static_cast<int>(enf::train::kChunkEdges / std::max(1.0, pairs))));
  const double edges = chunk * pairs;
  c.solver.keep_tapes = edges * 4 * c.solver.steps <= kMaxEdgeEvaluations / 1.5;
  if (present(config) && present(config["keepTapes"])) c.solver.keep_tapes = config["keepTapes"].as<bool>();
  if (edges * 4 * (c.solver.keep_tapes ? c.solver.steps : 1) > kMaxEdgeEvaluations) {
    throw enf::InvalidInput(std::to_string(sys.n_particles) + " particles need more tape memory per sample than a "
                            "WebAssembly heap has (2 GB)" +
                            (c.solver.keep_tapes ? "; use keepTapes: false or fewer rk4Steps" : ""));
  }
  return c;
}

val check_train_config(val spec, val config) {
  return guarded([&] {
    const enf::train::TrainConfig c = train_config(system_from(spec).system, config);
    val out = val::object();
    out.set("keepTapes", c.solver.keep_tapes);
    return out;
  });
}

// init: exported weights or null.
val create_trainer(val spec, val train, val validation, val config, val init) {
  return guarded([&] {
    auto s = std::make_shared<WasmTrainer::State>();
    s->spec = system_from(spec);
    const enf::train::ParticleSystem& sys = s->spec.system;
    s->config = train_config(sys, config);
    const enf::train::TrainConfig& c = s->config;
    Eigen::MatrixXd data = rows_of(doubles(train, "the training set"), sys.size(), "the training set");
    enf::train::validate_dataset(data, sys, "the training set");
    if (present(validation)) {
      const std::vector<double> v = doubles(validation, "the validation set");
      if (!v.empty()) {
        Eigen::MatrixXd vm = rows_of(v, sys.size(), "the validation set");
        enf::train::validate_dataset(vm, sys, "the validation set");
        s->val = enf::train::centre(vm, sys.dim);
      }
    }
    if (present(init)) {
      const enf::ParticleModel m = model_from_bytes(init);
      if (m.n_particles() != sys.n_particles || m.dim() != sys.dim)
        throw enf::WeightsError("these weights are for " + std::to_string(m.n_particles()) + " particles in " +
                                std::to_string(m.dim()) + "-D ('" + m.system() + "'), but the system has " +
                                std::to_string(sys.n_particles) + " in " + std::to_string(sys.dim) + "-D");
      s->trainer = std::make_unique<enf::train::Trainer>(sys, std::move(data), c, m.params());
    } else {
      s->trainer = std::make_unique<enf::train::Trainer>(sys, std::move(data), c);
    }
    val out = val::object();
    out.set("trainer", val(WasmTrainer(s)));
    out.set("parameters", static_cast<double>(s->trainer->params().count()));
    return out;
  });
}

}  // namespace

EMSCRIPTEN_BINDINGS(enf_wasm_train) {
  emscripten::class_<WasmParticleModel>("WasmParticleModel")
      .function("info", &WasmParticleModel::info)
      .function("sample", &WasmParticleModel::sample)
      .function("logLikelihood", &WasmParticleModel::log_likelihood)
      .function("toSafetensors", &WasmParticleModel::to_safetensors);
  emscripten::class_<WasmTrainer>("WasmTrainer")
      .function("step", &WasmTrainer::step)
      .function("validate", &WasmTrainer::validate)
      .function("setLearningRate", &WasmTrainer::set_learning_rate)
      .function("model", &WasmTrainer::model);
  emscripten::function("generateData", &generate_data);
  emscripten::function("systemEnergies", &system_energies);
  emscripten::function("checkTrainConfig", &check_train_config);
  emscripten::function("createTrainer", &create_trainer);
  emscripten::function("loadParticleModel", &load_particle_model);
}
