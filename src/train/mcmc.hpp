// Equilibrium samples of exp(-E) for the particle systems: Metropolis with single-particle
// Gaussian proposals, optionally with replica exchange (parallel tempering) across a temperature
// ladder when barriers slow the target chain (DW4's double well). Seeded and deterministic on
// every platform (enf::Rng).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "train/energy.hpp"

namespace enf::train {

struct McmcOptions {
  uint64_t seed = 0;
  double step = 0.5;        // proposal standard deviation per coordinate at T = 1 (scaled by sqrt(T))
  int burn_in = 2000;       // sweeps discarded first; a sweep proposes one move per particle per replica
  int thin = 10;            // sweeps between stored samples
  // Replica-exchange ladder, increasing, starting at the target temperature 1. One entry: plain
  // Metropolis. After each sweep one swap between a random adjacent pair is proposed.
  std::vector<double> temperatures = {1.0};
  double init_scale = 1.0;  // initial positions ~ N(0, init_scale^2) per coordinate
  // Called about 200 times with the fraction of sweeps done; may throw to stop (cancellation).
  std::function<void(double)> on_progress;
  // Particles may not drift further apart than this (a tabulated pair energy's range, beyond which
  // it is extrapolated): a chain that does has diverged and ends with InvalidInput saying so.
  double max_pair_distance = std::numeric_limits<double>::infinity();
};

struct McmcResult {
  Eigen::MatrixXd samples;       // (n_samples, N*D), centred (zero centre of mass)
  std::vector<double> energies;  // E of each sample
  double acceptance = 0;         // of the moves at T = 1
  double swap_acceptance = 0;    // of the replica swaps (0 without a ladder)
};

// Throws InvalidInput for n_samples < 1, a bad ladder, a non-positive step or thin, an energy
// that is NaN / -inf, or +inf at every initial state tried, or at a stored sample, or a chain
// whose particles drift beyond max_pair_distance.
McmcResult sample_mcmc(const ParticleSystem& system, int n_samples, const McmcOptions& options);

// The chain for a system: its registry entry's (train/systems.hpp) for a built-in one, plain
// Metropolis with the defaults above otherwise; seeded `seed`.
McmcOptions default_mcmc_options(const ParticleSystem& system, uint64_t seed);

struct Dataset {
  Eigen::MatrixXd train, val, test;  // rows are centred samples
};

// Train / validation / test sets from three independent chains seeded from `seed`
// (seed, seed + 1, seed + 2), so the test set of a given seed never depends on the training size.
Dataset make_dataset(const ParticleSystem& system, int n_train, int n_val, int n_test, uint64_t seed);

// Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b| and its asymptotic p-value
// (Kolmogorov distribution with the effective size n m / (n + m), Stephens' correction).
double ks_statistic(std::vector<double> a, std::vector<double> b);
double ks_pvalue(double statistic, int n, int m);

}  // namespace enf::train
