// ODE solvers on problems with known solutions: accuracy, order, dense output, failure modes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "errors.hpp"
#include "ode/ode.hpp"

using enf::ode::Method;
using enf::ode::Options;
using enf::ode::Vector;

namespace {

// Harmonic oscillator y = (cos t, -sin t) from y(0) = (1, 0).
void oscillator(double, const Vector& y, Vector& dy) {
  dy.resize(2);
  dy << y(1), -y(0);
}

double oscillator_error(Method m, int steps, double t1) {
  Vector y(2);
  y << 1, 0;
  Options o;
  o.method = m;
  o.fixed_steps = steps;
  enf::ode::integrate(oscillator, 0, t1, y, o);
  return std::hypot(y(0) - std::cos(t1), y(1) + std::sin(t1));
}

}  // namespace

TEST(Dopri5, MeetsToleranceForwardAndBackward) {
  for (double tol : {1e-4, 1e-7, 1e-10}) {
    Options o;
    o.rtol = o.atol = tol;
    Vector y(1);
    y << 1.0;
    auto st = enf::ode::integrate([](double, const Vector& v, Vector& d) { d = v; }, 0, 1, y, o);
    EXPECT_NEAR(y(0), std::exp(1.0), 50 * tol) << "tol " << tol;
    EXPECT_GT(st.nfe, 0);
    // Back from t = 1 to 0 returns to the start.
    enf::ode::integrate([](double, const Vector& v, Vector& d) { d = v; }, 1, 0, y, o);
    EXPECT_NEAR(y(0), 1.0, 100 * tol);
  }
}

TEST(Dopri5, TighterToleranceCostsMoreEvaluations) {
  int prev = 0;
  for (double tol : {1e-3, 1e-6, 1e-9}) {
    Options o;
    o.rtol = o.atol = tol;
    Vector y(2);
    y << 1, 0;
    auto st = enf::ode::integrate(oscillator, 0, 10, y, o);
    EXPECT_GT(st.nfe, prev);
    prev = st.nfe;
    EXPECT_LT(std::hypot(y(0) - std::cos(10.0), y(1) + std::sin(10.0)), 1000 * tol);
  }
}

TEST(Dopri5, DenseOutputMatchesSolutionBetweenSteps) {
  Options o;
  o.rtol = o.atol = 1e-8;
  std::vector<double> ts;
  for (int k = 0; k <= 40; ++k) ts.push_back(10.0 * k / 40);
  Vector y(2);
  y << 1, 0;
  int seen = 0;
  enf::ode::integrate(oscillator, 0, 10, y, o, ts, [&](int i, double t, const Vector& yt) {
    EXPECT_EQ(i, seen++);
    EXPECT_DOUBLE_EQ(t, ts[i]);
    EXPECT_NEAR(yt(0), std::cos(t), 1e-6);
    EXPECT_NEAR(yt(1), -std::sin(t), 1e-6);
  });
  EXPECT_EQ(seen, 41);
}

TEST(Dopri5, LastOutputIsTheFinalStateExactly) {
  Options o;
  Vector y(2);
  y << 1, 0;
  Vector last;
  enf::ode::integrate(oscillator, 1, 0, y, o, {1.0, 0.5, 0.0}, [&](int, double, const Vector& v) { last = v; });
  EXPECT_EQ(last(0), y(0));
  EXPECT_EQ(last(1), y(1));
}

TEST(FixedStep, Rk4IsFourthOrderAndEulerFirstOrder) {
  const double rk_ratio = oscillator_error(Method::rk4(), 20, 2) / oscillator_error(Method::rk4(), 40, 2);
  EXPECT_NEAR(std::log2(rk_ratio), 4.0, 0.3);
  const double eu_ratio = oscillator_error(Method::euler(), 400, 2) / oscillator_error(Method::euler(), 800, 2);
  EXPECT_NEAR(std::log2(eu_ratio), 1.0, 0.1);
  EXPECT_LT(oscillator_error(Method::rk4(), 100, 2), 1e-8);
}

TEST(FixedStep, CountsEvaluations) {
  Options o;
  o.method = Method::rk4();
  o.fixed_steps = 10;
  Vector y(2);
  y << 1, 0;
  auto st = enf::ode::integrate(oscillator, 0, 1, y, o);
  EXPECT_EQ(st.nfe, 1 + 4 * 10);  // one start, three stages and one end per step
  EXPECT_EQ(st.steps, 10);
}

TEST(OdeErrors, NonFiniteRightHandSideIsReported) {
  Vector y(1);
  y << 1.0;
  Options o;
  EXPECT_THROW(enf::ode::integrate([](double t, const Vector&, Vector& d) { d.setConstant(1, t > 0.5 ? NAN : 1.0); },
                                   0, 1, y, o),
               enf::SolverError);
}

