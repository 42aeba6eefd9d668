// Native training benchmark / CLI for the particle E-NF (DW4, LJ13): generates the data with
// seeded MCMC, trains with the paper's setup (AdamW amsgrad, lr 5e-4, batch 100, Rademacher
// Hutchinson probes), keeps the weights with the best validation NLL and prints one JSON line per
// system: test NLL (exact trace, float32 inference path, dopri5), wall time, ms per training step.
//
// usage: enf_train_bench [--system dw4|lj13|lj13-fluid|all] [--method ROW] [--seed S] [--train-seed S] [--minutes M] [--lj13-minutes M] [--cpu-minutes M]
//          [--epochs E] [--n-train N] [--solver rk4|midpoint|euler] [--rk4-steps K] [--kinetic L] [--jacobian L] [--lr LR] [--batch B] [--eval-every E]
//          [--val-subset N] [--save PATH] [--init PATH] [--evaluate CHECKPOINT] [--reweight CHECKPOINT [--samples N]] [--keep-tapes 0|1] [--chunk C] [--threads T] [--quick]
//        enf_train_bench --time-steps N [--methods A,B,..|all] [--system dw4|lj13|all] [--batch B]
//        enf_train_bench --table1 DIR [--methods A,B,..] [--systems dw4,lj13] [--sizes dw4=100,1000:lj13=10,100] [--runs R]
//          [--epochs E] [other training flags]
// --method is a row of the paper's Table 1 (E-NF, GNF, GNF-att, GNF-att-aug, Simple dynamics,
// Kernel dynamics); its learning rate is the authors' (5e-4 for E-NF, 1e-3 for the others) unless
// --lr says otherwise. --table1 runs the grid methods x systems x training sizes x runs with the
// authors' schedule (epochs, batch and validation interval per training size, from their
// main_dw4_lj13.py sweep; --epochs caps the epochs), selects each run's weights by the exact-trace
// validation NLL and measures the test NLL. Each finished run is a file DIR/runs/*.json (with its
// weights beside it), so an interrupted grid resumes where it stopped; DIR/table1.json and
// DIR/table1.md hold the mean and standard deviation over runs beside the paper's numbers.
// With --save, the best checkpoint so far is written each time the validation NLL improves, so a
// long run can be stopped at any point (the final write adds the test NLL to the metadata).
// Data: make_dataset(system, n_train, 1000, 1000, seed): train chain seed S, validation S + 1,
// test S + 2 (default S = 2026). Progress goes to stderr, results to stdout.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "errors.hpp"
#include "fields/methods.hpp"
#include "models/json.hpp"
#include "models/particle_model.hpp"
#include "models/safetensors.hpp"
#include "train/mcmc.hpp"
#include "train/trainer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

struct Args {
  std::string system = "all";
  std::string method = "E-NF";  // the Table 1 row
  uint64_t seed = 2026;         // the data's chains (train S, validation S + 1, test S + 2)
  long long train_seed = -1;    // initial weights, shuffling, probes (-1: the data seed)
  double minutes = 20, lj13_minutes = 3;  // wall-clock training budgets
  double cpu_minutes = 1e9;               // CPU-time budget per system (shared machines)
  int epochs = 1000000;
  int n_train = 0;  // 0: 1000 for DW4, 100 for LJ13
  int rk4_steps = 4;
  std::string solver = "rk4";  // the training solver: a fixed-step tableau (rk4, midpoint, euler)
  double kinetic = 0, jacobian = 0;  // optional field regularisers (off in the paper's setup)
  double lr = -1;  // -1: the method's
  int batch = 100;
  int eval_every = 10;
  int val_subset = 200;
  std::string save, init, evaluate, reweight;
  int samples = 1000;  // model samples for --reweight
  int chunk = 0;        // samples per pass through the training graph (0: NllOptions' automatic choice)
  int threads = 1;      // threads over the slices (results do not depend on it)
  int keep_tapes = 1;   // the batch goes through in slices, so every slice's tapes fit
  bool quick = false;
  // --table1
  std::string table1, methods, systems = "dw4,lj13", sizes;
  int runs = 3;
  int time_steps = 0;  // --time-steps: ms per training step of each method, no training run
};

