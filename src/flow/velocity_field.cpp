#include "flow/velocity_field.hpp"

#include <algorithm>
#include <vector>

#include "errors.hpp"

#ifndef __EMSCRIPTEN__
#include <atomic>
#include <exception>
#include <thread>
#endif

namespace enf::flow {

void VelocityField::velocity_batch(const std::vector<double>& t, const std::vector<const StateVector*>& s,
                                   std::vector<StateVector>& ds) const {
  ds.resize(s.size());
  for (size_t k = 0; k < s.size(); ++k) velocity(t[k], *s[k], ds[k]);
}

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
                                                const ExactTraceSplit& split,
                                                const std::function<void()>& between_chunks,
                                                std::vector<double>* block, int* block_begin) const {
  if (split.threads < 1 || split.threads > 256) throw InvalidInput("threads must be between 1 and 256");
  if (split.parts < 1 || split.part < 0 || split.part >= split.parts)
    throw InvalidInput("an exact-trace part must be k of n with 0 <= k < n");
  const int n = static_cast<int>(s.size());
  Linearization& lin = scratch();
  linearize(t, s, ds, lin);
  // The whole trace's chunks, all of one width (the last padded with zero tangents, so the scratch
  // is never reallocated); this part takes chunks [c0, c1).
  const int max_width = std::clamp(tangent_width(n), 1, std::max(1, n));
  const int all_chunks = (n + max_width - 1) / max_width;
  const int T = (n + all_chunks - 1) / all_chunks;
  const int c0 = static_cast<int>(static_cast<long long>(all_chunks) * split.part / split.parts);
  const int c1 = static_cast<int>(static_cast<long long>(all_chunks) * (split.part + 1) / split.parts);
  const int begin = std::min(n, c0 * T), end = std::min(n, c1 * T);
  const int m = end - begin, chunks = c1 - c0;
  if (block_begin) *block_begin = begin;
  // The diagonal entries, summed in column order at the end: the same sum for any thread count.
  std::vector<double> diag(m, 0.0);
  const auto run_chunk = [&](int chunk, Eigen::MatrixXd& V) {
    const int k0 = chunk * T;
    V.setZero();
    for (int c = 0; c < T && k0 + c < m; ++c) V(begin + k0 + c, c) = 1.0;
    const Eigen::MatrixXd JV = tangent(lin, V);
    for (int c = 0; c < T && k0 + c < m; ++c) diag[k0 + c] = JV(begin + k0 + c, c);
  };
  const int threads = std::min(split.threads, chunks);
#ifdef __EMSCRIPTEN__
  if (threads > 1) throw InvalidInput("threads > 1 needs a native build; in the browser, split the trace over workers");
#else
  if (threads > 1) {
    // Chunks t, t + threads, ... on thread t; this thread takes t = 0 and alone runs
    // between_chunks (cancellation), the others stop at the first error.
    std::vector<std::exception_ptr> errors(threads);
    std::atomic<bool> stop{false};
    const auto lane = [&](int lane_index) {
      try {
        Eigen::MatrixXd V(n, T);
        for (int c = lane_index; c < chunks && !stop; c += threads) {
          if (lane_index == 0 && between_chunks) between_chunks();
          run_chunk(c, V);
        }
      } catch (...) {
        errors[lane_index] = std::current_exception();
        stop = true;
      }
    };
    std::vector<std::thread> pool;
    for (int k = 1; k < threads; ++k) pool.emplace_back(lane, k);
    lane(0);
    for (std::thread& th : pool) th.join();
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
  } else
#endif
  {
    Eigen::MatrixXd V(n, T);
    for (int c = 0; c < chunks; ++c) {
      if (between_chunks) between_chunks();
      run_chunk(c, V);
    }
  }
  double trace = 0;
  for (double d : diag) trace += d;
  if (block) *block = std::move(diag);
  return trace;
}

}  // namespace enf::flow