TEST(OdeErrors, StepLimitEndsWithAnErrorNotAHang) {
  Vector y(1);
  y << 1.0;
  Options o;
  o.rtol = o.atol = 1e-12;
  o.max_steps = 20;
  try {
    enf::ode::integrate([](double, const Vector& v, Vector& d) { d = 50 * v.cwiseAbs().cwiseSqrt(); }, 0, 10, y, o);
    FAIL() << "expected SolverError";
  } catch (const enf::SolverError& e) {
    EXPECT_NE(std::string(e.what()).find("within 20 steps"), std::string::npos) << e.what();
  }
}

TEST(OdeErrors, BadArgumentsAreRejected) {
  Vector y(1);
  y << NAN;
  Options o;
  EXPECT_THROW(enf::ode::integrate(oscillator, 0, 1, y, o), enf::InvalidInput);
  y << 1;
  o.rtol = 0;
  EXPECT_THROW(enf::ode::integrate(oscillator, 0, 1, y, o), enf::InvalidInput);
  o.rtol = 1e-4;
  EXPECT_THROW(enf::ode::integrate(oscillator, 0, 1, y, o, {0.5, 0.2}), enf::InvalidInput);
  EXPECT_THROW(enf::ode::method_from_name("rk45"), enf::InvalidInput);
}

// Every registered tableau is consistent: rows of a sum to the nodes, the weights sum to 1, the
// error weights (b - b_hat) to 0; FSAL pairs' last row of a is b.
TEST(Tableau, EveryMethodIsConsistent) {
  ASSERT_GE(enf::ode::tableaus().size(), 5u);
  for (const enf::ode::Tableau& t : enf::ode::tableaus()) {
    const int s = t.stages();
    ASSERT_EQ(static_cast<int>(t.c.size()), s) << t.name;
    ASSERT_EQ(static_cast<int>(t.a.size()), s) << t.name;
    double bsum = 0;
    for (double b : t.b) bsum += b;
    EXPECT_NEAR(bsum, 1.0, 1e-14) << t.name;
    for (int i = 0; i < s; ++i) {
      ASSERT_EQ(static_cast<int>(t.a[i].size()), i) << t.name << " row " << i;
      double row = 0;
      for (double a : t.a[i]) row += a;
      EXPECT_NEAR(row, t.c[i], 1e-14) << t.name << " row " << i;
    }
    if (t.adaptive()) {
      EXPECT_EQ(static_cast<int>(t.error.size()), s + (t.fsal ? 1 : 0)) << t.name;
      double esum = 0;
      for (double e : t.error) esum += e;
      EXPECT_NEAR(esum, 0.0, 1e-14) << t.name;
    }
    EXPECT_EQ(enf::ode::method_from_name(t.name).name(), t.name);
  }
}

// Each method converges at its order on the oscillator (fixed steps: error ratio 2^order when the
// step halves); the adaptive ones meet their tolerance, also with Hermite dense output (bosh3).
TEST(Tableau, EveryMethodConvergesAtItsOrder) {
  for (const enf::ode::Tableau& t : enf::ode::tableaus()) {
    if (t.adaptive()) {
      Options o;
      o.method = Method(t);
      o.rtol = o.atol = 1e-8;
      std::vector<double> ts{0.0, 2.5, 5.0, 7.5, 10.0};
      Vector y(2);
      y << 1, 0;
      double worst = 0;
      enf::ode::integrate(oscillator, 0, 10, y, o, ts, [&](int, double tt, const Vector& yt) {
        worst = std::max(worst, std::hypot(yt(0) - std::cos(tt), yt(1) + std::sin(tt)));
      });
      EXPECT_LT(worst, 1e-5) << t.name;
      continue;
    }
    const int n = t.order >= 4 ? 20 : 400;
    const double ratio = oscillator_error(Method(t), n, 2) / oscillator_error(Method(t), 2 * n, 2);
    EXPECT_NEAR(std::log2(ratio), t.order, 0.3) << t.name;
  }
}

TEST(Tableau, UnknownNamesListTheMethods) {
  try {
    enf::ode::method_from_name("rk45");
    FAIL();
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("dopri5, bosh3, rk4, midpoint, euler"), std::string::npos) << e.what();
  }
}

// integrate_batch: every solve keeps its own steps, bit for bit what integrate() does alone.
namespace {

// A damped oscillator whose stiffness differs per solve (k carried in the state), so the solves
// need different steps and end at different rounds.
void damped(double t, const Vector& y, Vector& dy) {
  dy.resize(3);
  dy << y(1), -y(2) * y(0) - 0.3 * y(1) + 0.1 * std::sin(t), 0.0;
}

}  // namespace