// What one training run measured.
struct RunResult {
  std::string system, method;
  int n_train = 0, best_epoch = 0, epochs = 0, test_samples = 0;
  long steps = 0;
  double test_nll = NAN, val_nll = NAN, wall_s = 0, cpu_s = 0, ms_per_step = 0, cpu_ms_per_step = 0;
  uint64_t train_seed = 0;
};

enf::ode::Options eval_solver() {
  enf::ode::Options o;  // dopri5
  o.rtol = 1e-5;
  o.atol = 1e-5;
  return o;
}

enf::flow::TraceOptions exact_trace() {
  enf::flow::TraceOptions t;
  t.mode = enf::flow::Trace::Exact;
  return t;
}

// -log p(x), exact trace, dopri5 at 1e-5. Where the adaptive solver gives up (a field too stiff at
// that configuration: the step size underflows), the solve is repeated with 2,000 fixed RK4 steps
// and `fallbacks` counts it.
double sample_nll(const enf::ParticleModel& model, const Eigen::VectorXd& x, int& fallbacks) {
  try {
    return -model.log_likelihood(x, eval_solver(), exact_trace()).log_likelihood;
  } catch (const enf::SolverError&) {
    enf::ode::Options fixed;
    fixed.method = enf::ode::Method::rk4();
    fixed.fixed_steps = 2000;
    ++fallbacks;
    return -model.log_likelihood(x, fixed, exact_trace()).log_likelihood;
  }
}

// The mean NLL of the first `rows` test samples (see sample_nll).
double test_mean_nll(const enf::ParticleModel& model, const Eigen::MatrixXd& test, int rows, int& fallbacks) {
  double sum = 0;
  for (int r = 0; r < rows; ++r) sum += sample_nll(model, test.row(r).transpose(), fallbacks);
  return sum / rows;
}

std::string fmt(double v, int digits = 4) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// Written to a temporary file and renamed, so an interrupted run never leaves half a checkpoint.
void save_model(const enf::ParticleModel& model, const std::map<std::string, std::string>& meta,
                const std::string& path) {
  const std::vector<uint8_t> bytes = model.to_safetensors(meta);
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
  std::rename(tmp.c_str(), path.c_str());
}

// The data and training settings of a run, as model metadata.
std::map<std::string, std::string> settings_meta(const enf::train::ParticleSystem& sys, const Args& a, int n_train) {
  const double lr = a.lr > 0 ? a.lr : enf::fields::method(a.method, sys.name).lr;
  return {{"system", sys.name},
          {"method", a.method},
          {"data_seed", std::to_string(a.seed)},
          {"data", "make_dataset(" + sys.name + ", " + std::to_string(n_train) + ", 1000, 1000, seed)"},
          {"train_seed", std::to_string(a.train_seed >= 0 ? static_cast<uint64_t>(a.train_seed) : a.seed)},
          {"n_train", std::to_string(n_train)},
          {"lr", fmt(lr, 6)},
          {"batch", std::to_string(a.batch)},
          {"train_solver", (a.solver == "rk4" ? std::string("rk4 (3/8 rule)") : a.solver) + ", " + std::to_string(a.rk4_steps) + " steps"},
          {"regularisers", "kinetic " + fmt(a.kinetic, 6) + ", jacobian " + fmt(a.jacobian, 6)},
          {"eval_solver", "dopri5 rtol=atol=1e-5, exact trace"}};
}

