// Target energies of the small particle systems (Köhler et al. 2020; the E-NF paper, section 5.1),
// at temperature 1: the data density is exp(-E(x)). A system is N particles in D dimensions whose
// energy is a sum of a pairwise term over distances plus an optional harmonic pull of every
// particle toward the centre of mass. Positions are one flat vector, particle-major:
// x = [x_0 (D numbers), x_1, ...], the same layout as the particle flow's ODE state.
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <string>
#include <vector>

namespace enf::train {

// Pair energies as functions of the distance d.
double dw4_pair(double d);  // 0.9 (d - 4)^4 - 4 (d - 4)^2
double lj_pair(double d);   // (1/d)^12 - 2 (1/d)^6 (minimum -1 at d = 1)

struct ParticleSystem {
  std::string name;
  int n_particles = 0;
  int dim = 0;
  std::function<double(double)> pair;  // energy of one pair at distance d
  double com_spring = 0;               // E += com_spring / 2 * sum_i |x_i - mean|^2

  int size() const { return n_particles * dim; }
  // E(x); throws InvalidInput when x has the wrong size or is not finite. May return +inf (for
  // example overlapping Lennard-Jones particles); NaN or -inf from the pair energy raise
  // InvalidInput naming the distance, since such an energy defines no density.
  double energy(const Eigen::VectorXd& x) const;
  // The same without the checks on x, for inner loops that validated it already.
  double energy_unchecked(const double* x) const;
};

ParticleSystem dw4();  // 4 particles in 2-D
// LJ13 as the published benchmark data define it (Koehler et al. 2020, whose files the E-NF paper's
// Table 1 uses): 13 particles in 3-D, each pair's Lennard-Jones term counted twice (a sum over
// ordered pairs without the 1/2), com_spring 1. Those files' mean energy under this function
// (-43.1) is what its equilibrium at temperature 1 gives (-43.2, our test chain).
ParticleSystem lj13();
// MODEL_SPEC's first formula, each pair once: at temperature 1 a fluid (mean energy +0.9, entropy
// at least 39 nats), kept for the weights trained on it (weights/lj13-fluid.*).
ParticleSystem lj13_fluid();
// A built-in system by name (train/systems.hpp lists them); InvalidInput naming the choices.
ParticleSystem builtin_system(const std::string& name);
// A user-supplied pair energy; throws InvalidInput for n_particles < 2, dim < 1, no function or
// a negative or non-finite spring.
ParticleSystem custom_system(const std::string& name, int n_particles, int dim, std::function<double(double)> pair,
                             double com_spring = 0);

// A pair energy given as a table: E(r) on a uniform grid over [r_min, r_max], linear interpolation
// inside, +inf below r_min, the last interval extrapolated beyond r_max, and no interpolation next
// to a +inf (a hard wall). What a caller whose energy is a function the core cannot call (a
// JavaScript function in a page) passes. InvalidInput for fewer than 2 or more than 10^6 points, a
// NaN or -inf entry (naming its distance), a bad range, or +inf at the last two points.
std::function<double(double)> tabulated_pair(std::vector<double> table, double r_min, double r_max);

// Rejects unusable data sets with InvalidInput: no samples, a column count other than
// n_particles * dim, or a NaN / Inf entry (naming the row and column).
void validate_dataset(const Eigen::MatrixXd& samples, const ParticleSystem& system, const std::string& what);

// Subtracts each sample's centre of mass (rows are samples).
Eigen::MatrixXd centre(const Eigen::MatrixXd& samples, int dim);

}  // namespace enf::train
