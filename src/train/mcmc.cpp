#include "train/mcmc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "errors.hpp"
#include "tensor/random.hpp"

namespace enf::train {

namespace {

void validate_options(const McmcOptions& o) {
  if (!(o.step > 0) || !std::isfinite(o.step)) throw InvalidInput("the MCMC step must be a positive number");
  if (o.burn_in < 0 || o.thin < 1) throw InvalidInput("burn_in must be >= 0 and thin >= 1");
  if (!(o.init_scale > 0) || !std::isfinite(o.init_scale)) throw InvalidInput("init_scale must be a positive number");
  const auto& T = o.temperatures;
  if (T.empty() || T.size() > 64 || T[0] != 1.0)
    throw InvalidInput("the temperature ladder needs 1 to 64 entries and must start at the target temperature 1");
  for (size_t k = 1; k < T.size(); ++k)
    if (!(T[k] > T[k - 1]) || !std::isfinite(T[k])) throw InvalidInput("the temperature ladder must increase");
}

}  // namespace

McmcResult sample_mcmc(const ParticleSystem& sys, int n_samples, const McmcOptions& o) {
  if (n_samples < 1) throw InvalidInput("ask for at least one MCMC sample");
  validate_options(o);
  const int N = sys.n_particles, D = sys.dim, R = static_cast<int>(o.temperatures.size());
  Rng rng(o.seed);
  std::vector<Eigen::VectorXd> x(R);
  std::vector<double> e(R);
  for (int r = 0; r < R; ++r) {
    // A random start can land on +inf (overlap); redraw a few times before giving up.
    for (int attempt = 0;; ++attempt) {
      x[r].resize(sys.size());
      for (int i = 0; i < sys.size(); ++i) x[r](i) = o.init_scale * rng.normal();
      e[r] = sys.energy_unchecked(x[r].data());
      if (std::isfinite(e[r])) break;
      if (attempt == 100)
        throw InvalidInput("the energy of system '" + sys.name + "' is infinite at every random start; " +
                           "check the pair energy or raise init_scale");
    }
  }
  McmcResult out;
  out.samples.resize(n_samples, sys.size());
  out.energies.reserve(n_samples);
  long moves = 0, accepted = 0, swaps = 0, swaps_accepted = 0;
  Eigen::VectorXd saved(D);
  auto sweep = [&]() {
    for (int r = 0; r < R; ++r) {
      const double T = o.temperatures[r];
      const double step = o.step * std::sqrt(T);
      for (int p = 0; p < N; ++p) {
        for (int k = 0; k < D; ++k) {
          saved(k) = x[r](p * D + k);
          x[r](p * D + k) += step * rng.normal();
        }
        const double e_new = sys.energy_unchecked(x[r].data());
        const double log_u = std::log(1.0 - rng.uniform());  // (-inf, 0]
        const bool accept = e_new <= e[r] || log_u < -(e_new - e[r]) / T;  // +inf is always rejected
        if (accept)
          e[r] = e_new;
        else
          for (int k = 0; k < D; ++k) x[r](p * D + k) = saved(k);
        if (r == 0) {
          ++moves;
          accepted += accept;
        }
      }
    }
    if (R > 1) {
      const int r = std::min(R - 2, static_cast<int>(rng.uniform() * (R - 1)));
      const double log_a = (1.0 / o.temperatures[r] - 1.0 / o.temperatures[r + 1]) * (e[r] - e[r + 1]);
      ++swaps;
      if (std::log(1.0 - rng.uniform()) < log_a) {
        std::swap(x[r], x[r + 1]);
        std::swap(e[r], e[r + 1]);
        ++swaps_accepted;
      }
    }
  };
  const double total = o.burn_in + static_cast<double>(n_samples) * o.thin;
  const double every = std::max(1.0, std::floor(total / 200));
  double done = 0, next_report = every;
  auto progress = [&] {
    if (o.on_progress && ++done >= next_report) {
      next_report += every;
      o.on_progress(std::min(1.0, done / total));
    }
  };
  for (int s = 0; s < o.burn_in; ++s) {
    sweep();
    progress();
  }
  for (int n = 0; n < n_samples; ++n) {
    for (int s = 0; s < o.thin; ++s) {
      sweep();
      progress();
    }
    if (!std::isfinite(e[0])) throw InvalidInput("the MCMC chain reached an infinite energy; check the pair energy");
    out.samples.row(n) = x[0].transpose();
    out.energies.push_back(e[0]);
  }
  if (std::isfinite(o.max_pair_distance)) {
    double far = 0;
    for (Eigen::Index r = 0; r < out.samples.rows(); ++r)
      for (int i = 0; i < N; ++i)
        for (int j = i + 1; j < N; ++j) far = std::max(far, (out.samples.row(r).segment(i * D, D) - out.samples.row(r).segment(j * D, D)).norm());
    if (far > o.max_pair_distance)
      throw InvalidInput("the MCMC chain diverged: particles drifted " + std::to_string(far) +
                         " apart, beyond the pair energy's range (rMax " + std::to_string(o.max_pair_distance) +
                         "); exp(-E) must confine the particles: make the energy grow with distance, add a "
                         "comSpring, or raise rMax if such distances are meant");
  }
  out.samples = centre(out.samples, D);
  out.acceptance = moves ? static_cast<double>(accepted) / moves : 0.0;
  out.swap_acceptance = swaps ? static_cast<double>(swaps_accepted) / swaps : 0.0;
  return out;
}

Dataset make_dataset(const ParticleSystem& sys, int n_train, int n_val, int n_test, uint64_t seed) {
  if (n_train < 1 || n_val < 1 || n_test < 1) throw InvalidInput("each split needs at least one sample");
  Dataset d;
  d.train = sample_mcmc(sys, n_train, default_mcmc_options(sys, seed)).samples;
  d.val = sample_mcmc(sys, n_val, default_mcmc_options(sys, seed + 1)).samples;
  d.test = sample_mcmc(sys, n_test, default_mcmc_options(sys, seed + 2)).samples;
  return d;
}

double ks_statistic(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) throw InvalidInput("the KS test needs two non-empty samples");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double v = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= v) ++i;
    while (j < b.size() && b[j] <= v) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / a.size() - static_cast<double>(j) / b.size()));
  }
  return d;
}

double ks_pvalue(double stat, int n, int m) {
  const double ne = static_cast<double>(n) * m / (n + m);
  const double sq = std::sqrt(ne);
  const double lambda = (sq + 0.12 + 0.11 / sq) * stat;
  if (lambda < 1e-3) return 1.0;
  double p = 0;
  for (int k = 1; k <= 100; ++k) p += 2.0 * ((k % 2) ? 1.0 : -1.0) * std::exp(-2.0 * k * k * lambda * lambda);
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace enf::train
