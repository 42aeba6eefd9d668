#include "ode/ode.hpp"

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "ode/runge_kutta.hpp"

namespace enf::ode {

namespace {

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
double error_norm(const Eigen::ArrayXd& ratio, int split, bool first_only = false) {
  if (split <= 0 || split >= ratio.size()) return rms(ratio);
  if (first_only) return rms(ratio.head(split));
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

// y + h * sum_j w[j] ks[j] over the non-zero weights, accumulated left to right.
Vector combine(const Vector& y, double h, const std::vector<double>& w, const std::vector<Vector>& ks) {
  Vector acc;
  for (size_t j = 0; j < w.size(); ++j) {
    if (w[j] == 0) continue;
    if (acc.size() == 0)
      acc = w[j] * ks[j];
    else
      acc += w[j] * ks[j];
  }
  return acc.size() ? Vector(y + h * acc) : y;
}

// Cubic Hermite between (t, y0, f0) and (t + hs, y1, f1).
void hermite(double tq, double t, double hs, const Vector& y0, const Vector& f0, const Vector& y1, const Vector& f1,
             Vector& out) {
  const double th = (tq - t) / hs;
  const double h00 = (1 + 2 * th) * (1 - th) * (1 - th), h10 = th * (1 - th) * (1 - th);
  const double h01 = th * th * (3 - 2 * th), h11 = th * th * (th - 1);
  out = h00 * y0 + h10 * hs * f0 + h01 * y1 + h11 * hs * f1;
}

Stats integrate_fixed(const Function& f, double t0, double t1, Vector& y, const Options& o,
                      const std::vector<double>& ts, const OutputCallback& cb) {
  Stats stats;
  Counted F{f, stats};
  if (o.fixed_steps < 1 || o.fixed_steps > kMaxSteps)
    throw InvalidInput("fixed_steps must be in [1, " + std::to_string(kMaxSteps) + "]");
  const Tableau& tab = o.method.tableau();
  auto eval = [&](double t, const Vector& v) {
    Vector d;
    F(t, v, d);
    return d;
  };
  const double h = (t1 - t0) / o.fixed_steps;
  const double dir = t1 >= t0 ? 1.0 : -1.0;
  size_t next = 0;
  Vector k1 = eval(t0, y), f_new;
  std::vector<Vector> ks;
  for (int s = 0; s < o.fixed_steps; ++s) {
    const double t = t0 + s * h;
    const double t_new = (s + 1 == o.fixed_steps) ? t1 : t0 + (s + 1) * h;
    const double hs = t_new - t;
    const Vector y_old = y;
    y = rk_step(tab, eval, t, hs, y_old, k1, combine, ks);
    F(t_new, y, f_new);  // the next step's first stage, and the interpolant's end slope
    emit(ts, next, t_new, dir, s + 1 == o.fixed_steps, y, cb,
         [&](double tq, Vector& out) { hermite(tq, t, hs, y_old, ks[0], y, f_new, out); });
    k1 = f_new;
    ++stats.steps;
    if (o.on_step) o.on_step(t_new, stats);
  }
  return stats;
}

// Embedded-pair step control as torchdiffeq's: error norm per group (RMS of err / (atol + rtol
// max(|y|, |y_new|))), safety 0.9, growth <= 10, shrink >= 0.2, never shrink after success,
// exponent -1/order; Hairer's initial step.
Stats integrate_adaptive(const Function& f, double t0, double t1, Vector& y, const Options& o,
                         const std::vector<double>& ts, const OutputCallback& cb) {
  Stats stats;
  Counted F{f, stats};
  if (!(o.rtol > 0) || !(o.atol > 0) || o.rtol > 1 || o.atol > 1)
    throw InvalidInput("rtol and atol must be in (0, 1]");
  if (o.max_steps < 1 || o.max_steps > kMaxSteps)
    throw InvalidInput("max_steps must be in [1, " + std::to_string(kMaxSteps) + "]");
  const Tableau& tab = o.method.tableau();
  const double order = tab.order;
  const double dir = t1 >= t0 ? 1.0 : -1.0;
  const double span = std::abs(t1 - t0);
  size_t next = 0;
  if (span == 0) {
    emit(ts, next, t1, dir, true, y, cb, [&](double, Vector& out) { out = y; });
    return stats;
  }
  auto eval = [&](double t, const Vector& v) {
    Vector d;
    F(t, v, d);
    return d;
  };
  auto scale = [&](const Vector& a, const Vector& b) {
    return (o.atol + o.rtol * a.array().abs().max(b.array().abs())).eval();
  };

  Vector k1 = eval(t0, y), k_last, y_new;
  double h;
  {
    Eigen::ArrayXd sc = o.atol + o.rtol * y.array().abs();
    const double d0 = error_norm(y.array() / sc, o.norm_split, o.first_group_only);
    const double d1 = error_norm(k1.array() / sc, o.norm_split, o.first_group_only);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    h0 = std::min(h0, span);
    const Vector k2 = eval(t0 + dir * h0, Vector(y + dir * h0 * k1));
    const double d2 = error_norm((k2 - k1).array() / sc, o.norm_split, o.first_group_only) / h0;
    const double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0 * 1e-3)
                                                  : std::pow(0.01 / std::max(d1, d2), 1.0 / order);
    h = std::min(100 * h0, h1);
  }

  std::vector<Vector> ks;
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
    y_new = rk_step(tab, eval, t, hs, y, k1, combine, ks);
    const double t_new = last ? t1 : t + hs;
    // The derivative at the step's end: the next step's first stage (FSAL), and in the error
    // estimate of FSAL pairs.
    F(t_new, y_new, k_last);
    ks.push_back(k_last);
    const Vector err = combine(Vector::Zero(y.size()), hs, tab.error, ks);
    const double ratio = error_norm(err.array() / scale(y, y_new), o.norm_split, o.first_group_only);
    if (!std::isfinite(ratio)) throw SolverError("the ODE error estimate became non-finite at t = " + std::to_string(t));

    const bool accept = ratio <= 1.0;
    double factor = ratio == 0 ? 10.0 : std::min(10.0, std::max(0.9 * std::pow(ratio, -1.0 / order), accept ? 1.0 : 0.2));
    if (accept) {
      const Vector y_old = y;
      emit(ts, next, t_new, dir, last, y_new, cb, [&](double tq, Vector& out) {
        if (tab.dense.empty()) return hermite(tq, t, hs, y_old, ks.front(), y_new, k_last, out);
        // Hairer's continuous extension of the step.
        const double th = (tq - t) / hs, th1 = 1 - th;
        const Vector ydiff = y_new - y_old;
        const Vector bspl = hs * ks.front() - ydiff;
        const Vector r5 = combine(Vector::Zero(y.size()), hs, tab.dense, ks);
        out = y_old + th * (ydiff + th1 * (bspl + th * ((ydiff - hs * k_last - bspl) + th1 * r5)));
      });
      y = y_new;
      t = t_new;
      k1 = k_last;
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

Stats integrate(const Function& f, double t0, double t1, Vector& y, const Options& o,
                const std::vector<double>& ts, const OutputCallback& cb) {
  if (!std::isfinite(t0) || !std::isfinite(t1)) throw InvalidInput("integration bounds must be finite");
  if (!y.allFinite()) throw InvalidInput("the ODE initial state contains NaN or Inf");
  check_outputs(t0, t1, ts);
  if (o.method.tableau().adaptive()) return integrate_adaptive(f, t0, t1, y, o, ts, cb);
  return integrate_fixed(f, t0, t1, y, o, ts, cb);
}

}  // namespace enf::ode