// Boltzmann reweighting of a saved model's samples x ~ q against the target exp(-E):
// log w = -E(x) - log q(x) gives the importance-sampling estimate of log Z (and the effective
// sample size), and E_q[log w] = log Z - KL(q || p) <= log Z. With the test data's mean energy this
// bounds the data's entropy H(p) = <E>_p + log Z from below: H(p) >= <E>_p + E_q[log w]. Since any
// model's test NLL is H(p) + KL(p || model) >= H(p), that bound is a floor no model can beat on
// this data (up to the sampling errors printed with it).
void reweight(const enf::train::ParticleSystem& sys, const enf::train::Dataset& data, const Args& a) {
  const enf::ParticleModel model = enf::ParticleModel::load(enf::SafeTensors::load_file(a.reweight));
  if (model.system() != sys.name) throw enf::InvalidInput(a.reweight + " holds a " + model.system() + " model, not " + sys.name);
  if (a.samples < 2) throw enf::InvalidInput("--samples needs at least 2");
  const auto t0 = Clock::now();
  auto mean_sd = [](const std::vector<double>& v) {
    double m = 0, q = 0;
    for (double x : v) m += x;
    m /= v.size();
    for (double x : v) q += (x - m) * (x - m);
    return std::pair<double, double>{m, std::sqrt(q / (v.size() - 1))};
  };
  std::vector<double> e_test;
  for (Eigen::Index i = 0; i < data.test.rows(); ++i) e_test.push_back(sys.energy(data.test.row(i).transpose()));
  const Eigen::MatrixXd xs = model.sample(a.samples, a.seed + 100, eval_solver());
  std::vector<double> log_w, e_model;
  for (int i = 0; i < a.samples; ++i) {
    const Eigen::VectorXd x = xs.row(i).transpose();
    const double e = sys.energy(x);
    e_model.push_back(e);
    log_w.push_back(-e - model.log_likelihood(x, eval_solver(), exact_trace()).log_likelihood);
  }
  const double top = *std::max_element(log_w.begin(), log_w.end());
  double s1 = 0, s2 = 0;
  for (double v : log_w) {
    s1 += std::exp(v - top);
    s2 += std::exp(2 * (v - top));
  }
  const double log_z = top + std::log(s1 / a.samples);
  const auto [et, et_sd] = mean_sd(e_test);
  const auto [em, em_sd] = mean_sd(e_model);
  const auto [lw, lw_sd] = mean_sd(log_w);
  const double bound_se = std::sqrt(et_sd * et_sd / e_test.size() + lw_sd * lw_sd / log_w.size());
  std::printf(
      "{\"system\": \"%s\", \"checkpoint\": \"%s\", \"samples\": %d, \"ess\": %.1f, \"log_z_is\": %.4f, "
      "\"mean_log_w\": %.4f, \"mean_energy_test\": %.4f, \"mean_energy_model\": %.4f, "
      "\"entropy_lower_bound\": %.4f, \"entropy_lower_bound_se\": %.4f, \"entropy_is\": %.4f, \"seconds\": %.1f}\n",
      sys.name.c_str(), a.reweight.c_str(), a.samples, s1 * s1 / s2, log_z, lw, et, em, et + lw, bound_se, et + log_z,
      seconds_since(t0));
  std::fflush(stdout);
}

