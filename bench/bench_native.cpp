// Native benchmark of the QM9 E-NF core: prints one JSON object (see README, "Benchmarks").
// usage: enf_bench WEIGHTS.safetensors QM9_TEST.safetensors [--quick] [--no-exact] [--exact-threads N]
// --exact-threads N adds a second line: the exact score on 1 thread and on N threads (the same
// result, the Jacobian's columns spread over the threads) and the speed-up.
// enf_bench WEIGHTS.safetensors --state FILE [--reps N] times one dynamics evaluation at a given
// point instead (FILE: t, then the M x 9 state, whitespace-separated) and prints its median and
// minimum and the value, for bench/runtimes.mjs to compare against the other runtimes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "errors.hpp"
#include "models/qm9_model.hpp"
#include "models/safetensors.hpp"
#include "tensor/random.hpp"

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// The first molecule of the given size in the QM9 test split.
enf::chem::Molecule first_test_molecule(const std::string& path, int atoms) {
  const auto data = enf::SafeTensors::load_file(path);
  const auto n_atoms = data.ints("num_atoms");
  const auto charges = data.ints("charges");
  const auto pos = data.floats("positions", data.shape("positions"));
  const int max_n = static_cast<int>(data.shape("charges")[1]);
  for (size_t k = 0; k < n_atoms.size(); ++k) {
    if (n_atoms[k] != atoms) continue;
    enf::chem::Molecule m;
    for (int i = 0; i < atoms; ++i) {
      const int z = static_cast<int>(charges[k * max_n + i]);
      m.types.push_back(z == 1 ? 0 : z - 5);
      for (int d = 0; d < 3; ++d) m.positions.push_back(pos[(k * max_n + i) * 3 + d]);
    }
    return m;
  }
  throw enf::InvalidInput("no test molecule with " + std::to_string(atoms) + " atoms");
}

