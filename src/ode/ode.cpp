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
//
// Written as a machine that asks for one evaluation at a time (at(), y_at()) and is handed its
// result (supply()), so that one solve runs alone (integrate) or many run side by side with their
// evaluations batched (integrate_batch), each with its own steps: every solve asks for the same
// sequence of evaluations (two to choose the first step, then the same number per step, accepted
// or not), so the solves of a batch stay in lockstep until each ends.
class AdaptiveSolve {
 public:
  AdaptiveSolve(double t0, double t1, Vector y, const Options& o, const std::vector<double>& ts = {},
                const OutputCallback& cb = {})
      : o_(o), tab_(o.method.tableau()), t0_(t0), t1_(t1), dir_(t1 >= t0 ? 1.0 : -1.0), ts_(ts), cb_(cb), y_(std::move(y)) {
    if (!(o.rtol > 0) || !(o.atol > 0) || o.rtol > 1 || o.atol > 1) throw InvalidInput("rtol and atol must be in (0, 1]");
    if (o.max_steps < 1 || o.max_steps > kMaxSteps)
      throw InvalidInput("max_steps must be in [1, " + std::to_string(kMaxSteps) + "]");
    t_ = t0;
    if (t1 == t0) {
      emit(ts_, next_, t1_, dir_, true, y_, cb_, [&](double, Vector& out) { out = y_; });
      phase_ = Phase::Done;
      return;
    }
    phase_ = Phase::First;
    at_ = t0;
    y_at_ = y_;
  }

  bool done() const { return phase_ == Phase::Done; }
  // The evaluation this solve needs next: f(at(), y_at()).
  double at() const { return at_; }
  const Vector& y_at() const { return y_at_; }
  const Vector& y() const { return y_; }
  const Stats& stats() const { return stats_; }

  // Takes f(at(), y_at()) and moves on to the next evaluation (or ends).
  void supply(const Vector& dy) {
    ++stats_.nfe;
    if (!dy.allFinite()) throw SolverError("the ODE right-hand side became non-finite at t = " + std::to_string(at_));
    const double order = tab_.order;
    switch (phase_) {
      case Phase::First: {
        k1_ = dy;
        sc_ = o_.atol + o_.rtol * y_.array().abs();
        const double d0 = error_norm(y_.array() / sc_, o_.norm_split, o_.first_group_only);
        d1_ = error_norm(k1_.array() / sc_, o_.norm_split, o_.first_group_only);
        h0_ = (d0 < 1e-5 || d1_ < 1e-5) ? 1e-6 : 0.01 * d0 / d1_;
        h0_ = std::min(h0_, std::abs(t1_ - t0_));
        phase_ = Phase::Second;
        at_ = t0_ + dir_ * h0_;
        y_at_ = y_ + dir_ * h0_ * k1_;
        return;
      }
      case Phase::Second: {
        const double d2 = error_norm((dy - k1_).array() / sc_, o_.norm_split, o_.first_group_only) / h0_;
        const double h1 = (d1_ <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0_ * 1e-3)
                                                       : std::pow(0.01 / std::max(d1_, d2), 1.0 / order);
        h_ = std::min(100 * h0_, h1);
        begin_step();
        return;
      }
      case Phase::Stage: {
        ks_.push_back(dy);
        if (stage_ + 1 < tab_.stages()) {
          next_stage();
          return;
        }
        // The derivative at the step's end: the next step's first stage (FSAL), and in the error
        // estimate of FSAL pairs.
        y_new_ = combine(y_, hs_, tab_.b, ks_);
        phase_ = Phase::End;
        at_ = t_new_;
        y_at_ = y_new_;
        return;
      }
      case Phase::End: {
        const Vector& k_last = dy;
        ks_.push_back(k_last);
        const Vector err = combine(Vector::Zero(y_.size()), hs_, tab_.error, ks_);
        const double ratio = error_norm(err.array() / (o_.atol + o_.rtol * y_.array().abs().max(y_new_.array().abs())),
                                        o_.norm_split, o_.first_group_only);
        if (!std::isfinite(ratio)) throw SolverError("the ODE error estimate became non-finite at t = " + std::to_string(t_));
        const bool accept = ratio <= 1.0;
        const double factor =
            ratio == 0 ? 10.0 : std::min(10.0, std::max(0.9 * std::pow(ratio, -1.0 / order), accept ? 1.0 : 0.2));
        if (accept) {
          const Vector y_old = y_;
          const double t = t_, hs = hs_;
          emit(ts_, next_, t_new_, dir_, last_, y_new_, cb_, [&](double tq, Vector& out) {
            if (tab_.dense.empty()) return hermite(tq, t, hs, y_old, ks_.front(), y_new_, k_last, out);
            // Hairer's continuous extension of the step.
            const double th = (tq - t) / hs, th1 = 1 - th;
            const Vector ydiff = y_new_ - y_old;
            const Vector bspl = hs * ks_.front() - ydiff;
            const Vector r5 = combine(Vector::Zero(y_.size()), hs, tab_.dense, ks_);
            out = y_old + th * (ydiff + th1 * (bspl + th * ((ydiff - hs * k_last - bspl) + th1 * r5)));
          });
          y_ = y_new_;
          t_ = t_new_;
          k1_ = k_last;
          ++stats_.steps;
          if (o_.on_step) o_.on_step(t_, stats_);
        } else {
          ++stats_.rejected;
        }
        h_ *= factor;
        begin_step();
        return;
      }
      case Phase::Done:
        throw SolverError("internal: an evaluation was supplied to a finished solve");
    }
  }

