#include "ode/ode.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"

namespace enf::ode {

namespace {

// Dormand-Prince 5(4) tableau.
constexpr double C2 = 1.0 / 5, C3 = 3.0 / 10, C4 = 4.0 / 5, C5 = 8.0 / 9;
constexpr double A21 = 1.0 / 5;
constexpr double A31 = 3.0 / 40, A32 = 9.0 / 40;
constexpr double A41 = 44.0 / 45, A42 = -56.0 / 15, A43 = 32.0 / 9;
constexpr double A51 = 19372.0 / 6561, A52 = -25360.0 / 2187, A53 = 64448.0 / 6561, A54 = -212.0 / 729;
constexpr double A61 = 9017.0 / 3168, A62 = -355.0 / 33, A63 = 46732.0 / 5247, A64 = 49.0 / 176,
                 A65 = -5103.0 / 18656;
// 5th-order weights (also row 7 of A: first same as last).
constexpr double B1 = 35.0 / 384, B3 = 500.0 / 1113, B4 = 125.0 / 192, B5 = -2187.0 / 6784, B6 = 11.0 / 84;
// Differences between the 5th- and 4th-order weights: the local error estimate.
constexpr double E1 = 71.0 / 57600, E3 = -71.0 / 16695, E4 = 71.0 / 1920, E5 = -17253.0 / 339200,
                 E6 = 22.0 / 525, E7 = -1.0 / 40;
// Continuous extension (Hairer, Norsett & Wanner, dense output of DOPRI5).
constexpr double D1 = -12715105075.0 / 11282082432.0, D3 = 87487479700.0 / 32700410799.0,
                 D4 = -10690763975.0 / 1880347072.0, D5 = 701980252875.0 / 199316789632.0,
                 D6 = -1453857185.0 / 822651844.0, D7 = 69997945.0 / 29380423.0;

struct Counted {
  const Function& f;
  Stats& stats;
  void operator()(double t, const Vector& y, Vector& dy) const {
    dy.resize(y.size());
    f(t, y, dy);
    ++stats.nfe;
    if (!dy.allFinite()) throw SolverError("the ODE right-hand side became non-finite at t = " + std::to_string(t));
  }
};

double rms(const Eigen::ArrayXd& a) { return a.size() ? std::sqrt(a.square().mean()) : 0.0; }

// torchdiffeq's norm: RMS of the scaled error, per group, largest group wins.
double error_norm(const Eigen::ArrayXd& ratio, int split) {
  if (split <= 0 || split >= ratio.size()) return rms(ratio);
  return std::max(rms(ratio.head(split)), rms(ratio.tail(ratio.size() - split)));
}

void check_outputs(double t0, double t1, const std::vector<double>& ts) {
  const double dir = t1 >= t0 ? 1.0 : -1.0;
  double prev = t0;
  for (double t : ts) {
    if (!std::isfinite(t) || (t - prev) * dir < -1e-12 || (t1 - t) * dir < -1e-12)
      throw InvalidInput("output times must be finite, ordered from t0 to t1 and inside [t0, t1]");
    prev = t;
  }
}

// Emits every pending output time up to and including t_new using `interpolate(t, out)`.
template <class Interp>
void emit(const std::vector<double>& ts, size_t& next, double t_new, double dir, bool final_step, const Vector& y_new,
          const OutputCallback& cb, Interp interpolate) {
  Vector y_out;
  while (next < ts.size() && ((ts[next] - t_new) * dir <= 0 || final_step)) {
    if (final_step && std::abs(ts[next] - t_new) <= 1e-12 * std::max(1.0, std::abs(t_new)))
      y_out = y_new;
    else
      interpolate(ts[next], y_out);
    if (cb) cb(static_cast<int>(next), ts[next], y_out);
    ++next;
  }
}

Stats integrate_fixed(const Function& f, double t0, double t1, Vector& y, const Options& o,
                      const std::vector<double>& ts, const OutputCallback& cb) {
  Stats stats;
  Counted F{f, stats};
  if (o.fixed_steps < 1 || o.fixed_steps > kMaxSteps)
    throw InvalidInput("fixed_steps must be in [1, " + std::to_string(kMaxSteps) + "]");
  const double h = (t1 - t0) / o.fixed_steps;
  const double dir = t1 >= t0 ? 1.0 : -1.0;
  size_t next = 0;
  Vector k1, k2, k3, k4, f_new;
  F(t0, y, k1);
  for (int s = 0; s < o.fixed_steps; ++s) {
    const double t = t0 + s * h;
    const double t_new = (s + 1 == o.fixed_steps) ? t1 : t0 + (s + 1) * h;
    const double hs = t_new - t;
    Vector y_old = y;
    if (o.method == Method::Rk4) {
      // The 3/8 rule, as torchdiffeq's "rk4".
      F(t + hs / 3, y + hs * k1 / 3, k2);
      F(t + 2 * hs / 3, y + hs * (k2 - k1 / 3), k3);
      F(t_new, y + hs * (k1 - k2 + k3), k4);
      y += hs * (k1 + 3 * (k2 + k3) + k4) / 8;
    } else {
      y += hs * k1;
    }
    F(t_new, y, f_new);
    // Cubic Hermite between (t, y_old, k1) and (t_new, y, f_new).
    emit(ts, next, t_new, dir, s + 1 == o.fixed_steps, y, cb, [&](double tq, Vector& out) {
      const double th = (tq - t) / hs;
      const double h00 = (1 + 2 * th) * (1 - th) * (1 - th), h10 = th * (1 - th) * (1 - th);
      const double h01 = th * th * (3 - 2 * th), h11 = th * th * (th - 1);
      out = h00 * y_old + h10 * hs * k1 + h01 * y + h11 * hs * f_new;
    });
    k1 = f_new;
    ++stats.steps;
    if (o.on_step) o.on_step(t_new, stats);
  }
  return stats;
}

Stats integrate_dopri5(const Function& f, double t0, double t1, Vector& y, const Options& o,
                       const std::vector<double>& ts, const OutputCallback& cb) {
  Stats stats;
  Counted F{f, stats};
  if (!(o.rtol > 0) || !(o.atol > 0) || o.rtol > 1 || o.atol > 1)
    throw InvalidInput("rtol and atol must be in (0, 1]");
  if (o.max_steps < 1 || o.max_steps > kMaxSteps)
    throw InvalidInput("max_steps must be in [1, " + std::to_string(kMaxSteps) + "]");
  const double dir = t1 >= t0 ? 1.0 : -1.0;
  const double span = std::abs(t1 - t0);
  size_t next = 0;
  if (span == 0) {
    emit(ts, next, t1, dir, true, y, cb, [&](double, Vector& out) { out = y; });
    return stats;
  }
  auto scale = [&](const Vector& a, const Vector& b) {
    return (o.atol + o.rtol * a.array().abs().max(b.array().abs())).eval();
  };

  Vector k1, k2, k3, k4, k5, k6, k7, y_new, tmp;
  F(t0, y, k1);
  // Initial step as in Hairer's book and torchdiffeq (_select_initial_step, order 4).
  double h;
  {
    Eigen::ArrayXd sc = o.atol + o.rtol * y.array().abs();
    const double d0 = error_norm(y.array() / sc, o.norm_split);
    const double d1 = error_norm(k1.array() / sc, o.norm_split);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    h0 = std::min(h0, span);
    tmp = y + dir * h0 * k1;
    F(t0 + dir * h0, tmp, k2);
    const double d2 = error_norm((k2 - k1).array() / sc, o.norm_split) / h0;
    const double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0 * 1e-3)
                                                  : std::pow(0.01 / std::max(d1, d2), 1.0 / 5.0);
    h = std::min(100 * h0, h1);
  }

