// Embind bindings of the training mode (src/train/, src/models/particle_model): the built-in
// systems or a user's tabulated pair energy; MCMC data, the trainer, the trained particle flow.
// Conversion only, with the conventions of bindings.cpp: options arrive as one object read by
// src/api/options.cpp, every function returns its result or { error: { kind, message } } and never
// throws into JS; callbacks return whether to continue.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/arguments.hpp"
#include "api/options.hpp"
#include "errors.hpp"
#include "fields/methods.hpp"
#include "guarded.hpp"
#include "js_value.hpp"
#include "models/particle_model.hpp"
#include "models/safetensors.hpp"
#include "train/energy.hpp"
#include "train/mcmc.hpp"
#include "train/systems.hpp"
#include "train/trainer.hpp"

namespace {

using emscripten::val;
using enf::wasm::Cancelled;
using enf::wasm::present;
using enf::wasm::to_json;

template <class F>
val guarded(F&& body) {
  return enf::wasm::guarded(std::forward<F>(body), "out of memory: use fewer samples or a smaller batch");
}

// Data sets are larger than a molecule: up to 10^5 DW4 samples x 8 numbers and more.
constexpr double kMaxNumbers = 5e7;

std::vector<double> doubles(const val& a, const char* name) {
  if (!a.instanceof(val::global("Float64Array"))) throw enf::InvalidInput(std::string(name) + " must be a Float64Array");
  enf::api::check_length(a["length"].as<double>(), kMaxNumbers, name);
  return emscripten::convertJSArrayToNumberVector<double>(a);
}

val typed_copy(const double* data, size_t n) {
  return val::global("Float64Array").new_(emscripten::typed_memory_view(n, data));
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

// A progress callback as the core takes it: throws Cancelled when JS says stop.
std::function<void(double)> progress_of(const val& on_progress) {
  if (!present(on_progress)) return {};
  return [&on_progress](double f) {
    if (!on_progress(f).as<bool>()) throw Cancelled();
  };
}

// ---- systems and data

// The registry (train/systems.hpp) for the JS API and the demo.
val builtin_systems() {
  return guarded([&] {
    val list = val::array();
    for (const enf::train::SystemEntry& e : enf::train::builtin_systems()) {
      const enf::train::ParticleSystem s = e.make();
      val item = val::object();
      item.set("name", e.name);
      item.set("label", e.label);
      item.set("description", e.description);
      item.set("particles", s.n_particles);
      item.set("dim", s.dim);
      item.set("nTrain", e.n_train);
      list.call<void>("push", item);
    }
    // The paper's Table 1 rows (fields/methods.hpp) that createTrainer({ method }) takes.
    val methods = val::array();
    for (const std::string& name : enf::fields::method_names()) {
      const enf::fields::Method m = enf::fields::method(name, "");
      val item = val::object();
      item.set("name", m.name);
      item.set("field", m.field);
      item.set("equivariant", m.equivariant);
      item.set("augment", m.augment);
      item.set("lr", m.lr);
      val paper = val::object();  // the paper's Table 1 row: { dw4: { 100: 8.31, ... }, lj13: { ... } }
      for (const char* system : {"dw4", "lj13"}) {
        val row = val::object();
        for (int n : enf::fields::paper_table1_sizes(system)) row.set(std::to_string(n), enf::fields::paper_table1(name, system, n));
        paper.set(system, row);
      }
      item.set("paper", paper);
      methods.call<void>("push", item);
    }
    val out = val::object();
    out.set("systems", list);
    out.set("methods", methods);
    return out;
  });
}

// options: { count, seed, step, thin, burnIn, initScale, temperatures } (api::data_call).
val generate_data(val spec, val options, val on_progress) {
  return guarded([&] {
    double r_max;
    const enf::train::ParticleSystem sys = enf::api::system_call(to_json(spec, "the system"), &r_max);
    enf::api::DataCall c = enf::api::data_call(to_json(options), sys, r_max);
    c.mcmc.on_progress = progress_of(on_progress);
    const enf::train::McmcResult r = enf::train::sample_mcmc(sys, c.count, c.mcmc);
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
    const enf::train::ParticleSystem sys = enf::api::system_call(to_json(spec, "the system"));
    const Eigen::MatrixXd x = rows_of(doubles(positions, "positions"), sys.size(), "positions");
    std::vector<double> e(static_cast<size_t>(x.rows()));
    for (Eigen::Index r = 0; r < x.rows(); ++r) e[static_cast<size_t>(r)] = sys.energy(x.row(r).transpose());
    val out = val::object();
    out.set("energies", typed_copy(e.data(), e.size()));
    return out;
  });
}

std::map<std::string, std::string> metadata_from(const val& meta) {
  std::map<std::string, std::string> m;
  if (!present(meta)) return m;
  const enf::json::Value v = to_json(meta, "the metadata");
  if (!v.is_object()) throw enf::InvalidInput("metadata must be an object of strings");
  for (const auto& [k, value] : v.as_object()) {
    if (!value.is_string()) throw enf::InvalidInput("metadata values must be strings");
    m[k] = value.as_string();
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
    out.set("field", m_->params().kind);
    out.set("method", m_->method());
    out.set("nTrain", m_->n_train());
    return out;
  }

  // options: { count, seed, rtol, atol, method, steps, rotation, permutation }
  // (api::particle_sample_call); sample k starts from the latent Rng(seed + k) draws.
  val sample(val options, val on_progress) const {
    return guarded([&] {
      enf::api::ParticleSampleCall c = enf::api::particle_sample_call(to_json(options), m_->n_particles(), m_->dim());
      std::function<void(double)> progress;
      if (present(on_progress))
        progress = [&](double fraction) {
          if (!on_progress(fraction).as<bool>()) throw Cancelled();
        };
      // Batched: one network evaluation carries several samples, each with its own steps.
      const Eigen::MatrixXd x = m_->sample_each(c.count, c.seed, c.solver, c.latent, c.batch, progress);
      val out = val::object();
      out.set("positions", matrix_out(x));
      return out;
    });
  }

  // log p(x) per row of a flat (rows x N*D) Float64Array; options: { trace, seed, rtol, atol,
  // method, steps } (api::particle_score_call); Hutchinson probes seeded seed + row.
  val log_likelihood(val positions, val options, val on_progress) const {
    return guarded([&] {
      const Eigen::MatrixXd x = rows_of(doubles(positions, "positions"), m_->n_particles() * m_->dim(), "positions");
      enf::api::ParticleScoreCall c = enf::api::particle_score_call(to_json(options));
      const uint64_t s0 = c.trace.seed;
      Eigen::Index row = 0;
      if (present(on_progress))
        c.solver.on_step = [&](double tt, const enf::ode::Stats&) {
          if (!on_progress((static_cast<double>(row) + tt) / static_cast<double>(x.rows())).as<bool>()) throw Cancelled();
        };
      const size_t rows = static_cast<size_t>(x.rows());
      std::vector<double> ll(rows), pz(rows), dl(rows), nfe(rows);
      for (; row < x.rows(); ++row) {
        c.trace.seed = s0 + static_cast<uint64_t>(row);
        const enf::ParticleLikelihood r = m_->log_likelihood(x.row(row).transpose(), c.solver, c.trace);
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
    std::unique_ptr<enf::train::Trainer> trainer;
    Eigen::MatrixXd val;  // validation samples (may be empty)
  };
  explicit WasmTrainer(std::shared_ptr<State> s) : s_(std::move(s)) {}

  val step() {
    return guarded([&] {
      const enf::train::StepReport r = s_->trainer->step();
      val out = val::object();
      out.set("loss", r.loss);
      out.set("gradNorm", r.grad_norm);
      out.set("steps", static_cast<double>(s_->trainer->steps()));
      out.set("epochs", s_->trainer->epochs());
      return out;
    });
  }

  // options: { seed, samples } (Trainer::validation_nll's probe seed and row limit).
  val validate(val options) const {
    return guarded([&] {
      enf::api::OptionReader r(to_json(options), "validate");
      const uint64_t seed = r.seed("seed");
      const int limit = r.integer("samples", 1, 100000000, 100000000);
      r.finish();
      val out = val::object();
      out.set("nll", s_->trainer->validation_nll(s_->val, seed, limit));
      out.set("samples", static_cast<int>(std::min<Eigen::Index>(s_->val.rows(), limit)));
      return out;
    });
  }

  val set_learning_rate(double lr) {
    return guarded([&] {
      if (!(lr > 0 && lr <= 1)) throw enf::InvalidInput("lr must be a number in (0, 1]");
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

// The trainer's settings checked against the system (the tape's memory) before any data is made;
// returns them as the core will use them.
val check_train_config(val spec, val config) {
  return guarded([&] {
    const enf::train::TrainConfig c = enf::api::train_call(to_json(config), enf::api::system_call(to_json(spec, "the system")));
    val out = val::object();
    out.set("batch", c.batch);
    out.set("lr", c.adam.lr);
    out.set("seed", static_cast<double>(c.seed));
    out.set("rk4Steps", c.solver.steps);
    out.set("method", c.method);
    out.set("solver", c.solver.method.name());
    out.set("field", c.field);
    out.set("augment", c.augment);
    out.set("keepTapes", c.solver.keep_tapes);
    return out;
  });
}

// config: api::train_call's options; init: exported weights or null.
val create_trainer(val spec, val train, val validation, val config, val init) {
  return guarded([&] {
    auto s = std::make_shared<WasmTrainer::State>();
    const enf::train::ParticleSystem sys = enf::api::system_call(to_json(spec, "the system"));
    const enf::train::TrainConfig c = enf::api::train_call(to_json(config), sys);
    Eigen::MatrixXd data = rows_of(doubles(train, "the training set"), sys.size(), "the training set");
    if (present(validation)) {
      const std::vector<double> v = doubles(validation, "the validation set");
      if (!v.empty()) s->val = rows_of(v, sys.size(), "the validation set");
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
    if (s->val.rows()) enf::train::validate_dataset(s->val, sys, "the validation set");
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
  emscripten::function("builtinSystems", &builtin_systems);
  emscripten::function("generateData", &generate_data);
  emscripten::function("systemEnergies", &system_energies);
  emscripten::function("checkTrainConfig", &check_train_config);
  emscripten::function("createTrainer", &create_trainer);
  emscripten::function("loadParticleModel", &load_particle_model);
}