RunResult run(const enf::train::ParticleSystem& sys, const Args& a) {
  const bool dw4 = sys.name == "dw4";
  const int n_train = a.n_train > 0 ? a.n_train : (dw4 ? 1000 : 100);
  const auto t_data = Clock::now();
  const enf::train::Dataset data = enf::train::make_dataset(sys, n_train, 1000, 1000, a.seed);
  const double data_s = seconds_since(t_data);
  std::fprintf(stderr, "[%s] data: %d train / 1000 val / 1000 test in %.1f s (seed %llu)\n", sys.name.c_str(), n_train,
               data_s, static_cast<unsigned long long>(a.seed));
  if (!a.reweight.empty()) {
    reweight(sys, data, a);
    return {};
  }
  if (!a.evaluate.empty()) {
    // A checkpoint written during training (or any saved model of this system): its test NLL on
    // all 1,000 test samples and on the first 200, added to its metadata and written to --save.
    // The data flags (--seed, --n-train) must be the training run's.
    const enf::SafeTensors file = enf::SafeTensors::load_file(a.evaluate);
    const enf::ParticleModel model = enf::ParticleModel::load(file);
    if (model.system() != sys.name) throw enf::InvalidInput(a.evaluate + " holds a " + model.system() + " model, not " + sys.name);
    const auto te = Clock::now();
    std::map<std::string, std::string> meta = file.metadata();
    // A run that measured all 1,000 test samples already (a grid's) keeps that figure.
    const bool measured = meta.count("test_nll") && meta.count("test_samples") && meta.at("test_samples") == "1000";
    int fallbacks = 0;
    const double nll200 = test_mean_nll(model, data.test, 200, fallbacks);
    const double nll = measured ? std::stod(meta.at("test_nll")) : test_mean_nll(model, data.test, 1000, fallbacks);
    if (fallbacks) meta["test_fixed_step_fallbacks"] = std::to_string(fallbacks);
    meta.erase("note");
    // Settings the checkpoint does not record come from this invocation: pass the run's flags.
    for (const auto& [k, v] : settings_meta(sys, a, n_train)) meta.emplace(k, v);
    meta["test_nll"] = fmt(nll);
    meta["test_nll_first200"] = fmt(nll200);
    meta["test_samples"] = "1000";
    if (!a.save.empty()) save_model(model, meta, a.save);
    std::printf("{\"system\": \"%s\", \"checkpoint\": \"%s\", \"test_nll\": %.4f, \"test_nll_first200\": %.4f, \"eval_s\": %.1f}\n",
                sys.name.c_str(), a.evaluate.c_str(), nll, nll200, seconds_since(te));
    std::fflush(stdout);
    return {};
  }

  enf::train::TrainConfig cfg;
  enf::train::apply_method(cfg, a.method, sys);
  cfg.batch = a.batch;
  if (a.lr > 0) cfg.adam.lr = a.lr;
  cfg.seed = a.train_seed >= 0 ? static_cast<uint64_t>(a.train_seed) : a.seed;
  cfg.solver.steps = a.rk4_steps;
  cfg.solver.method = enf::ode::method_from_name(a.solver);
  cfg.solver.kinetic = a.kinetic;
  cfg.solver.jacobian = a.jacobian;
  cfg.solver.chunk = a.chunk;
  cfg.solver.threads = a.threads;
  cfg.solver.keep_tapes = a.keep_tapes != 0;
  std::unique_ptr<enf::train::Trainer> trainer;
  if (!a.init.empty()) {
    const enf::ParticleModel init = enf::ParticleModel::load(enf::SafeTensors::load_file(a.init));
    if (init.method() != cfg.method)
      throw enf::InvalidInput(a.init + " holds a " + init.method() + " model; pass --method '" + init.method() + "'");
    trainer = std::make_unique<enf::train::Trainer>(sys, data.train, cfg, init.params());
  } else {
    trainer = std::make_unique<enf::train::Trainer>(sys, data.train, cfg);
  }
  const Eigen::MatrixXd val = data.val.topRows(std::min<int>(a.val_subset, static_cast<int>(data.val.rows())));
  const double budget_s = 60.0 * (dw4 ? a.minutes : a.lj13_minutes);
  const auto t0 = Clock::now();
  const double cpu0 = cpu_seconds();
  double train_s = 0, train_cpu = 0, best_val = INFINITY, last_loss = NAN;
  int best_epoch = 0;
  enf::fields::FieldParams best = trainer->params();
  // A model whose field has become too stiff for the adaptive solver scores +infinity: the run goes
  // on and keeps its best checkpoint (a diverging baseline must not end a grid).
  auto evaluate = [&](int epoch) {
    double v = INFINITY;
    try {
      v = trainer->model().mean_nll(val, eval_solver(), exact_trace());
    } catch (const enf::SolverError& e) {
      std::fprintf(stderr, "[%s %s] epoch %d: validation failed (%s); counted as +inf\n", sys.name.c_str(), cfg.method.c_str(), epoch,
                   e.what());
    }
    if (v < best_val) {
      best_val = v;
      best_epoch = epoch;
      best = trainer->params();
      if (!a.save.empty()) {
        const enf::ParticleModel m(sys.name, sys.n_particles, sys.dim, best, cfg.method, n_train);
        std::map<std::string, std::string> meta = settings_meta(sys, a, n_train);
        meta["best_epoch"] = std::to_string(epoch);
        meta["val_nll"] = fmt(best_val);
        meta["note"] = "checkpoint written during training; the test NLL is not measured yet";
        save_model(m, meta, a.save);
      }
    }
    std::fprintf(stderr, "[%s %s] epoch %d  step %ld  train loss %.4f  val NLL %.4f (best %.4f @ %d)  %.0f s\n",
                 sys.name.c_str(), cfg.method.c_str(), epoch, trainer->steps(), last_loss, v, best_val, best_epoch, seconds_since(t0));
  };
  int epoch = 0;
  while (epoch < a.epochs && seconds_since(t0) < budget_s && cpu_seconds() - cpu0 < 60.0 * a.cpu_minutes) {
    const auto ts = Clock::now();
    const double cs = cpu_seconds();
    try {
      last_loss = trainer->epoch();
    } catch (const enf::SolverError& e) {  // the loss or gradient went non-finite: keep the best so far
      std::fprintf(stderr, "[%s %s] training stopped in epoch %d: %s\n", sys.name.c_str(), cfg.method.c_str(), epoch + 1, e.what());
      train_s += seconds_since(ts);
      train_cpu += cpu_seconds() - cs;
      break;
    }
    train_s += seconds_since(ts);
    train_cpu += cpu_seconds() - cs;
    ++epoch;
    if (epoch % a.eval_every == 0) evaluate(epoch);
  }
  if (epoch % a.eval_every != 0) evaluate(epoch);
  const double wall = seconds_since(t0);
  const double cpu = cpu_seconds() - cpu0;
  const enf::ParticleModel model(sys.name, sys.n_particles, sys.dim, best, cfg.method, n_train);
  const auto te = Clock::now();
  const Eigen::MatrixXd test = a.quick ? Eigen::MatrixXd(data.test.topRows(100)) : data.test;
  // The mean over all test samples and over the first 200 (the figure the weight tests check for
  // LJ13, where 1,000 exact-trace solves take a minute), from one pass.
  double test_sum = 0, first200_sum = 0;
  int fallbacks = 0;
  for (Eigen::Index r = 0; r < test.rows(); ++r) {
    const double nll_r = sample_nll(model, test.row(r).transpose(), fallbacks);
    test_sum += nll_r;
    if (r < 200) first200_sum += nll_r;
  }
  const double test_nll = test_sum / test.rows();
  const double test_nll_first200 = first200_sum / std::min<Eigen::Index>(200, test.rows());
  const double eval_s = seconds_since(te);
  const long steps = trainer->steps();
  std::map<std::string, std::string> meta = settings_meta(sys, a, n_train);
  meta["epochs"] = std::to_string(epoch);
  meta["best_epoch"] = std::to_string(best_epoch);
  meta["steps"] = std::to_string(steps);
  meta["val_nll"] = fmt(best_val);
  meta["test_nll"] = fmt(test_nll);
  meta["test_nll_first200"] = fmt(test_nll_first200);
  meta["test_samples"] = std::to_string(test.rows());
  if (fallbacks) meta["test_fixed_step_fallbacks"] = std::to_string(fallbacks);
  if (!a.save.empty()) {
    save_model(model, meta, a.save);
    std::fprintf(stderr, "[%s] saved %s\n", sys.name.c_str(), a.save.c_str());
  }
  std::printf(
      "{\"system\": \"%s\", \"method\": \"%s\", \"n_train\": %d, \"test_nll\": %.4f, \"test_samples\": %d, \"val_nll\": %.4f, "
      "\"best_epoch\": %d, \"epochs\": %d, \"steps\": %ld, \"wall_s\": %.1f, \"cpu_s\": %.1f, "
      "\"ms_per_step\": %.1f, \"cpu_ms_per_step\": %.1f, \"batch\": %d, \"threads\": %d, \"rk4_steps\": %d, \"lr\": %g, "
      "\"kinetic\": %g, \"jacobian\": %g, \"data_s\": %.1f, \"test_eval_s\": %.1f, \"seed\": %llu, \"paper\": %.2f}\n",
      sys.name.c_str(), cfg.method.c_str(), n_train, test_nll, static_cast<int>(test.rows()), best_val, best_epoch, epoch, steps, wall,
      cpu, steps ? 1000.0 * train_s / steps : 0.0, steps ? 1000.0 * train_cpu / steps : 0.0, a.batch, a.threads, a.rk4_steps,
      cfg.adam.lr, a.kinetic, a.jacobian, data_s, eval_s, static_cast<unsigned long long>(a.seed), enf::fields::paper_table1(cfg.method, sys.name, n_train));
  std::fflush(stdout);
  RunResult r;
  r.system = sys.name;
  r.method = cfg.method;
  r.n_train = n_train;
  r.best_epoch = best_epoch;
  r.epochs = epoch;
  r.test_samples = static_cast<int>(test.rows());
  r.steps = steps;
  r.test_nll = test_nll;
  r.val_nll = best_val;
  r.wall_s = wall;
  r.cpu_s = cpu;
  r.ms_per_step = steps ? 1000.0 * train_s / steps : 0.0;
  r.cpu_ms_per_step = steps ? 1000.0 * train_cpu / steps : 0.0;
  r.train_seed = cfg.seed;
  return r;
}

