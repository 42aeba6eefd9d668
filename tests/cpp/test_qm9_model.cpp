// The pretrained QM9 model: invariances, invertibility, sampling contracts and bad input.
// Needs the converted checkpoint from ../shared; skips with a message when it is absent.
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "errors.hpp"
#include "models/qm9_model.hpp"
#include "tensor/random.hpp"

namespace {

const enf::Qm9Model* model() {
  static std::unique_ptr<enf::Qm9Model> m;
  if (!m && std::filesystem::exists(ENF_QM9_WEIGHTS))
    m = std::make_unique<enf::Qm9Model>(enf::Qm9Model::load_file(ENF_QM9_WEIGHTS));
  return m.get();
}

#define REQUIRE_MODEL()                                                                                       \
  if (!model()) GTEST_SKIP() << "QM9 weights not found at " ENF_QM9_WEIGHTS " (../shared is absent); skipping"

// Ethanol-like C2H6O, the first QM9 test molecule's composition, with plausible geometry.
enf::chem::Molecule ethanol() {
  enf::chem::Molecule m;
  m.types = {1, 1, 3, 0, 0, 0, 0, 0, 0};
  m.positions = {-0.0046, 1.5234, 0.0,  0.0031, 0.0134, 0.0,   1.3495, -0.4578, 0.0,
                 -1.0200, 1.9100, 0.0,  0.5100, 1.9100, 0.8800, 0.5100, 1.9100, -0.8800,
                 -0.5100, -0.3600, 0.8900, -0.5100, -0.3600, -0.8900, 1.3600, -1.4200, 0.0};
  return m;
}

// Methane CH4 (tetrahedral, C-H 1.09 Å): a 5-atom molecule with a permutable set of atoms.
enf::chem::Molecule methane() {
  enf::chem::Molecule m;
  m.types = {1, 0, 0, 0, 0};
  m.positions = {0, 0, 0, 0.629, 0.629, 0.629, -0.629, -0.629, 0.629, -0.629, 0.629, -0.629, 0.629, -0.629, -0.629};
  return m;
}

// Under AddressSanitizer (tests/sanitize.sh) the exact-trace solves at 1e-7 on 9 atoms take more
// than 15 minutes; the same invariance is checked there on a 5-atom molecule (about 6x cheaper:
// the exact trace costs ~M^3).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

Eigen::MatrixXd positions(const enf::chem::Molecule& m) {
  Eigen::MatrixXd x(m.size(), 3);
  for (int i = 0; i < m.size(); ++i)
    for (int d = 0; d < 3; ++d) x(i, d) = m.positions[3 * i + d];
  return x.rowwise() - x.colwise().mean();
}

Eigen::Matrix3d random_orthogonal(uint64_t seed, bool reflect) {
  enf::Rng rng(seed);
  Eigen::Matrix3d a;
  for (int i = 0; i < 9; ++i) a(i) = rng.normal();
  Eigen::Matrix3d q = Eigen::HouseholderQR<Eigen::Matrix3d>(a).householderQ();
  if ((q.determinant() < 0) != reflect) q.col(0) *= -1;
  return q;
}

enf::ode::Options tight() {
  enf::ode::Options o;
  o.rtol = o.atol = 1e-6;
  return o;
}

double exact_log_p(const Eigen::MatrixXd& x, const std::vector<int>& types, const Eigen::MatrixXd& eps,
                   double tol) {
  enf::ode::Options o;
  o.rtol = o.atol = tol;
  const auto lifted = model()->lift(x, types, eps);
  const auto fl = model()->to_latent(x, lifted.h, o, {enf::flow::Trace::Exact, 1, false, 0});
  return enf::flow::log_prior(fl.z, 3, enf::kQm9Features) + fl.delta_logp - lifted.log_q +
         model()->log_p_atoms(static_cast<int>(types.size()));
}

}  // namespace

TEST(Qm9Model, AtomCountDistributionIsNormalised) {
  REQUIRE_MODEL();
  const auto& p = model()->atom_count_probabilities();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
  EXPECT_TRUE(std::isinf(model()->log_p_atoms(28)));
  EXPECT_TRUE(std::isinf(model()->log_p_atoms(2)));
  EXPECT_GT(model()->log_p_atoms(19), model()->log_p_atoms(9));
}

