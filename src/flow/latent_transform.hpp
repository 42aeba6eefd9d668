// An orthogonal map and a relabelling of the particles, applied to a latent before it is
// integrated. The prior is invariant under both and the flow is E(n)- and permutation-
// equivariant, so the sample comes out transformed the same way: particle i of the result is
// particle permutation[i] of the untransformed sample, with Q applied to its position (features
// unchanged). This is how a user checks equivariance end to end ("Rotate latent").
#pragma once
#include <vector>

#include "flow/dynamics.hpp"

namespace enf::flow {

struct LatentTransform {
  std::vector<double> orthogonal;  // empty, or dim x dim numbers row-major with Q^T Q = I to 1e-6
  std::vector<int> permutation;    // empty, or each of 0 .. n-1 once

  bool empty() const { return orthogonal.empty() && permutation.empty(); }
  // Throws InvalidInput saying what is wrong (size, orthogonality, a repeated or missing index).
  void validate(int n, int dim) const;
  // z holds n particles of `stride` numbers, the first `dim` of them the position. Returns a new
  // vector: writing in place would read coordinates already overwritten.
  StateVector apply(const StateVector& z, int n, int dim, int stride) const;
};

}  // namespace enf::flow
