#include "api/options.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cmath>
#include <limits>

#include "api/arguments.hpp"
#include "errors.hpp"
#include "fields/methods.hpp"
#include "train/systems.hpp"

namespace enf::api {

namespace {

// Edit distance, for "did you mean".
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

OptionReader::OptionReader(const json::Value& options, std::string call) : o_(options), call_(std::move(call)) {
  if (!o_.is_object() && !o_.is_null()) throw InvalidInput(call_ + ": the options must be an object");
}

const json::Value* OptionReader::get(std::string_view key) {
  known_.emplace_back(key);
  if (!o_.is_object() || !o_.has(key)) return nullptr;
  const json::Value& v = o_.at(key);
  return v.is_null() ? nullptr : &v;
}

void OptionReader::fail(std::string_view key, const std::string& must) const {
  throw InvalidInput(call_ + ": " + std::string(key) + " must be " + must);
}

bool OptionReader::has(std::string_view key) { return get(key) != nullptr; }

int OptionReader::integer(std::string_view key, int lo, int hi, int fallback) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  const double x = v->is_number() ? v->as_number() : NAN;
  if (!(x >= lo && x <= hi) || x != std::floor(x))
    fail(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                  (v->is_number() ? fmt(x) : json::dump(*v)));
  return static_cast<int>(x);
}

uint64_t OptionReader::seed(std::string_view key, uint64_t fallback) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  const double x = v->is_number() ? v->as_number() : NAN;
  if (!(x >= 0 && x <= 9007199254740992.0) || x != std::floor(x)) fail(key, "an integer in [0, 2^53]");
  return static_cast<uint64_t>(x);
}

double OptionReader::number(std::string_view key, double lo, double hi, double fallback, bool open_low) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  const double x = v->is_number() ? v->as_number() : NAN;
  if (!std::isfinite(x) || x < lo || x > hi || (open_low && x == lo))
    fail(key, std::isinf(hi) ? std::string("a finite number ") + (open_low ? "> " : ">= ") + fmt(lo)
                             : std::string("a number in ") + (open_low ? "(" : "[") + fmt(lo) + ", " + fmt(hi) + "]");
  return x;
}

double OptionReader::tolerance(std::string_view key, double fallback) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  const double x = v->is_number() ? v->as_number() : NAN;
  if (!std::isfinite(x) || x <= 0 || x >= 1) fail(key, "a number in (0, 1)");
  return x;
}

bool OptionReader::boolean(std::string_view key, bool fallback) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  if (v->type() != json::Value::Type::Bool) fail(key, "true or false");
  return v->as_bool();
}

std::string OptionReader::choice(std::string_view key, std::initializer_list<std::string_view> allowed, std::string fallback) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  std::string list;
  for (std::string_view a : allowed) {
    if (v->is_string() && v->as_string() == a) return std::string(a);
    list += (list.empty() ? "'" : ", '") + std::string(a) + "'";
  }
  fail(key, "one of " + list);
}

std::string OptionReader::text(std::string_view key, std::string fallback) {
  const json::Value* v = get(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "a string");
  return v->as_string();
}

std::vector<double> OptionReader::numbers(std::string_view key, size_t max) {
  const json::Value* v = get(key);
  if (!v) return {};
  if (!v->is_array() || v->as_array().size() > max) fail(key, "an array of at most " + std::to_string(max) + " numbers");
  std::vector<double> out;
  for (const json::Value& x : v->as_array()) {
    if (!x.is_number() || !std::isfinite(x.as_number())) fail(key, "an array of finite numbers");
    out.push_back(x.as_number());
  }
  return out;
}

std::vector<double> OptionReader::matrix(std::string_view key, int dim) {
  const json::Value* v = get(key);
  if (!v) return {};
  const std::string shape = "a " + std::to_string(dim) + "x" + std::to_string(dim) + " matrix: " +
                            std::to_string(dim * dim) + " numbers row-major, or " + std::to_string(dim) + " rows of " +
                            std::to_string(dim);
  if (!v->is_array()) fail(key, shape);
  std::vector<double> out;
  for (const json::Value& x : v->as_array()) {
    if (x.is_array())
      for (const json::Value& y : x.as_array()) out.push_back(y.is_number() ? y.as_number() : NAN);
    else
      out.push_back(x.is_number() ? x.as_number() : NAN);
  }
  const bool nested = !v->as_array().empty() && v->as_array().front().is_array();
  if (out.size() != static_cast<size_t>(dim * dim) || (nested && v->as_array().size() != static_cast<size_t>(dim)))
    fail(key, shape);
  for (double x : out)
    if (!std::isfinite(x)) fail(key, "a matrix of finite numbers");
  return out;
}

const json::Value* OptionReader::object(std::string_view key) {
  const json::Value* v = get(key);
  if (v && !v->is_object()) fail(key, "an object");
  return v;
}