TEST(Qm9Model, LogLikelihoodIsInvariantUnderRotationReflectionTranslationPermutation) {
  REQUIRE_MODEL();
  const auto mol = kSanitizerBuild ? methane() : ethanol();
  const int M = mol.size();
  const Eigen::MatrixXd x = positions(mol);
  enf::Rng rng(5);
  Eigen::MatrixXd eps(M, enf::kQm9Features);
  for (int i = 0; i < eps.size(); ++i) eps(i) = rng.normal();
  // Invariance holds to the solver's accuracy: float32 rounding in the error estimate changes the
  // adaptive step sequence with the orientation, which moves the result by about the integration
  // error (measured: 0.1-0.2 nats at rtol = atol = 1e-4, 1e-3 at 1e-6, 1e-4 at 1e-7).
  const double tol = 1e-7;
  for (bool reflect : {false, true}) {
    const double base = exact_log_p(x, mol.types, eps, tol);
    EXPECT_TRUE(std::isfinite(base));
    const Eigen::Matrix3d Q = random_orthogonal(reflect ? 11 : 12, reflect);
    std::vector<int> perm(M);
    std::iota(perm.begin(), perm.end(), 0);
    for (int i = M - 1; i > 0; --i) std::swap(perm[i], perm[rng.next_u64() % (i + 1)]);
    Eigen::MatrixXd xt(M, 3), epst(M, enf::kQm9Features);
    std::vector<int> types(M);
    const Eigen::RowVector3d shift(3.0, -2.0, 7.5);
    for (int i = 0; i < M; ++i) {
      xt.row(i) = (Q * x.row(perm[i]).transpose()).transpose() + shift;
      epst.row(i) = eps.row(perm[i]);
      types[i] = mol.types[perm[i]];
    }
    // The model centres its input; the shift must not matter.
    const Eigen::MatrixXd xc = xt.rowwise() - xt.colwise().mean();
    EXPECT_NEAR(exact_log_p(xc, types, epst, tol), base, 1e-3) << "reflect " << reflect;
  }
}

TEST(Qm9Model, ReverseOfForwardReturnsTheInput) {
  REQUIRE_MODEL();
  const auto mol = ethanol();
  const Eigen::MatrixXd x = positions(mol);
  enf::Rng rng(9);
  Eigen::MatrixXd eps(mol.size(), enf::kQm9Features);
  for (int i = 0; i < eps.size(); ++i) eps(i) = rng.normal();
  const auto lifted = model()->lift(x, mol.types, eps);
  enf::ode::Options o;
  o.rtol = o.atol = 1e-5;
  const auto fl = model()->to_latent(x, lifted.h, o, {enf::flow::Trace::Hutchinson, 1, false, 1});
  const auto back = model()->from_latent(fl.z, o);
  const auto decoded = model()->decode(back);
  double err = 0;
  for (int i = 0; i < mol.size(); ++i)
    for (int d = 0; d < 3; ++d) err = std::max(err, std::abs(decoded.molecule.positions[3 * i + d] - x(i, d)));
  EXPECT_LT(err, 1e-3) << "max position error (Angstrom)";
  EXPECT_EQ(decoded.molecule.types, mol.types);
}

TEST(Qm9Model, RotatedLatentGivesRotatedMolecule) {
  REQUIRE_MODEL();
  enf::Rng rng(3);
  const auto z = model()->draw_latent(12, rng);
  const Eigen::Matrix3d Q = random_orthogonal(21, true);
  auto zr = z;
  for (int i = 0; i < 12; ++i) zr.segment<3>(i * 9) = Q * z.segment<3>(i * 9);
  const auto a = model()->decode(model()->from_latent(z, tight()));
  const auto b = model()->decode(model()->from_latent(zr, tight()));
  EXPECT_EQ(a.molecule.types, b.molecule.types);
  for (int i = 0; i < 12; ++i) {
    const Eigen::Vector3d pa(a.molecule.positions.data() + 3 * i);
    const Eigen::Vector3d pb(b.molecule.positions.data() + 3 * i);
    EXPECT_LT((Q * pa - pb).norm(), 1e-3) << "atom " << i;
  }
}

