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
constexpr double kTolEquivariance = 1e-4;  // a transformed latent's sample against Q x[perm] (issue #13)

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
      const Eigen::MatrixXd state = matrix(c.at("state"), model.stride());
      const int M = static_cast<int>(state.rows());
      const double t = c.at("t").as_number();
      const flow::StateVector phi = model.velocity(t, flat(state));
      const std::string n = name("dynamics", i, M) + " t=" + std::to_string(t).substr(0, 4);
      out.push_back({n, "dstate_dt", max_abs(phi, flat(matrix(c.at("dstate_dt"), model.stride()))), kTolNetwork});
      if (c.has("dequantizer_input")) {
        const auto& in = c.at("dequantizer_input");
        const Eigen::MatrixXd h = matrix(in.at("h"), model.features());
        if (h.rows() != M) throw InvalidInput("golden file: dequantizer_input.h needs one row per atom of the state");
        std::vector<int> types(M);
        for (int a = 0; a < M; ++a) {
          int k = 0;
          h.row(a).head(model.n_types()).maxCoeff(&k);
          types[a] = model.elements()[k];
        }
        const Eigen::MatrixXd got = model.dequantizer_output(matrix(in.at("x"), 3), types);
        out.push_back({n, "dequantizer_mu_logsigma", max_abs(got, matrix(c.at("dequantizer_mu_logsigma"), 12)),
                       kTolNetwork});
      }
    } else if (c.has("dequant_eps")) {
      const std::vector<int> types = types_from_atomic_numbers(c.at("atoms"));
      const int M = static_cast<int>(types.size());
      const Eigen::MatrixXd x = matrix(c.at("x_centered"), 3);
      const Lifted lifted = model.lift(x, types, matrix(c.at("dequant_eps"), model.features()));
      const FlowToLatent fl = model.to_latent(x, lifted.h, solver, flow::TraceOptions{flow::Trace::Exact, 1, false, 0, {}, {}, false, {}});
      const double log_pz = flow::log_prior(fl.z, 3, model.features());
      const double log_pN = model.log_p_atoms(M);
      const double log_p = log_pz + fl.delta_logp - lifted.log_q + log_pN;
      const std::string n = name("flow", i, M);
      auto scalar = [&](const char* key, double v) {
        out.push_back({n, key, std::abs(v - c.at(key).as_number()), kTolNats});
      };
      out.push_back({n, "h_lifted", max_abs(lifted.h, matrix(c.at("h_lifted"), model.features())), kTolNetwork});
      scalar("log_q_h", lifted.log_q);
      out.push_back({n, "z", max_abs(fl.z, flat(matrix(c.at("z"), model.stride()))), kTolState});
      scalar("delta_logp", fl.delta_logp);
      scalar("log_pz", log_pz);
      scalar("log_pN", log_pN);
      scalar("log_p", log_p);
    } else if (c.has("x_h")) {
      const Eigen::MatrixXd z = matrix(c.at("z"), model.stride());
      const int M = static_cast<int>(z.rows());
      const flow::StateVector x_h = model.from_latent(flat(z), solver);
      const SampledMolecule d = model.decode(x_h);
      const std::string n = name("reverse", i, M);
      out.push_back({n, "x_h", max_abs(x_h, flat(matrix(c.at("x_h"), model.stride()))), kTolState});
      int type_mismatches = 0;
      const auto& expected = c.at("atom_types").as_array();
      for (int a = 0; a < M; ++a)
        type_mismatches += (a >= static_cast<int>(expected.size()) || d.molecule.types[a] != expected[a].as_number());
      out.push_back({n, "atom_types (mismatches)", static_cast<double>(type_mismatches), 0.0});
    } else if (c.has("latent_transform")) {
      // Sampling through a transformed latent (tests/golden/sampling_equivariance.json): the sample
      // for (n_atoms, seed) against the stored one, and the sample of the transformed latent
      // against Q x[perm], the relation equivariance fixes exactly.
      const Eigen::MatrixXd x = matrix(c.at("x"), 3);
      const int M = static_cast<int>(x.rows());
      const double n_atoms = c.at("n_atoms").as_number(), seed = c.at("seed").as_number();
      if (n_atoms != M || M < 1 || M > model.max_atoms() || static_cast<int>(c.at("atom_types").as_array().size()) != M)
        throw InvalidInput("golden file: a sampling case needs n_atoms rows of x and of atom_types (at most the model's maximum)");
      if (!(seed >= 0 && seed <= 9007199254740992.0) || seed != std::floor(seed))
        throw InvalidInput("golden file: seed must be an integer in [0, 2^53]");
      SampleOptions o;
      o.atoms = M;
      o.seed = static_cast<uint64_t>(seed);
      o.solver = solver;
      const json::Value& t = c.at("latent_transform");
      const Eigen::MatrixXd Q = matrix(t.at("rotation"), 3);
      if (Q.rows() != 3) throw InvalidInput("golden file: latent_transform.rotation must be 3 rows of 3");
      o.latent.orthogonal = {Q(0, 0), Q(0, 1), Q(0, 2), Q(1, 0), Q(1, 1), Q(1, 2), Q(2, 0), Q(2, 1), Q(2, 2)};
      for (const auto& p : t.at("permutation").as_array()) {
        const double v = p.as_number();
        if (!(v >= 0 && v < M) || v != std::floor(v)) throw InvalidInput("golden file: a permutation index is not an atom");
        o.latent.permutation.push_back(static_cast<int>(v));
      }
      if (static_cast<int>(o.latent.permutation.size()) != M)
        throw InvalidInput("golden file: latent_transform.permutation needs one index per atom");
      o.latent.validate(M, 3);
      const auto positions = [M](const SampledMolecule& s) {
        return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>>(s.molecule.positions.data(), M, 3)
            .eval();
      };
      SampleOptions plain = o;
      plain.latent = {};
      const SampledMolecule a = model.sample(plain);
      const SampledMolecule b = model.sample(o);
      Eigen::MatrixXd expected(M, 3);
      const Eigen::MatrixXd xa = positions(a);
      int type_mismatches = 0;
      const auto& types = c.at("atom_types").as_array();
      for (int k = 0; k < M; ++k) {
        const int src = o.latent.permutation[k];
        expected.row(k) = (Q * xa.row(src).transpose()).transpose();
        type_mismatches += b.molecule.types[k] != a.molecule.types[src];
        type_mismatches += a.molecule.types[k] != types[k].as_number();
      }
      const std::string n = name("sampling", i, M) + " seed " + std::to_string(o.seed);
      out.push_back({n, "x (untransformed latent)", max_abs(xa, x), kTolState});
      out.push_back({n, "x' - Q x[perm] (transformed latent)", max_abs(positions(b), expected), kTolEquivariance});
      out.push_back({n, "atom_types (mismatches)", static_cast<double>(type_mismatches), 0.0});
    } else {
      throw InvalidInput("golden case " + std::to_string(i) + " is neither a dynamics, flow, reverse nor sampling case");
    }
  }
  return out;
}

}  // namespace enf
