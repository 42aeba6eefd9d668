// enf: the native command-line front end of the core (sample, trajectory, score, verify).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "chem/bonds.hpp"
#include "chem/elements.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"
#include "models/json.hpp"
#include "models/qm9_model.hpp"
#include "models/verify.hpp"

#ifndef ENF_DEFAULT_WEIGHTS
#define ENF_DEFAULT_WEIGHTS "weights/qm9.safetensors"
#endif

namespace {

const char* kUsage = R"(enf: E(n) equivariant normalizing flow on QM9 (native build)

usage:
  enf sample     [--atoms M] [--seed S] [--count C] [--rtol R] [--atol A] [--format xyz|sdf|json]
  enf trajectory [--atoms M] [--seed S] [--frames F] [--rtol R] [--atol A]     (multi-frame XYZ)
  enf score FILE.xyz|FILE.sdf|FILE.mol [--trace exact|hutchinson] [--probes K] [--samples S] [--seed S] [--rtol R] [--atol A]
            [--threads N] [--step-control state+logp|state]
            (--threads: the exact trace's Jacobian columns over N threads; same result for any N)
  enf verify GOLDEN.json... [--rtol R] [--atol A]
common options:
  --weights PATH   converted QM9 weights (default: the build tree's weights/qm9.safetensors)
  --out PATH       write the result to PATH instead of standard output
  --method NAME    ODE solver: dopri5 (default), bosh3 (adaptive: --rtol/--atol), rk4, midpoint, euler
                   (fixed steps: --steps N, default 50)
M = 0 or absent draws the atom count from p(M). Positions are in Angstrom, log-likelihoods in nats.
)";

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;

  std::string get(const std::string& k, const std::string& def) const {
    auto it = options.find(k);
    return it == options.end() ? def : it->second;
  }
  double number(const std::string& k, double def) const {
    auto it = options.find(k);
    if (it == options.end()) return def;
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != it->second.size() || !std::isfinite(v))
      throw enf::InvalidInput("--" + k + " expects a number, got '" + it->second + "'");
    return v;
  }
  long long integer(const std::string& k, long long def, long long lo, long long hi) const {
    const double v = number(k, static_cast<double>(def));
    if (v != std::floor(v) || v < lo || v > hi)
      throw enf::InvalidInput("--" + k + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<long long>(v);
  }
};

Args parse_args(int argc, char** argv) {
  Args a;
  if (argc < 2) return a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      if (i + 1 >= argc) throw enf::InvalidInput("option " + s + " needs a value");
      a.options[s.substr(2)] = argv[++i];
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw enf::InvalidInput("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

enf::ode::Options solver_options(const Args& a) {
  enf::ode::Options o;
  o.method = enf::ode::method_from_name(a.get("method", "dopri5"));
  o.rtol = a.number("rtol", 1e-4);
  o.atol = a.number("atol", 1e-4);
  o.fixed_steps = static_cast<int>(a.integer("steps", 50, 1, 100000));
  return o;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string molecule_json(const enf::SampledMolecule& s) {
  const auto st = enf::chem::stability(s.molecule);
  std::ostringstream o;
  o << "{\"elements\":[";
  for (int i = 0; i < s.molecule.size(); ++i)
    o << (i ? "," : "") << '"' << enf::chem::element(s.molecule.types[i]).symbol << '"';
  o << "],\"charges\":[";
  for (size_t i = 0; i < s.charges.size(); ++i) o << (i ? "," : "") << s.charges[i];
  o << "],\"positions\":[";
  for (size_t i = 0; i < s.molecule.positions.size(); ++i) o << (i ? "," : "") << json_number(s.molecule.positions[i]);
  o << "],\"stable_atoms\":" << st.stable_atoms << ",\"stable\":" << (st.molecule_stable ? "true" : "false")
    << ",\"nfe\":" << s.stats.nfe << "}";
  return o.str();
}

int cmd_sample(const Args& a, const enf::Qm9Model& model, std::ostream& out) {
  enf::SampleOptions o;
  o.atoms = static_cast<int>(a.integer("atoms", 0, 0, model.max_atoms()));
  o.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, 1LL << 53));
  o.solver = solver_options(a);
  const long long count = a.integer("count", 1, 1, 100000);
  const std::string format = a.get("format", "xyz");
  if (format != "xyz" && format != "sdf" && format != "json")
    throw enf::InvalidInput("--format must be xyz, sdf or json");
  if (format == "json") out << "[";
  for (long long k = 0; k < count; ++k) {
    enf::SampleOptions ok = o;
    ok.seed = o.seed + static_cast<uint64_t>(k);
    const enf::SampledMolecule s = model.sample(ok);
    const auto st = enf::chem::stability(s.molecule);
    const std::string title = "enf sample seed=" + std::to_string(ok.seed) + " stable=" +
                              (st.molecule_stable ? "yes" : "no") + " nfe=" + std::to_string(s.stats.nfe);
    if (format == "xyz") out << enf::chem::to_xyz(s.molecule, title);
    if (format == "sdf") out << enf::chem::to_sdf(s.molecule, enf::chem::bonds(s.molecule), title);
    if (format == "json") out << (k ? "," : "") << molecule_json(s);
  }
  if (format == "json") out << "]\n";
  return 0;
}

int cmd_trajectory(const Args& a, const enf::Qm9Model& model, std::ostream& out) {
  enf::SampleOptions o;
  o.atoms = static_cast<int>(a.integer("atoms", 0, 0, model.max_atoms()));
  o.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, 1LL << 53));
  o.solver = solver_options(a);
  const int frames = static_cast<int>(a.integer("frames", 50, 2, 10000));
  model.sample_trajectory(o, frames, [&](const enf::TrajectoryFrame& f) {
    enf::chem::Molecule m{f.types, f.positions};
    out << enf::chem::to_xyz(m, "frame " + std::to_string(f.index) + " t=" + json_number(f.t)) << std::flush;
  });
  return 0;
}

