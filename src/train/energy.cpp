#include "train/energy.hpp"

#include <cmath>
#include <limits>
#include <memory>

#include "errors.hpp"

namespace enf::train {

double dw4_pair(double d) {
  const double u = d - 4.0;
  return 0.9 * u * u * u * u - 4.0 * u * u;
}

double lj_pair(double d) {
  const double s6 = 1.0 / (d * d * d * d * d * d);
  return s6 * s6 - 2.0 * s6;
}

ParticleSystem dw4() { return ParticleSystem{"dw4", 4, 2, dw4_pair, 0.0}; }
ParticleSystem lj13() { return ParticleSystem{"lj13", 13, 3, [](double d) { return 2.0 * lj_pair(d); }, 1.0}; }
ParticleSystem lj13_fluid() { return ParticleSystem{"lj13-fluid", 13, 3, lj_pair, 1.0}; }

std::function<double(double)> tabulated_pair(std::vector<double> values, double r_min, double r_max) {
  if (!std::isfinite(r_min) || r_min < 0 || !std::isfinite(r_max) || r_max <= r_min)
    throw InvalidInput("the pair energy's range needs 0 <= rMin < rMax, both finite");
  if (values.size() < 2 || values.size() > 1000000) throw InvalidInput("the pair energy table needs 2 to 10^6 points");
  for (size_t k = 0; k < values.size(); ++k) {
    const double e = values[k];
    if (std::isnan(e) || e == -std::numeric_limits<double>::infinity())
      throw InvalidInput("the pair energy is " + std::string(std::isnan(e) ? "NaN" : "-Infinity") + " at distance " +
                         std::to_string(r_min + (r_max - r_min) * k / (values.size() - 1)) +
                         "; it must be a finite number (or +Infinity for a hard wall)");
  }
  if (std::isinf(values.back()) || std::isinf(values[values.size() - 2]))
    throw InvalidInput("the pair energy must be finite near rMax (the table is extrapolated beyond it)");
  auto table = std::make_shared<const std::vector<double>>(std::move(values));
  const double h = (r_max - r_min) / static_cast<double>(table->size() - 1);
  return [table, r_min, h](double d) {
    const std::vector<double>& t = *table;
    const double u = (d - r_min) / h;
    if (u < 0) return std::numeric_limits<double>::infinity();
    const size_t last = t.size() - 1;
    size_t k = static_cast<size_t>(u);
    if (k >= last) k = last - 1;
    const double a = t[k], b = t[k + 1];
    if (std::isinf(a) || std::isinf(b)) return u - k < 0.5 ? a : b;  // +inf next to a wall: no interpolation
    return a + (u - static_cast<double>(k)) * (b - a);
  };
}

ParticleSystem custom_system(const std::string& name, int n, int dim, std::function<double(double)> pair,
                             double com_spring) {
  if (n < 2 || n > 1000) throw InvalidInput("a particle system needs between 2 and 1000 particles, got " + std::to_string(n));
  if (dim < 1 || dim > 3) throw InvalidInput("particles live in 1, 2 or 3 dimensions, got " + std::to_string(dim));
  if (!pair) throw InvalidInput("the pair energy function is empty; pass a function of the distance");
  if (!(com_spring >= 0) || !std::isfinite(com_spring))
    throw InvalidInput("the centre-of-mass spring constant must be finite and >= 0");
  return ParticleSystem{name, n, dim, std::move(pair), com_spring};
}

double ParticleSystem::energy_unchecked(const double* x) const {
  const int N = n_particles, D = dim;
  double e = 0;
  for (int i = 0; i < N; ++i)
    for (int j = i + 1; j < N; ++j) {
      double r2 = 0;
      for (int k = 0; k < D; ++k) {
        const double u = x[i * D + k] - x[j * D + k];
        r2 += u * u;
      }
      const double d = std::sqrt(r2);
      const double p = pair(d);
      if (std::isnan(p) || p == -std::numeric_limits<double>::infinity())
        throw InvalidInput("the pair energy of system '" + name + "' is " + (std::isnan(p) ? "NaN" : "-inf") +
                           " at distance " + std::to_string(d) +
                           "; it must be finite (or +inf) and bounded below for exp(-E) to be a density");
      e += p;
    }
  if (com_spring > 0) {
    double s = 0;
    for (int k = 0; k < D; ++k) {
      double mean = 0;
      for (int i = 0; i < N; ++i) mean += x[i * D + k];
      mean /= N;
      for (int i = 0; i < N; ++i) s += (x[i * D + k] - mean) * (x[i * D + k] - mean);
    }
    e += 0.5 * com_spring * s;
  }
  return e;
}

double ParticleSystem::energy(const Eigen::VectorXd& x) const {
  if (x.size() != size())
    throw InvalidInput("system '" + name + "' takes " + std::to_string(n_particles) + " x " + std::to_string(dim) +
                       " = " + std::to_string(size()) + " coordinates, got " + std::to_string(x.size()));
  if (!x.allFinite()) throw InvalidInput("positions contain NaN or Inf");
  return energy_unchecked(x.data());
}

void validate_dataset(const Eigen::MatrixXd& s, const ParticleSystem& sys, const std::string& what) {
  if (s.rows() == 0) throw InvalidInput(what + " has no samples; pass at least one");
  if (s.cols() != sys.size())
    throw InvalidInput(what + " has " + std::to_string(s.cols()) + " numbers per sample, but system '" + sys.name +
                       "' needs " + std::to_string(sys.n_particles) + " particles x " + std::to_string(sys.dim) +
                       " dimensions = " + std::to_string(sys.size()));
  for (Eigen::Index j = 0; j < s.cols(); ++j)
    for (Eigen::Index i = 0; i < s.rows(); ++i)
      if (!std::isfinite(s(i, j)))
        throw InvalidInput(what + " holds a non-finite value (NaN or Inf) in sample " + std::to_string(i) +
                           ", coordinate " + std::to_string(j) + "; remove or fix that sample");
}

Eigen::MatrixXd centre(const Eigen::MatrixXd& s, int dim) {
  Eigen::MatrixXd out = s;
  const int N = static_cast<int>(s.cols() / dim);
  for (Eigen::Index r = 0; r < s.rows(); ++r)
    for (int k = 0; k < dim; ++k) {
      double mean = 0;
      for (int i = 0; i < N; ++i) mean += s(r, i * dim + k);
      mean /= N;
      for (int i = 0; i < N; ++i) out(r, i * dim + k) -= mean;
    }
  return out;
}

}  // namespace enf::train