 private:
  enum class Phase { First, Second, Stage, End, Done };

  // The top of a step: stop at t1, or check the limits and ask for the step's second stage.
  void begin_step() {
    if ((t1_ - t_) * dir_ <= 0) {
      phase_ = Phase::Done;
      return;
    }
    if (stats_.steps + stats_.rejected >= o_.max_steps)
      throw SolverError("the ODE solver did not reach t = " + std::to_string(t1_) + " within " +
                        std::to_string(o_.max_steps) + " steps (stopped at t = " + std::to_string(t_) +
                        "); loosen rtol/atol or check the input");
    last_ = false;
    if (h_ >= std::abs(t1_ - t_)) {
      h_ = std::abs(t1_ - t_);
      last_ = true;
    }
    if (h_ < 1e-12 * std::max(1.0, std::abs(t_)))
      throw SolverError("the ODE step size underflowed at t = " + std::to_string(t_) + "; the dynamics are too stiff for rtol/atol");
    hs_ = dir_ * h_;
    t_new_ = last_ ? t1_ : t_ + hs_;
    ks_.clear();
    ks_.reserve(tab_.stages() + 1);
    ks_.push_back(k1_);
    stage_ = 0;
    phase_ = Phase::Stage;
    next_stage();
  }

  void next_stage() {
    ++stage_;
    at_ = t_ + tab_.c[stage_] * hs_;
    y_at_ = combine(y_, hs_, tab_.a[stage_], ks_);
  }

  const Options& o_;
  const Tableau& tab_;
  const double t0_, t1_, dir_;
  const std::vector<double> ts_;
  const OutputCallback cb_;
  size_t next_ = 0;
  Phase phase_ = Phase::Done;
  Stats stats_;
  Vector y_, y_new_, k1_, y_at_;
  Eigen::ArrayXd sc_;
  double d1_ = 0, h0_ = 0;
  double t_ = 0, h_ = 0, hs_ = 0, t_new_ = 0, at_ = 0;
  bool last_ = false;
  int stage_ = 0;
  std::vector<Vector> ks_;
};

Stats integrate_adaptive(const Function& f, double t0, double t1, Vector& y, const Options& o,
                         const std::vector<double>& ts, const OutputCallback& cb) {
  AdaptiveSolve solve(t0, t1, y, o, ts, cb);
  Vector dy;
  while (!solve.done()) {
    dy.resize(solve.y_at().size());
    f(solve.at(), solve.y_at(), dy);
    solve.supply(dy);
  }
  y = solve.y();
  return solve.stats();
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

std::vector<Stats> integrate_batch(const BatchFunction& f, double t0, double t1, std::vector<Vector>& ys, const Options& o,
                                   const std::function<void(int finished)>& on_round) {
  if (!std::isfinite(t0) || !std::isfinite(t1)) throw InvalidInput("integration bounds must be finite");
  for (const Vector& y : ys)
    if (!y.allFinite()) throw InvalidInput("the ODE initial state contains NaN or Inf");
  std::vector<Stats> stats(ys.size());
  std::vector<double> t;
  std::vector<const Vector*> y;
  std::vector<Vector> dy;
  if (!o.method.tableau().adaptive()) {
    // Fixed steps: every solve evaluates at the same times, one after the other here.
    for (size_t k = 0; k < ys.size(); ++k) {
      stats[k] = integrate_fixed(
          [&](double tk, const Vector& yk, Vector& dk) {
            t.assign(1, tk);
            y.assign(1, &yk);
            dy.resize(1);
            f(t, y, dy);
            dk = dy[0];
          },
          t0, t1, ys[k], o, {}, {});
      if (on_round) on_round(static_cast<int>(k + 1));
    }
    return stats;
  }
  std::vector<AdaptiveSolve> solves;
  solves.reserve(ys.size());
  for (Vector& v : ys) solves.emplace_back(t0, t1, v, o);
  std::vector<size_t> running;
  for (;;) {
    running.clear();
    t.clear();
    y.clear();
    for (size_t k = 0; k < solves.size(); ++k)
      if (!solves[k].done()) {
        running.push_back(k);
        t.push_back(solves[k].at());
        y.push_back(&solves[k].y_at());
      }
    if (running.empty()) break;
    dy.resize(running.size());
    for (size_t r = 0; r < running.size(); ++r) dy[r].resize(y[r]->size());
    f(t, y, dy);
    for (size_t r = 0; r < running.size(); ++r) solves[running[r]].supply(dy[r]);
    if (on_round) {
      int finished = 0;
      for (const AdaptiveSolve& s : solves) finished += s.done();
      on_round(finished);
    }
  }
  for (size_t k = 0; k < solves.size(); ++k) {
    ys[k] = solves[k].y();
    stats[k] = solves[k].stats();
  }
  return stats;
}

}  // namespace enf::ode