TEST(Qm9Model, SameSeedSameMoleculeAndTrajectoryEndsAtTheSample) {
  REQUIRE_MODEL();
  enf::SampleOptions o;
  o.atoms = 10;
  o.seed = 42;
  const auto a = model()->sample(o);
  const auto b = model()->sample(o);
  EXPECT_EQ(a.molecule.types, b.molecule.types);
  EXPECT_EQ(a.molecule.positions, b.molecule.positions);
  std::vector<enf::TrajectoryFrame> frames;
  const auto c = model()->sample_trajectory(o, 20, [&](const enf::TrajectoryFrame& f) { frames.push_back(f); });
  ASSERT_EQ(frames.size(), 20u);
  EXPECT_DOUBLE_EQ(frames.front().t, 1.0);
  EXPECT_DOUBLE_EQ(frames.back().t, 0.0);
  for (size_t k = 0; k < frames.size(); ++k) EXPECT_EQ(frames[k].index, static_cast<int>(k));
  EXPECT_EQ(frames.back().positions, a.molecule.positions);
  EXPECT_EQ(frames.back().types, a.molecule.types);
  EXPECT_EQ(c.stats.nfe, a.stats.nfe);
  o.seed = 43;
  EXPECT_NE(model()->sample(o).molecule.positions, a.molecule.positions);
  // Sizes drawn from p(M) stay in QM9's support.
  o.atoms = 0;
  for (uint64_t s = 0; s < 20; ++s) {
    enf::Rng rng(s);
    const int m = model()->draw_atoms(rng);
    EXPECT_GT(model()->atom_count_probabilities()[m], 0.0);
  }
}

TEST(Qm9Model, LikelihoodReportsTermsAndStandardError) {
  REQUIRE_MODEL();
  enf::LikelihoodOptions o;
  o.probes = 4;
  o.seed = 1;
  const auto r = model()->log_likelihood(ethanol(), o);
  EXPECT_TRUE(std::isfinite(r.log_likelihood));
  EXPECT_NEAR(r.log_likelihood, r.terms.log_pz + r.terms.delta_logp - r.terms.log_q + r.terms.log_pM, 1e-9);
  EXPECT_NEAR(r.per_atom * 9, r.log_likelihood, 1e-9);
  EXPECT_GT(r.stderr_, 0);
  EXPECT_GT(r.nfe, 0);
  o.samples = 3;
  const auto iw = model()->log_likelihood(ethanol(), o);
  EXPECT_EQ(iw.per_sample.size(), 3u);
  // The importance-weighted bound lies between the mean and the max of its samples.
  const double mean = std::accumulate(iw.per_sample.begin(), iw.per_sample.end(), 0.0) / 3;
  EXPECT_GE(iw.log_likelihood, mean - 1e-9);
  EXPECT_LE(iw.log_likelihood, *std::max_element(iw.per_sample.begin(), iw.per_sample.end()) + 1e-9);
  EXPECT_TRUE(std::isfinite(iw.stderr_));
}