void OptionReader::allow(std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) known_.emplace_back(k);
}

void OptionReader::finish() const {
  if (!o_.is_object()) return;
  for (const auto& [key, value] : o_.as_object()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string best;
    size_t best_d = 3;
    for (const std::string& k : known_) {
      const size_t d = distance(key, k);
      if (d < best_d || (key.size() >= 3 && k.rfind(key, 0) == 0 && best.empty())) {
        best = k;
        best_d = std::min(d, best_d);
      }
    }
    std::string known;
    for (const std::string& k : known_) known += (known.empty() ? "" : ", ") + k;
    throw InvalidInput(call_ + ": unknown option '" + key + "'" +
                       (best.empty() ? "; the options are " + known : ": did you mean '" + best + "'?"));
  }
}

ode::Options solver_options(OptionReader& r) {
  ode::Options o;
  o.method = ode::method_from_name(r.text("method", "dopri5"));
  o.rtol = r.tolerance("rtol", o.rtol);
  o.atol = r.tolerance("atol", o.atol);
  o.fixed_steps = r.integer("steps", 1, 100000, o.fixed_steps);
  return o;
}

flow::LatentTransform latent_options(OptionReader& r, int dim, int particles) {
  flow::LatentTransform t;
  t.orthogonal = r.matrix("rotation", dim);
  for (double p : r.numbers("permutation", static_cast<size_t>(particles)))
    t.permutation.push_back(to_int(p, "a permutation index", 0, particles - 1));
  return t;
}

SampleCall sample_call(const json::Value& o, int max_atoms) {
  OptionReader r(o, "sample");
  SampleCall c;
  c.options.atoms = r.integer("atoms", 0, max_atoms, 0);
  c.options.seed = r.seed("seed");
  c.options.solver = solver_options(r);
  c.options.latent = latent_options(r, 3, max_atoms);
  c.frames = r.integer("frames", 0, kMaxFrames, 0);
  if (c.frames == 1) throw InvalidInput("sample: frames must be 0 (no trajectory) or between 2 and " + std::to_string(kMaxFrames));
  r.finish();
  return c;
}

LikelihoodOptions likelihood_call(const json::Value& o) {
  OptionReader r(o, "score");
  LikelihoodOptions l;
  l.trace = r.choice("trace", {"hutchinson", "exact"}, "hutchinson") == "exact" ? flow::Trace::Exact : flow::Trace::Hutchinson;
  l.probes = r.integer("probes", 1, kMaxProbes, 1);
  l.samples = r.integer("samples", 1, kMaxSamples, 1);
  l.seed = r.seed("seed");
  l.solver = solver_options(r);
  // The exact trace in parts (one per worker; the caller sums them) and on threads (native).
  l.split.parts = r.integer("traceParts", 1, kMaxTraceParts, 1);
  l.split.part = r.integer("tracePart", 0, l.split.parts - 1, 0);
  l.split.threads = r.integer("threads", 1, kMaxThreads, 1);
#ifdef __EMSCRIPTEN__
  if (l.split.threads > 1)
    throw InvalidInput("score: threads > 1 needs the native build; in WebAssembly split the trace over workers (traceParts)");
#endif
  l.state_step_control = r.choice("stepControl", {"state+logp", "state"}, "state+logp") == "state";
  r.finish();
  return l;
}

VerifyOptions verify_call(const json::Value& o) {
  OptionReader r(o, "verify");
  VerifyOptions v;
  v.rtol = r.tolerance("rtol", v.rtol);
  v.atol = r.tolerance("atol", v.atol);
  r.finish();
  return v;
}

ParticleSampleCall particle_sample_call(const json::Value& o, int particles, int dim) {
  OptionReader r(o, "sample");
  ParticleSampleCall c;
  c.count = r.integer("count", 1, 1000000, 1);
  c.seed = r.seed("seed");
  if (static_cast<double>(c.seed) + c.count - 1 > 9007199254740992.0)
    throw InvalidInput("sample: seed + count - 1 must not exceed 2^53");
  c.batch = r.integer("batch", 1, 4096, 0);
  c.solver = solver_options(r);
  c.latent = latent_options(r, dim, particles);
  c.latent.validate(particles, dim);
  r.finish();
  return c;
}

ParticleScoreCall particle_score_call(const json::Value& o) {
  OptionReader r(o, "score");
  ParticleScoreCall c;
  c.trace.mode = r.choice("trace", {"hutchinson", "exact"}, "hutchinson") == "exact" ? flow::Trace::Exact : flow::Trace::Hutchinson;
  c.trace.rademacher = true;
  c.trace.seed = r.seed("seed");
  c.solver = solver_options(r);
  r.finish();
  return c;
}

