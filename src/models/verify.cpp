#include "models/verify.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "models/json.hpp"

namespace enf {

namespace {

// Tolerances fixed by the core issue.
constexpr double kTolNetwork = 1e-4;  // dynamics and dequantizer outputs
constexpr double kTolState = 1e-3;    // reverse solve x_h, flow z
constexpr double kTolNats = 2e-2;     // delta log p, log q, log p

Eigen::MatrixXd matrix(const json::Value& v, int cols) {
  const auto& rows = v.as_array();
  Eigen::MatrixXd m(static_cast<int>(rows.size()), cols);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i].as_array();
    if (static_cast<int>(r.size()) != cols) throw InvalidInput("golden file: a row has the wrong length");
    for (int j = 0; j < cols; ++j) m(static_cast<int>(i), j) = r[j].as_number();
  }
  return m;
}

flow::StateVector flat(const Eigen::MatrixXd& m) {
  flow::StateVector s(m.size());
  for (int i = 0; i < m.rows(); ++i)
    for (int j = 0; j < m.cols(); ++j) s(i * m.cols() + j) = m(i, j);
  return s;
}

std::vector<int> types_from_atomic_numbers(const json::Value& atoms) {
  std::vector<int> types;
  for (const auto& z : atoms.as_array()) {
    const double Z = z.as_number();  // compared as a double: casting 1e300 to int is undefined
    const int t = Z == 1 ? 0 : (Z == 6 ? 1 : Z == 7 ? 2 : Z == 8 ? 3 : Z == 9 ? 4 : -1);
    if (t < 0) throw InvalidInput("golden file: atomic number " + std::to_string(Z) + " is not H, C, N, O or F");
    types.push_back(t);
  }
  return types;
}

double max_abs(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  if (a.size() != b.size()) return INFINITY;
  return (a.reshaped() - b.reshaped()).cwiseAbs().maxCoeff();
}

std::string name(const std::string& kind, size_t i, int atoms) {
  return kind + "[" + std::to_string(i) + "] M=" + std::to_string(atoms);
}

}  // namespace

std::vector<VerifyCheck> verify_golden(const Qm9Model& model, const std::string& text, const VerifyOptions& opt) {
  const json::Value doc = json::parse(text);
  if (!doc.is_object() || !doc.has("cases")) throw InvalidInput("not a golden file: no 'cases' array");
  ode::Options solver;
  solver.rtol = opt.rtol;
  solver.atol = opt.atol;
  solver.max_steps = 100000;
  std::vector<VerifyCheck> out;
  const auto& cases = doc.at("cases").as_array();
  for (size_t i = 0; i < cases.size(); ++i) {
    const json::Value& c = cases[i];
    if (c.has("dstate_dt")) {
      const Eigen::MatrixXd state = matrix(c.at("state"), kQm9Stride);
      const int M = static_cast<int>(state.rows());
      const double t = c.at("t").as_number();
      const flow::StateVector phi = model.velocity(t, flat(state));
      const std::string n = name("dynamics", i, M) + " t=" + std::to_string(t).substr(0, 4);
      out.push_back({n, "dstate_dt", max_abs(phi, flat(matrix(c.at("dstate_dt"), kQm9Stride))), kTolNetwork});
      if (c.has("dequantizer_input")) {
        const auto& in = c.at("dequantizer_input");
        const Eigen::MatrixXd h = matrix(in.at("h"), kQm9Features);
        if (h.rows() != M) throw InvalidInput("golden file: dequantizer_input.h needs one row per atom of the state");
        std::vector<int> types(M);
        for (int a = 0; a < M; ++a) h.row(a).head(kQm9Types).maxCoeff(&types[a]);
        const Eigen::MatrixXd got = model.dequantizer_output(matrix(in.at("x"), 3), types);
        out.push_back({n, "dequantizer_mu_logsigma", max_abs(got, matrix(c.at("dequantizer_mu_logsigma"), 12)),
                       kTolNetwork});
      }
    } else if (c.has("dequant_eps")) {
      const std::vector<int> types = types_from_atomic_numbers(c.at("atoms"));
      const int M = static_cast<int>(types.size());
      const Eigen::MatrixXd x = matrix(c.at("x_centered"), 3);
      const Lifted lifted = model.lift(x, types, matrix(c.at("dequant_eps"), kQm9Features));
      const FlowToLatent fl = model.to_latent(x, lifted.h, solver, flow::TraceOptions{flow::Trace::Exact, 1, false, 0, {}});
      const double log_pz = flow::log_prior(fl.z, 3, kQm9Features);
      const double log_pN = model.log_p_atoms(M);
      const double log_p = log_pz + fl.delta_logp - lifted.log_q + log_pN;
      const std::string n = name("flow", i, M);
      auto scalar = [&](const char* key, double v) {
        out.push_back({n, key, std::abs(v - c.at(key).as_number()), kTolNats});
      };
      out.push_back({n, "h_lifted", max_abs(lifted.h, matrix(c.at("h_lifted"), kQm9Features)), kTolNetwork});
      scalar("log_q_h", lifted.log_q);
      out.push_back({n, "z", max_abs(fl.z, flat(matrix(c.at("z"), kQm9Stride))), kTolState});
      scalar("delta_logp", fl.delta_logp);
      scalar("log_pz", log_pz);
      scalar("log_pN", log_pN);
      scalar("log_p", log_p);
    } else if (c.has("x_h")) {
      const Eigen::MatrixXd z = matrix(c.at("z"), kQm9Stride);
      const int M = static_cast<int>(z.rows());
      const flow::StateVector x_h = model.from_latent(flat(z), solver);
      const SampledMolecule d = model.decode(x_h);
      const std::string n = name("reverse", i, M);
      out.push_back({n, "x_h", max_abs(x_h, flat(matrix(c.at("x_h"), kQm9Stride))), kTolState});
      int type_mismatches = 0;
      const auto& expected = c.at("atom_types").as_array();
      for (int a = 0; a < M; ++a)
        type_mismatches += (a >= static_cast<int>(expected.size()) || d.molecule.types[a] != expected[a].as_number());
      out.push_back({n, "atom_types (mismatches)", static_cast<double>(type_mismatches), 0.0});
    } else {
      throw InvalidInput("golden case " + std::to_string(i) + " is neither a dynamics, flow nor reverse case");
    }
  }
  return out;
}

}  // namespace enf