int cmd_score(const Args& a, const enf::Qm9Model& model, std::ostream& out) {
  if (a.positional.size() != 1) throw enf::InvalidInput("score takes one XYZ, SDF or MOL file");
  const enf::chem::Molecule mol = enf::chem::parse_molecule(read_file(a.positional[0]), model.max_atoms());
  enf::LikelihoodOptions o;
  const std::string trace = a.get("trace", "hutchinson");
  if (trace != "exact" && trace != "hutchinson") throw enf::InvalidInput("--trace must be exact or hutchinson");
  o.trace = trace == "exact" ? enf::flow::Trace::Exact : enf::flow::Trace::Hutchinson;
  o.probes = static_cast<int>(a.integer("probes", 1, 1, 1024));
  o.samples = static_cast<int>(a.integer("samples", 1, 1, 1000));
  o.seed = static_cast<uint64_t>(a.integer("seed", 0, 0, 1LL << 53));
  o.solver = solver_options(a);
  o.split.threads = static_cast<int>(a.integer("threads", 1, 1, 256));
  const std::string control = a.get("step-control", "state+logp");
  if (control != "state" && control != "state+logp") throw enf::InvalidInput("--step-control must be state+logp or state");
  o.state_step_control = control == "state";
  const auto t0 = std::chrono::steady_clock::now();
  const enf::LikelihoodResult r = model.log_likelihood(mol, o);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  out << "{\"log_likelihood\":" << json_number(r.log_likelihood) << ",\"per_atom\":" << json_number(r.per_atom)
      << ",\"stderr\":" << json_number(r.stderr_) << ",\"terms\":{\"log_pz\":" << json_number(r.terms.log_pz)
      << ",\"delta_logp\":" << json_number(r.terms.delta_logp) << ",\"log_q\":" << json_number(r.terms.log_q)
      << ",\"log_pM\":" << json_number(r.terms.log_pM) << "},\"atoms\":" << r.atoms << ",\"nfe\":" << r.nfe
      << ",\"trace\":\"" << trace << "\",\"units\":\"nats\",\"ms\":" << json_number(ms) << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse_args(argc, argv);
    if (a.command.empty() || a.command == "help" || a.command == "--help" || a.command == "-h") {
      std::cout << kUsage;
      return a.command.empty() ? 2 : 0;
    }
    const enf::Qm9Model model = enf::Qm9Model::load_file(a.get("weights", ENF_DEFAULT_WEIGHTS));
    std::ofstream file;
    const std::string out_path = a.get("out", "");
    if (!out_path.empty()) {
      file.open(out_path);
      if (!file) throw enf::InvalidInput("cannot write '" + out_path + "'");
    }
    std::ostream& out = out_path.empty() ? std::cout : file;
    if (a.command == "sample") return cmd_sample(a, model, out);
    if (a.command == "trajectory") return cmd_trajectory(a, model, out);
    if (a.command == "score") return cmd_score(a, model, out);
    if (a.command == "verify") {
      enf::VerifyOptions vo;
      vo.rtol = a.number("rtol", vo.rtol);
      vo.atol = a.number("atol", vo.atol);
      if (a.positional.empty()) throw enf::InvalidInput("verify takes one or more golden JSON files");
      bool ok = true;
      for (const auto& path : a.positional) {
        for (const auto& c : enf::verify_golden(model, read_file(path), vo)) {
          char line[512];
          std::snprintf(line, sizeof line, "%-4s %-40s %-24s max_abs_err %.3e  tol %.0e\n", c.pass() ? "ok" : "FAIL",
                        c.case_name.c_str(), c.quantity.c_str(), c.max_abs_error, c.tolerance);
          out << line;
          ok &= c.pass();
        }
      }
      out << (ok ? "verify: all cases within tolerance\n" : "verify: FAILED\n");
      return ok ? 0 : 1;
    }
    std::cerr << "enf: unknown command '" << a.command << "'\n" << kUsage;
    return 2;
  } catch (const enf::Error& e) {
    std::cerr << "enf: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "enf: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