namespace {
void expect_invalid(const enf::chem::Molecule& m, const std::string& words) {
  try {
    model()->log_likelihood(m, {});
    FAIL() << "expected InvalidInput mentioning '" << words << "'";
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Qm9Model, BadInputRaisesErrorsNamingTheProblem) {
  REQUIRE_MODEL();
  auto m = ethanol();
  m.positions[4] = NAN;
  expect_invalid(m, "non-finite");
  m = ethanol();
  m.positions[0] = INFINITY;
  expect_invalid(m, "non-finite");
  m = ethanol();
  m.types[2] = 7;
  expect_invalid(m, "H, C, N, O, F");
  expect_invalid(enf::chem::Molecule{}, "no atoms");
  m = ethanol();
  m.positions.pop_back();
  expect_invalid(m, "positions hold");
  enf::chem::Molecule big;
  big.types.assign(30, 1);
  big.positions.assign(90, 0.0);
  for (int i = 0; i < 90; ++i) big.positions[i] = i * 0.37;
  expect_invalid(big, "at most 29");
  enf::SampleOptions o;
  o.atoms = 28;  // absent from QM9: probability zero
  EXPECT_THROW(model()->sample(o), enf::InvalidInput);
  o.atoms = 5;
  o.solver.rtol = -1;
  EXPECT_THROW(model()->sample(o), enf::InvalidInput);
  // The model stays usable after every rejection.
  EXPECT_TRUE(std::isfinite(model()->log_likelihood(ethanol(), {}).log_likelihood));
}

TEST(Qm9Model, TruncatedOrForeignWeightsAreRejected) {
  if (!std::filesystem::exists(ENF_QM9_WEIGHTS)) GTEST_SKIP() << "QM9 weights absent (../shared missing)";
  std::ifstream in(ENF_QM9_WEIGHTS, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto path = std::filesystem::temp_directory_path() / "enf_truncated.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  EXPECT_THROW(enf::Qm9Model::load_file(path.string()), enf::WeightsError);
  EXPECT_THROW(enf::Qm9Model::load_file("/nonexistent/qm9.safetensors"), enf::Error);
  std::filesystem::remove(path);
}

TEST(Qm9Model, PretrainedDynamicsAreEquivariant) {
  REQUIRE_MODEL();
  enf::Rng rng(17);
  const int M = 11;
  const auto s = model()->draw_latent(M, rng);
  for (bool reflect : {false, true}) {
    const Eigen::Matrix3d Q = random_orthogonal(reflect ? 31 : 32, reflect);
    const Eigen::Vector3d shift(1.5, -4.0, 2.0);
    std::vector<int> perm(M);
    std::iota(perm.begin(), perm.end(), 0);
    for (int i = M - 1; i > 0; --i) std::swap(perm[i], perm[rng.next_u64() % (i + 1)]);
    enf::flow::StateVector st(s.size());
    for (int i = 0; i < M; ++i) {
      st.segment<3>(i * 9) = Q * s.segment<3>(perm[i] * 9) + shift;
      st.segment<6>(i * 9 + 3) = s.segment<6>(perm[i] * 9 + 3);
    }
    const auto v = model()->velocity(0.4, s);
    const auto vt = model()->velocity(0.4, st);
    for (int i = 0; i < M; ++i) {
      EXPECT_LT((vt.segment<3>(i * 9) - Q * v.segment<3>(perm[i] * 9)).cwiseAbs().maxCoeff(), 1e-4) << "atom " << i;
      EXPECT_LT((vt.segment<6>(i * 9 + 3) - v.segment<6>(perm[i] * 9 + 3)).cwiseAbs().maxCoeff(), 1e-4) << "atom " << i;
    }
  }
}

// The exact trace split over workers (parts) and threads: the parts take the same steps as the
// whole (step control on the state alone), so their log-determinants sum to the whole's; threads
// change nothing at all.
TEST(Qm9Model, ExactTraceInPartsSumsToTheWholeAndThreadsChangeNothing) {
  REQUIRE_MODEL();
  const auto mol = kSanitizerBuild ? methane() : ethanol();  // see kSanitizerBuild
  enf::LikelihoodOptions o;
  o.trace = enf::flow::Trace::Exact;
  o.seed = 3;
  o.state_step_control = true;
  const auto whole = model()->log_likelihood(mol, o);
  const int parts = 3;
  double delta = 0;
  for (int k = 0; k < parts; ++k) {
    enf::LikelihoodOptions p = o;
    p.split.part = k;
    p.split.parts = parts;
    const auto r = model()->log_likelihood(mol, p);
    EXPECT_EQ(r.nfe, whole.nfe) << "part " << k;
    EXPECT_EQ(r.terms.log_pz, whole.terms.log_pz) << "part " << k;  // the same steps give the same latent
    EXPECT_EQ(r.terms.log_q, whole.terms.log_q) << "part " << k;
    delta += r.terms.delta_logp;
  }
  // Each part batches its tangents in other widths, so float32 rounding differs (~1e-9 relative).
  EXPECT_NEAR(delta, whole.terms.delta_logp, 1e-6);
  enf::LikelihoodOptions threaded = o;
  threaded.split.threads = 2;
  EXPECT_EQ(model()->log_likelihood(mol, threaded).log_likelihood, whole.log_likelihood);
  // With the reference's step control too.
  enf::LikelihoodOptions ref = o;
  ref.state_step_control = false;
  const double reference = model()->log_likelihood(mol, ref).log_likelihood;
  ref.split.threads = 2;
  EXPECT_EQ(model()->log_likelihood(mol, ref).log_likelihood, reference);
  // Both step controls leave solver error only. At 1e-4 on this molecule: state alone 0.16 nats
  // from a tight solve, the reference's control 0.025. That 0.025 is itself sensitive to float
  // rounding: the same solve with only the kernels' summation order changed came out 0.18 from
  // tight, so the bounds below are solver-error bounds, not a ranking of the two controls. (The
  // package's split combines the parts at each evaluation because that is the unsplit result to
  // the last bit.)
  if (!kSanitizerBuild) {
    enf::LikelihoodOptions tight_o = ref;
    tight_o.solver.rtol = tight_o.solver.atol = 1e-7;
    const double tight_ll = model()->log_likelihood(mol, tight_o).log_likelihood;
    EXPECT_NEAR(whole.log_likelihood, tight_ll, 0.5);
    EXPECT_NEAR(reference, tight_ll, 0.5);
  }
  // A split needs the exact trace, one dequantization sample and a way to take the same steps.
  enf::LikelihoodOptions bad = o;
  bad.split.parts = 2;
  bad.state_step_control = false;
  EXPECT_THROW(model()->log_likelihood(mol, bad), enf::InvalidInput);
  bad.state_step_control = true;
  bad.trace = enf::flow::Trace::Hutchinson;
  EXPECT_THROW(model()->log_likelihood(mol, bad), enf::InvalidInput);
}

// The package's split: parts run side by side and pool their diagonal entries at every evaluation
// (here threads with a barrier, in the package workers over shared memory). Every part integrates
// the whole trace, summed in column order, with the reference's step control: each part returns
// the unsplit solve's result to the last bit.
TEST(Qm9Model, ExactTraceInPartsCombinedAtEachEvaluationIsTheWholeToTheLastBit) {
  REQUIRE_MODEL();
  const auto mol = kSanitizerBuild ? methane() : ethanol();
  enf::LikelihoodOptions o;
  o.trace = enf::flow::Trace::Exact;
  o.seed = 5;
  const auto whole = model()->log_likelihood(mol, o);
  for (int parts : {2, 3}) {
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0, generation = 0;
    std::vector<double> diag, sums(parts);
    std::vector<enf::LikelihoodResult> results(parts);
    std::vector<std::thread> threads;
    for (int k = 0; k < parts; ++k)
      threads.emplace_back([&, k] {
        enf::LikelihoodOptions p = o;
        p.split.part = k;
        p.split.parts = parts;
        p.combine_trace = [&, k](const std::vector<double>& block, int begin, int n) {
          std::unique_lock<std::mutex> lock(mu);
          const int g = generation;
          diag.resize(n);
          std::copy(block.begin(), block.end(), diag.begin() + begin);
          if (++arrived == parts) {
            double sum = 0;
            for (double x : diag) sum += x;
            std::fill(sums.begin(), sums.end(), sum);
            arrived = 0;
            ++generation;
            cv.notify_all();
          } else {
            cv.wait(lock, [&] { return generation != g; });
          }
          return sums[k];
        };
        results[k] = model()->log_likelihood(mol, p);
      });
    for (auto& t : threads) t.join();
    for (int k = 0; k < parts; ++k) {
      EXPECT_EQ(results[k].log_likelihood, whole.log_likelihood) << parts << " parts, part " << k;
      EXPECT_EQ(results[k].nfe, whole.nfe) << parts << " parts, part " << k;
    }
  }
}