// ---- the Table 1 grid

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    const std::string part = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// The authors' sweep (main_dw4_lj13.py): epochs, batch and validation interval per training size.
struct Schedule {
  int epochs, batch, eval_every;
};
Schedule paper_schedule(const std::string& system, int n) {
  if (system == "dw4") {
    if (n <= 100) return {1000, 100, 20};
    if (n <= 1000) return {300, 100, 5};
    if (n <= 10000) return {50, 100, 1};
    return {6, 100, 1};
  }
  if (n <= 10) return {500, 10, 10};
  if (n <= 100) return {1000, 100, 25};
  if (n <= 1000) return {300, 100, 5};
  return {50, 100, 1};
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  return out;
}

std::string run_json(const RunResult& r) {
  using enf::json::Value;
  return enf::json::dump(Value::object({{"system", Value::string(r.system)},
                                        {"method", Value::string(r.method)},
                                        {"n_train", Value::number(r.n_train)},
                                        {"train_seed", Value::number(static_cast<double>(r.train_seed))},
                                        {"test_nll", Value::number(r.test_nll)},
                                        {"test_samples", Value::number(r.test_samples)},
                                        {"val_nll", Value::number(r.val_nll)},
                                        {"best_epoch", Value::number(r.best_epoch)},
                                        {"epochs", Value::number(r.epochs)},
                                        {"steps", Value::number(static_cast<double>(r.steps))},
                                        {"wall_s", Value::number(r.wall_s)},
                                        {"cpu_s", Value::number(r.cpu_s)},
                                        {"ms_per_step", Value::number(r.ms_per_step)},
                                        {"cpu_ms_per_step", Value::number(r.cpu_ms_per_step)}}));
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  std::rename(tmp.c_str(), path.c_str());
}