  double t = t0;
  while ((t1 - t) * dir > 0) {
    if (stats.steps + stats.rejected >= o.max_steps)
      throw SolverError("the ODE solver did not reach t = " + std::to_string(t1) + " within " +
                        std::to_string(o.max_steps) + " steps (stopped at t = " + std::to_string(t) +
                        "); loosen rtol/atol or check the input");
    bool last = false;
    if (h >= std::abs(t1 - t)) {
      h = std::abs(t1 - t);
      last = true;
    }
    if (h < 1e-12 * std::max(1.0, std::abs(t)))
      throw SolverError("the ODE step size underflowed at t = " + std::to_string(t) + "; the dynamics are too stiff for rtol/atol");
    const double hs = dir * h;
    F(t + C2 * hs, y + hs * (A21 * k1), k2);
    F(t + C3 * hs, y + hs * (A31 * k1 + A32 * k2), k3);
    F(t + C4 * hs, y + hs * (A41 * k1 + A42 * k2 + A43 * k3), k4);
    F(t + C5 * hs, y + hs * (A51 * k1 + A52 * k2 + A53 * k3 + A54 * k4), k5);
    F(t + hs, y + hs * (A61 * k1 + A62 * k2 + A63 * k3 + A64 * k4 + A65 * k5), k6);
    y_new = y + hs * (B1 * k1 + B3 * k3 + B4 * k4 + B5 * k5 + B6 * k6);
    const double t_new = last ? t1 : t + hs;
    F(t_new, y_new, k7);
    const Vector err = hs * (E1 * k1 + E3 * k3 + E4 * k4 + E5 * k5 + E6 * k6 + E7 * k7);
    const double ratio = error_norm(err.array() / scale(y, y_new), o.norm_split);
    if (!std::isfinite(ratio)) throw SolverError("the ODE error estimate became non-finite at t = " + std::to_string(t));

    // torchdiffeq's step control: safety 0.9, growth <= 10, shrink >= 0.2, never shrink after success.
    const bool accept = ratio <= 1.0;
    double factor = ratio == 0 ? 10.0 : std::min(10.0, std::max(0.9 * std::pow(ratio, -1.0 / 5.0), accept ? 1.0 : 0.2));
    if (accept) {
      const Vector y_old = y;
      emit(ts, next, t_new, dir, last, y_new, cb, [&](double tq, Vector& out) {
        const double th = (tq - t) / hs, th1 = 1 - th;
        const Vector ydiff = y_new - y_old;
        const Vector bspl = hs * k1 - ydiff;
        const Vector r5 = hs * (D1 * k1 + D3 * k3 + D4 * k4 + D5 * k5 + D6 * k6 + D7 * k7);
        out = y_old + th * (ydiff + th1 * (bspl + th * ((ydiff - hs * k7 - bspl) + th1 * r5)));
      });
      y = y_new;
      t = t_new;
      k1 = k7;
      ++stats.steps;
      if (o.on_step) o.on_step(t, stats);
    } else {
      ++stats.rejected;
    }
    h *= factor;
  }
  return stats;
}

}  // namespace

Method method_from_name(const std::string& name) {
  if (name == "dopri5") return Method::Dopri5;
  if (name == "rk4") return Method::Rk4;
  if (name == "euler") return Method::Euler;
  throw InvalidInput("unknown ODE method '" + name + "': use dopri5, rk4 or euler");
}

std::string method_name(Method m) {
  switch (m) {
    case Method::Dopri5: return "dopri5";
    case Method::Rk4: return "rk4";
    case Method::Euler: return "euler";
  }
  return "?";
}

Stats integrate(const Function& f, double t0, double t1, Vector& y, const Options& o,
                const std::vector<double>& ts, const OutputCallback& cb) {
  if (!std::isfinite(t0) || !std::isfinite(t1)) throw InvalidInput("integration bounds must be finite");
  if (!y.allFinite()) throw InvalidInput("the ODE initial state contains NaN or Inf");
  check_outputs(t0, t1, ts);
  if (o.method == Method::Dopri5) return integrate_dopri5(f, t0, t1, y, o, ts, cb);
  return integrate_fixed(f, t0, t1, y, o, ts, cb);
}

}  // namespace enf::ode