TEST(IntegrateBatch, EachSolveEqualsItsSoloSolveBitForBit) {
  for (const Method m : {Method::dopri5(), Method::bosh3(), Method::rk4()}) {
    Options o;
    o.method = m;
    o.rtol = o.atol = 1e-6;
    o.fixed_steps = 37;
    std::vector<Vector> ys;
    for (double k : {0.5, 4.0, 40.0, 400.0, 1.0}) ys.push_back((Vector(3) << 1.0, -0.5, k).finished());
    std::vector<Vector> solo = ys;
    std::vector<enf::ode::Stats> solo_stats;
    for (Vector& y : solo) solo_stats.push_back(enf::ode::integrate(damped, 0, 2, y, o));
    int calls = 0;
    std::vector<int> widths;
    const auto stats = enf::ode::integrate_batch(
        [&](const std::vector<double>& t, const std::vector<const Vector*>& y, std::vector<Vector>& dy) {
          ++calls;
          widths.push_back(static_cast<int>(y.size()));
          ASSERT_EQ(t.size(), y.size());
          ASSERT_EQ(dy.size(), y.size());
          for (size_t k = 0; k < y.size(); ++k) damped(t[k], *y[k], dy[k]);
        },
        0, 2, ys, o);
    ASSERT_EQ(stats.size(), ys.size());
    for (size_t k = 0; k < ys.size(); ++k) {
      EXPECT_EQ(stats[k].nfe, solo_stats[k].nfe) << m.name() << " solve " << k;
      EXPECT_EQ(stats[k].steps, solo_stats[k].steps) << m.name() << " solve " << k;
      EXPECT_EQ(stats[k].rejected, solo_stats[k].rejected) << m.name() << " solve " << k;
      for (int i = 0; i < 3; ++i) EXPECT_EQ(ys[k](i), solo[k](i)) << m.name() << " solve " << k << " component " << i;
    }
    if (m.tableau().adaptive()) {
      // One call per round: as many as the longest solve's evaluations, the batch shrinking as solves end.
      int most = 0;
      for (const auto& s : solo_stats) most = std::max(most, s.nfe);
      EXPECT_EQ(calls, most) << m.name();
      EXPECT_EQ(widths.front(), 5);
      EXPECT_LT(widths.back(), 5) << "the stiff solve should need more evaluations than the others";
    }
  }
}

TEST(IntegrateBatch, OnRoundCountsFinishedSolvesAndCanStop) {
  std::vector<Vector> ys(3, (Vector(3) << 1.0, 0.0, 2.0).finished());
  ys[2](2) = 200.0;
  const enf::ode::BatchFunction f = [](const std::vector<double>& t, const std::vector<const Vector*>& y,
                                       std::vector<Vector>& dy) {
    for (size_t k = 0; k < y.size(); ++k) damped(t[k], *y[k], dy[k]);
  };
  std::vector<int> finished;
  enf::ode::integrate_batch(f, 0, 1, ys, Options{}, [&](int n) { finished.push_back(n); });
  ASSERT_FALSE(finished.empty());
  EXPECT_TRUE(std::is_sorted(finished.begin(), finished.end()));
  EXPECT_EQ(finished.back(), 3);
  // Throwing from on_round abandons the solve.
  std::vector<Vector> again(2, (Vector(3) << 1.0, 0.0, 2.0).finished());
  int rounds = 0;
  EXPECT_THROW(enf::ode::integrate_batch(f, 0, 1, again, Options{}, [&](int) {
                 if (++rounds == 5) throw std::runtime_error("stop");
               }),
               std::runtime_error);
  EXPECT_EQ(rounds, 5);
}

TEST(IntegrateBatch, BadInputAndAFailingSolveAreReported) {
  const enf::ode::BatchFunction f = [](const std::vector<double>& t, const std::vector<const Vector*>& y,
                                       std::vector<Vector>& dy) {
    for (size_t k = 0; k < y.size(); ++k) damped(t[k], *y[k], dy[k]);
  };
  std::vector<Vector> nan(2, (Vector(3) << 1.0, 0.0, 2.0).finished());
  nan[1](0) = std::nan("");
  EXPECT_THROW(enf::ode::integrate_batch(f, 0, 1, nan, Options{}), enf::InvalidInput);
  // One solve whose derivative turns non-finite fails the batch with the solver's error.
  std::vector<Vector> ys(2, (Vector(3) << 1.0, 0.0, 2.0).finished());
  const enf::ode::BatchFunction blows = [](const std::vector<double>& t, const std::vector<const Vector*>& y,
                                           std::vector<Vector>& dy) {
    for (size_t k = 0; k < y.size(); ++k) {
      damped(t[k], *y[k], dy[k]);
      if (k == 1 && t[k] > 0.5) dy[k](0) = INFINITY;
    }
  };
  EXPECT_THROW(enf::ode::integrate_batch(blows, 0, 1, ys, Options{}), enf::SolverError);
  // Nothing to integrate is no work.
  std::vector<Vector> none;
  EXPECT_TRUE(enf::ode::integrate_batch(f, 0, 1, none, Options{}).empty());
}