// The --state mode (see the top of the file).
int time_state(const char* weights, const char* path, int reps) {
  std::ifstream in(path);
  double t;
  std::vector<double> s;
  if (!(in >> t)) throw enf::InvalidInput(std::string("cannot read t from ") + path);
  for (double v; in >> v;) s.push_back(v);
  if (s.empty() || s.size() % 9) throw enf::InvalidInput("the state must hold M x 9 numbers");
  const auto model = enf::Qm9Model::load_file(weights);
  const enf::flow::StateVector state = Eigen::Map<const enf::flow::StateVector>(s.data(), static_cast<Eigen::Index>(s.size()));
  enf::flow::StateVector v;
  for (int k = 0; k < 20; ++k) v = model.velocity(t, state);  // warm the buffers
  std::vector<double> ms;
  for (int k = 0; k < reps; ++k) {
    const double t0 = now_ms();
    v = model.velocity(t, state);
    ms.push_back(now_ms() - t0);
  }
  std::printf("{\"runtime\":\"native\",\"atoms\":%d,\"median_ms\":%.5f,\"min_ms\":%.5f,\"value\":[",
              static_cast<int>(s.size() / 9), median(ms), *std::min_element(ms.begin(), ms.end()));
  for (Eigen::Index i = 0; i < v.size(); ++i) std::printf("%s%.9g", i ? "," : "", v[i]);
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[2], "--state") == 0) {
    try {
      const int reps = argc >= 6 && std::strcmp(argv[4], "--reps") == 0 ? std::atoi(argv[5]) : 1000;
      return time_state(argv[1], argv[3], std::max(1, reps));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "enf_bench: %s\n", e.what());
      return 1;
    }
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: enf_bench WEIGHTS.safetensors QM9_TEST.safetensors [--quick] [--no-exact]\n");
    return 2;
  }
  bool quick = false, exact = true;
  int exact_threads = 0;
  for (int i = 3; i < argc; ++i) {
    quick |= std::strcmp(argv[i], "--quick") == 0;
    if (std::strcmp(argv[i], "--no-exact") == 0) exact = false;
    if (std::strcmp(argv[i], "--exact-threads") == 0 && i + 1 < argc) exact_threads = std::atoi(argv[++i]);
  }
  try {
    const int atoms = 19;
    const double tol = 1e-4;
    const auto model = enf::Qm9Model::load_file(argv[1]);
    const auto molecule = first_test_molecule(argv[2], atoms);

    // One dynamics evaluation at a latent-like state.
    enf::Rng rng(1);
    const auto z = model.draw_latent(atoms, rng);
    std::vector<double> eval_ms;
    for (int k = 0; k < (quick ? 20 : 200); ++k) {
      const double t0 = now_ms();
      auto v = model.velocity(0.5, z);
      eval_ms.push_back(now_ms() - t0);
    }

    std::vector<double> sample_ms, sample_nfe;
    for (int k = 0; k < (quick ? 2 : 7); ++k) {
      enf::SampleOptions o;
      o.atoms = atoms;
      o.seed = static_cast<uint64_t>(k);
      o.solver.rtol = o.solver.atol = tol;
      const double t0 = now_ms();
      const auto s = model.sample(o);
      sample_ms.push_back(now_ms() - t0);
      sample_nfe.push_back(s.stats.nfe);
    }

    std::vector<double> hutch_ms, hutch_nfe;
    for (int k = 0; k < (quick ? 1 : 3); ++k) {
      enf::LikelihoodOptions o;
      o.trace = enf::flow::Trace::Hutchinson;
      o.seed = static_cast<uint64_t>(k);
      o.solver.rtol = o.solver.atol = tol;
      const double t0 = now_ms();
      const auto r = model.log_likelihood(molecule, o);
      hutch_ms.push_back(now_ms() - t0);
      hutch_nfe.push_back(r.nfe);
    }

    double exact_ms = -1, exact_nfe = -1, exact_ll = 0;
    if (exact) {
      enf::LikelihoodOptions o;
      o.trace = enf::flow::Trace::Exact;
      o.solver.rtol = o.solver.atol = tol;
      const double t0 = now_ms();
      const auto r = model.log_likelihood(molecule, o);
      exact_ms = now_ms() - t0;
      exact_nfe = r.nfe;
      exact_ll = r.log_likelihood;
    }
    std::printf(
        "{\"runtime\":\"native\",\"atoms\":%d,\"threads\":1,\"rtol\":%g,\"atol\":%g,\"nfe_ms\":%.4f,"
        "\"sample_ms\":%.2f,\"sample_nfe\":%g,\"score_hutch_ms\":%.2f,\"score_hutch_nfe\":%g,"
        "\"score_exact_ms\":%s,\"score_exact_nfe\":%s,\"score_exact_log_likelihood\":%s}\n",
        atoms, tol, tol, median(eval_ms), median(sample_ms), median(sample_nfe), median(hutch_ms), median(hutch_nfe),
        exact ? std::to_string(exact_ms).c_str() : "null", exact ? std::to_string(exact_nfe).c_str() : "null",
        exact ? std::to_string(exact_ll).c_str() : "null");
    if (exact_threads > 1) {
      double ms[2], ll[2];
      const int threads[2] = {1, exact_threads};
      for (int k = 0; k < 2; ++k) {
        enf::LikelihoodOptions o;
        o.trace = enf::flow::Trace::Exact;
        o.solver.rtol = o.solver.atol = tol;
        o.split.threads = threads[k];
        const double t0 = now_ms();
        ll[k] = model.log_likelihood(molecule, o).log_likelihood;
        ms[k] = now_ms() - t0;
      }
      std::printf(
          "{\"runtime\":\"native\",\"atoms\":%d,\"exact_threads\":[1,%d],\"score_exact_ms\":[%.1f,%.1f],"
          "\"speedup\":%.3f,\"same_result\":%s}\n",
          atoms, exact_threads, ms[0], ms[1], ms[0] / ms[1], ll[0] == ll[1] ? "true" : "false");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "enf_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