// Milliseconds (wall and CPU) per training step of each method on the system's data: the first step
// warms caches and is left out; one JSON line per method.
void time_steps(const enf::train::ParticleSystem& sys, const Args& a) {
  const int n_train = a.n_train > 0 ? a.n_train : (sys.name == "dw4" ? 1000 : 100);
  const enf::train::Dataset data = enf::train::make_dataset(sys, n_train, 1, 1, a.seed);
  const std::vector<std::string> methods =
      a.methods.empty() ? std::vector<std::string>{a.method} : a.methods == "all" ? enf::fields::method_names() : split(a.methods, ',');
  for (const std::string& m : methods) {
    enf::train::TrainConfig cfg;
    enf::train::apply_method(cfg, m, sys);
    cfg.batch = a.batch;
    cfg.seed = a.seed;
    cfg.solver.steps = a.rk4_steps;
    cfg.solver.threads = a.threads;
    cfg.solver.keep_tapes = a.keep_tapes != 0;
    enf::train::Trainer trainer(sys, data.train, cfg);
    trainer.step();
    std::vector<double> wall, cpu;
    for (int k = 0; k < a.time_steps; ++k) {
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds();
      trainer.step();
      wall.push_back(1000 * seconds_since(t0));
      cpu.push_back(1000 * (cpu_seconds() - c0));
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf("{\"runtime\": \"native\", \"system\": \"%s\", \"method\": \"%s\", \"batch\": %d, \"threads\": %d, \"ms_per_step\": %.1f, "
                "\"cpu_ms_per_step\": %.1f, \"steps\": %d, \"parameters\": %zu}\n",
                sys.name.c_str(), m.c_str(), a.batch, a.threads, wall[wall.size() / 2], cpu[cpu.size() / 2], a.time_steps,
                trainer.params().count());
    std::fflush(stdout);
  }
}

void table1(Args a) {
  const std::vector<std::string> methods = a.methods.empty() ? enf::fields::method_names() : split(a.methods, ',');
  for (const std::string& m : methods) enf::fields::method(m, "");  // known, before hours of training
  const std::vector<std::string> systems = split(a.systems, ',');
  std::map<std::string, std::vector<int>> sizes{{"dw4", {1000}}, {"lj13", {100}}};
  for (const std::string& entry : split(a.sizes, ':')) {  // dw4=100,1000:lj13=10
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) throw enf::InvalidInput("--sizes takes system=n,n:system=n, got '" + entry + "'");
    std::vector<int> ns;
    for (const std::string& n : split(entry.substr(eq + 1), ',')) ns.push_back(std::stoi(n));
    sizes[entry.substr(0, eq)] = ns;
  }
  if (a.runs < 1) throw enf::InvalidInput("--runs needs at least 1");
  std::filesystem::create_directories(a.table1 + "/runs");
  const int epoch_cap = a.epochs;
  std::vector<RunResult> all;
  for (const std::string& system : systems) {
    const enf::train::ParticleSystem sys = enf::train::builtin_system(system);
    for (int n : sizes[system])
      for (const std::string& m : methods)
        for (int run_k = 0; run_k < a.runs; ++run_k) {
          const std::string base = a.table1 + "/runs/" + system + "-n" + std::to_string(n) + "-" + slug(m) + "-run" + std::to_string(run_k + 1);
          std::string text;
          if (read_file(base + ".json", text)) {  // finished before an interruption
            const enf::json::Value v = enf::json::parse(text);
            RunResult r;
            r.system = system;
            r.method = m;
            r.n_train = n;
            r.test_nll = v.at("test_nll").as_number();
            r.ms_per_step = v.at("ms_per_step").as_number();
            r.cpu_ms_per_step = v.at("cpu_ms_per_step").as_number();
            r.epochs = static_cast<int>(v.at("epochs").as_number());
            all.push_back(r);
            std::fprintf(stderr, "[table1] %s: done before (test NLL %.4f)\n", base.c_str(), r.test_nll);
            continue;
          }
          const Schedule sch = paper_schedule(system, n);
          Args c = a;
          c.method = m;
          c.n_train = n;
          c.epochs = std::min(sch.epochs, epoch_cap);
          c.batch = sch.batch;
          c.eval_every = std::min(sch.eval_every, c.epochs);
          c.minutes = c.lj13_minutes = 1e9;  // the schedule, not the clock, ends a run
          c.train_seed = static_cast<long long>(a.seed + run_k);
          c.save = base + ".safetensors";
          const RunResult r = run(sys, c);
          write_file(base + ".json", run_json(r) + "\n");
          all.push_back(r);
        }
  }
  // Mean and standard deviation over runs, beside the paper's numbers.
  using enf::json::Value;
  Value::Array cells;
  std::string md = "| method | system | n_train | runs | test NLL (mean ± sd) | paper | ms/step |\n|---|---|---|---|---|---|---|\n";
  for (const std::string& system : systems)
    for (int n : sizes[system])
      for (const std::string& m : methods) {
        std::vector<double> v;
        double ms = 0;
        for (const RunResult& r : all)
          if (r.system == system && r.n_train == n && r.method == m) {
            v.push_back(r.test_nll);
            ms += r.ms_per_step;
          }
        if (v.empty()) continue;
        double mean = 0, sd = 0;
        for (double x : v) mean += x / v.size();
        for (double x : v) sd += (x - mean) * (x - mean);
        sd = v.size() > 1 ? std::sqrt(sd / (v.size() - 1)) : 0;
        const double paper = enf::fields::paper_table1(m, system, n);
        cells.push_back(Value::object({{"method", Value::string(m)},
                                       {"system", Value::string(system)},
                                       {"n_train", Value::number(n)},
                                       {"runs", Value::number(static_cast<double>(v.size()))},
                                       {"test_nll_mean", Value::number(mean)},
                                       {"test_nll_sd", Value::number(sd)},
                                       {"paper", std::isnan(paper) ? Value() : Value::number(paper)},
                                       {"ms_per_step", Value::number(ms / v.size())}}));
        md += "| " + m + " | " + system + " | " + std::to_string(n) + " | " + std::to_string(v.size()) + " | " + fmt(mean, 2) +
              " ± " + fmt(sd, 2) + " | " + (std::isnan(paper) ? std::string("–") : fmt(paper, 2)) + " | " + fmt(ms / v.size(), 1) + " |\n";
      }
  write_file(a.table1 + "/table1.json", enf::json::dump(Value::object({{"cells", Value::array(std::move(cells))}})) + "\n");
  write_file(a.table1 + "/table1.md", md);
  std::printf("%s", md.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // The training graph allocates and frees many ~100 KB matrices per step; keep glibc from
  // returning them to the kernel each time (page faults were a quarter of the run time).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--system") a.system = next();
    else if (k == "--seed") a.seed = std::stoull(next());
    else if (k == "--minutes") a.minutes = std::stod(next());
    else if (k == "--lj13-minutes") a.lj13_minutes = std::stod(next());
    else if (k == "--cpu-minutes") a.cpu_minutes = std::stod(next());
    else if (k == "--epochs") a.epochs = std::stoi(next());
    else if (k == "--n-train") a.n_train = std::stoi(next());
    else if (k == "--rk4-steps") a.rk4_steps = std::stoi(next());
    else if (k == "--method") a.method = next();
    else if (k == "--solver") a.solver = next();
    else if (k == "--train-seed") a.train_seed = std::stoll(next());
    else if (k == "--table1") a.table1 = next();
    else if (k == "--methods") a.methods = next();
    else if (k == "--systems") a.systems = next();
    else if (k == "--sizes") a.sizes = next();
    else if (k == "--runs") a.runs = std::stoi(next());
    else if (k == "--time-steps") a.time_steps = std::stoi(next());
    else if (k == "--kinetic") a.kinetic = std::stod(next());
    else if (k == "--jacobian") a.jacobian = std::stod(next());
    else if (k == "--lr") a.lr = std::stod(next());
    else if (k == "--batch") a.batch = std::stoi(next());
    else if (k == "--eval-every") a.eval_every = std::max(1, std::stoi(next()));
    else if (k == "--val-subset") a.val_subset = std::stoi(next());
    else if (k == "--save") a.save = next();
    else if (k == "--init") a.init = next();
    else if (k == "--evaluate") a.evaluate = next();
    else if (k == "--reweight") a.reweight = next();
    else if (k == "--samples") a.samples = std::stoi(next());
    else if (k == "--keep-tapes") a.keep_tapes = std::stoi(next());
    else if (k == "--chunk") a.chunk = std::stoi(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--quick") {
      a.quick = true;
      a.minutes = a.lj13_minutes = 0.05;
      a.eval_every = 1;
      a.val_subset = 50;
    } else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of bench/train_bench.cpp)\n", k.c_str());
      return 2;
    }
  }
  try {
    enf::fields::method(a.method, "");  // a known row (and not an ODE method: that is --solver)
    if (!a.table1.empty()) {
      table1(a);
    } else if (a.time_steps > 0) {
      if (a.system == "all") {
        time_steps(enf::train::dw4(), a);
        time_steps(enf::train::lj13(), a);
      } else {
        time_steps(enf::train::builtin_system(a.system), a);
      }
    } else if (a.system == "all") {
      run(enf::train::dw4(), a);
      run(enf::train::lj13(), a);
    } else {
      run(enf::train::builtin_system(a.system), a);
    }
  } catch (const enf::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
