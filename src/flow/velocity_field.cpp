#include "flow/velocity_field.hpp"

#include <algorithm>

namespace enf::flow {

Linearization& VelocityField::scratch() const {
  // One per thread, replaced only when a field of another kind comes along: its buffers keep
  // their capacity between evaluations.
  thread_local std::unique_ptr<Linearization> lin;
  if (!lin || !accepts(*lin)) lin = new_linearization();
  return *lin;
}

Eigen::MatrixXd VelocityField::jacobian_times(double t, const StateVector& s, const Eigen::MatrixXd& V) const {
  const std::unique_ptr<Linearization> lin = new_linearization();
  StateVector ds;
  linearize(t, s, ds, *lin);
  return tangent(*lin, V);
}

void VelocityField::velocity_with_probes(double t, const StateVector& s, const Eigen::MatrixXd& probes,
                                         StateVector& ds, Eigen::VectorXd& quad,
                                         const std::function<void()>& between_chunks) const {
  Linearization& lin = scratch();
  linearize(t, s, ds, lin);
  const int K = static_cast<int>(probes.cols());
  // Many probes go through in chunks, as the exact trace does, so that scratch memory stays
  // bounded (1,024 probes at 29 atoms in one pass would need ~0.6 GB).
  const int width = std::clamp(tangent_width(static_cast<int>(s.size())), 1, std::max(1, K));
  quad.resize(K);
  for (int k0 = 0; k0 < K; k0 += width) {
    if (k0 > 0 && between_chunks) between_chunks();
    const int w = std::min(width, K - k0);
    const Eigen::MatrixXd JV = tangent(lin, probes.middleCols(k0, w));
    quad.segment(k0, w) = (probes.middleCols(k0, w).array() * JV.array()).colwise().sum().transpose();
  }
}

double VelocityField::velocity_with_exact_trace(double t, const StateVector& s, StateVector& ds,
                                                const std::function<void()>& between_chunks) const {
  Linearization& lin = scratch();
  linearize(t, s, ds, lin);
  const int n = static_cast<int>(s.size());
  // All chunks get the same width (the last padded with zero tangents) so the scratch is never
  // reallocated.
  const int max_width = std::clamp(tangent_width(n), 1, n);
  const int chunks = (n + max_width - 1) / max_width;
  const int T = (n + chunks - 1) / chunks;
  double trace = 0;
  Eigen::MatrixXd V(n, T);
  for (int k0 = 0; k0 < n; k0 += T) {
    if (between_chunks) between_chunks();
    V.setZero();
    for (int c = 0; c < T && k0 + c < n; ++c) V(k0 + c, c) = 1.0;
    const Eigen::MatrixXd JV = tangent(lin, V);
    for (int c = 0; c < T && k0 + c < n; ++c) trace += JV(k0 + c, c);
  }
  return trace;
}

}  // namespace enf::flow