train::TrainConfig train_call(const json::Value& o, const train::ParticleSystem& system) {
  OptionReader r(o, "createTrainer");
  train::TrainConfig c;
  // method is the model (a Table 1 row); the fixed-step ODE method is `solver`.
  const std::string method = r.text("method", c.method);
  bool is_solver = true;
  try {
    ode::method_from_name(method);
  } catch (const InvalidInput&) {
    is_solver = false;
  }
  if (is_solver)
    throw InvalidInput("createTrainer: method is the model (one of " + [] {
      std::string names;
      for (const std::string& n : fields::method_names()) names += (names.empty() ? "" : ", ") + n;
      return names;
    }() + "); the ODE solver '" +
                       method + "' goes in `solver`");
  train::apply_method(c, method, system);
  c.batch = r.integer("batch", 1, 100000, c.batch);
  c.adam.lr = r.number("lr", 0, 1, c.adam.lr, true);
  c.adam.weight_decay = r.number("weightDecay", 0, kUnbounded, c.adam.weight_decay);
  c.max_grad_norm = r.number("maxGradNorm", 0, kUnbounded, c.max_grad_norm);
  c.solver.steps = r.integer("rk4Steps", 1, 1000, c.solver.steps);
  c.solver.method = ode::method_from_name(r.text("solver", c.solver.method.name()));
  if (c.solver.method.tableau().adaptive())
    throw InvalidInput("createTrainer: solver must be a fixed-step method (rk4, midpoint, euler), not " + c.solver.method.name());
  c.seed = r.seed("seed");
  if (const json::Value* s = r.object("fieldSettings")) {  // over the method's settings, key by key
    json::Value::Object merged = c.field_settings.as_object();
    for (const auto& [key, value] : s->as_object()) {
      bool replaced = false;
      for (auto& [k, v] : merged)
        if (k == key) v = value, replaced = true;
      if (!replaced) merged.emplace_back(key, value);
    }
    c.field_settings = json::Value::object(std::move(merged));
  }
  fields::field_kind(c.field).configure(c.field_settings);  // checked before any data is generated
  const int keep = r.has("keepTapes") ? (r.boolean("keepTapes", false) ? 1 : 0) : -1;
  r.finish();
  train::fit_tape_memory(c, system, train::kWasmEdgeEvaluations, keep);
  return c;
}

train::ParticleSystem system_call(const json::Value& o, double* r_max) {
  OptionReader r(o, "system");
  const std::string name = r.text("name", "custom");
  if (!r.has("table")) {
    r.allow({"particles", "dim", "comSpring", "rMin", "rMax"});  // a built-in name decides them
    r.finish();
    if (r_max) *r_max = std::numeric_limits<double>::infinity();
    return train::builtin_system(name);
  }
  const int n = r.integer("particles", 2, 1000, 0);
  const int dim = r.integer("dim", 1, 3, 0);
  if (n == 0 || dim == 0) throw InvalidInput("system: a tabulated pair energy needs particles (2-1000) and dim (1-3)");
  const double lo = r.number("rMin", 0, kUnbounded, 0), hi = r.number("rMax", 0, kUnbounded, NAN);
  if (std::isnan(hi)) throw InvalidInput("system: a tabulated pair energy needs rMax");
  // NaN and -Infinity entries are named by tabulated_pair; +Infinity (a wall) is allowed.
  const json::Value* t = o.is_object() && o.has("table") ? &o.at("table") : nullptr;
  std::vector<double> table;
  if (!t->is_array()) throw InvalidInput("system: table must be an array of numbers");
  for (const json::Value& v : t->as_array()) {
    if (!v.is_number()) throw InvalidInput("system: table must be an array of numbers");
    table.push_back(v.as_number());
  }
  const double spring = r.number("comSpring", 0, kUnbounded, 0);
  r.finish();
  if (r_max) *r_max = hi;
  return train::custom_system(name, n, dim, train::tabulated_pair(std::move(table), lo, hi), spring);
}

DataCall data_call(const json::Value& o, const train::ParticleSystem& system, double r_max) {
  OptionReader r(o, "generateData");
  DataCall c;
  c.count = r.integer("count", 1, 10000000, 1);
  train::McmcOptions& m = c.mcmc;
  m = train::default_mcmc_options(system, r.seed("seed"));
  m.step = r.number("step", 0, kUnbounded, m.step, true);
  m.thin = r.integer("thin", 1, 1000000, m.thin);
  m.burn_in = r.integer("burnIn", 0, 10000000, m.burn_in);
  m.init_scale = r.number("initScale", 0, kUnbounded, m.init_scale, true);
  if (r.has("temperatures")) m.temperatures = r.numbers("temperatures", 64);
  m.max_pair_distance = r_max;
  r.finish();
  return c;
}

}  // namespace enf::api
