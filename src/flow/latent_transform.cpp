#include "flow/latent_transform.hpp"

#include <cmath>
#include <string>

#include "errors.hpp"

namespace enf::flow {

void LatentTransform::validate(int n, int dim) const {
  if (!orthogonal.empty()) {
    const size_t want = static_cast<size_t>(dim) * dim;
    if (orthogonal.size() != want)
      throw InvalidInput("the latent rotation must hold " + std::to_string(want) + " numbers (a " + std::to_string(dim) +
                         "x" + std::to_string(dim) + " matrix, row-major), got " + std::to_string(orthogonal.size()));
    for (double v : orthogonal)
      if (!std::isfinite(v)) throw InvalidInput("the latent rotation contains NaN or Inf");
    // Q^T Q = I: column a . column b.
    for (int a = 0; a < dim; ++a)
      for (int b = 0; b < dim; ++b) {
        double dot = 0;
        for (int r = 0; r < dim; ++r) dot += orthogonal[r * dim + a] * orthogonal[r * dim + b];
        if (std::abs(dot - (a == b ? 1.0 : 0.0)) > 1e-6)
          throw InvalidInput("the latent rotation must be an orthogonal matrix (R^T R = I to 1e-6)");
      }
  }
  if (!permutation.empty()) {
    if (static_cast<int>(permutation.size()) != n)
      throw InvalidInput("the latent permutation must list each of the " + std::to_string(n) +
                         " atoms once, got " + std::to_string(permutation.size()) + " indices");
    std::vector<bool> seen(n, false);
    for (int p : permutation) {
      if (p < 0 || p >= n) throw InvalidInput("the latent permutation holds " + std::to_string(p) +
                                              ", outside 0.." + std::to_string(n - 1));
      if (seen[p]) throw InvalidInput("the latent permutation lists atom " + std::to_string(p) + " twice");
      seen[p] = true;
    }
  }
}

StateVector LatentTransform::apply(const StateVector& z, int n, int dim, int stride) const {
  validate(n, dim);
  if (z.size() != static_cast<Eigen::Index>(n) * stride) throw InvalidInput("the latent has the wrong size");
  StateVector out(z.size());
  for (int i = 0; i < n; ++i) {
    const int src = permutation.empty() ? i : permutation[i];
    const double* from = z.data() + static_cast<Eigen::Index>(src) * stride;
    double* to = out.data() + static_cast<Eigen::Index>(i) * stride;
    for (int d = 0; d < dim; ++d) {
      if (orthogonal.empty()) {
        to[d] = from[d];
        continue;
      }
      double v = 0;
      for (int k = 0; k < dim; ++k) v += orthogonal[d * dim + k] * from[k];
      to[d] = v;
    }
    for (int f = dim; f < stride; ++f) to[f] = from[f];
  }
  return out;
}

}  // namespace enf::flow
