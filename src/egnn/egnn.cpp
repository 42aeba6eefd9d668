#include "egnn/egnn.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "egnn/network.hpp"
#include "errors.hpp"
#include "models/safetensors.hpp"
#include "tensor/random.hpp"

namespace enf::egnn {

namespace {

bool is_bias(const std::string& name) { return name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0; }

}  // namespace

void validate(const EgnnConfig& c) {
  if (c.n_layers < 1 || c.n_layers > 64 || c.hidden < 1 || c.hidden > 4096 || c.in_features < 1 ||
      c.out_features < 1 || !(c.coords_range > 0))
    throw WeightsError("invalid EGNN configuration (layers " + std::to_string(c.n_layers) + ", hidden " +
                       std::to_string(c.hidden) + ")");
}

EgnnWeights EgnnWeights::load(const SafeTensors& f, const std::string& prefix, const EgnnConfig& c) {
  validate(c);
  EgnnWeights w;
  w.config = c;
  // Biases are stored 1-D, as PyTorch keeps them; weights (out, in) row-major.
  for_each_param(c, w.p, [&](const std::string& name, MatrixF& m, int rows, int cols) {
    const std::vector<int64_t> shape = is_bias(name) ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols};
    m = nn::matrix_from_row_major(f.floats(name, shape), rows, cols);
  }, prefix);
  return w;
}

EgnnWeights EgnnWeights::random(const EgnnConfig& c, uint64_t seed) {
  validate(c);
  Rng rng(seed);
  EgnnWeights w;
  w.config = c;
  int fan_in = 1;  // a bias takes the range of the weight before it
  for_each_param(c, w.p, [&](const std::string& name, MatrixF& m, int rows, int cols) {
    if (!is_bias(name)) fan_in = cols;
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    m.resize(rows, cols);
    for (int j = 0; j < cols; ++j)
      for (int i = 0; i < rows; ++i) m(i, j) = bound * static_cast<float>(2 * rng.uniform() - 1);
    if (name.find("coord_mlp.2.weight") != std::string::npos) m *= 0.001f;  // the reference starts this head small
  });
  return w;
}

Egnn::Egnn(EgnnWeights weights) : w_(std::move(weights)) {}

EgnnOutput Egnn::forward(const MatrixF& x_in, const MatrixF& h_in, ForwardCache* cache, int block) const {
  const int N = static_cast<int>(x_in.cols());
  if (x_in.rows() < 1 || h_in.rows() != w_.config.in_features || h_in.cols() != N)
    throw InvalidInput("EGNN input has the wrong shape");
  if (block <= 0) block = std::max(N, 1);
  if (N % block) throw InvalidInput("EGNN batch: " + std::to_string(N) + " atoms are not whole graphs of " + std::to_string(block));
  // Per-thread buffers keep their capacity between calls: no allocation per evaluation once warm.
  thread_local ForwardCache scratch;
  ForwardCache& c = cache ? *cache : scratch;
  if (c.n_atoms != N || c.block != block || c.edge_i.size() != static_cast<size_t>(N) * (block - 1)) {
    c.n_atoms = N;
    c.block = block;
    make_edges(N, block, c.edge_i, c.edge_j);
  }
  c.dim = static_cast<int>(x_in.rows());
  F32Backend b(cache ? F32Backend::Mode::Record : F32Backend::Mode::Forward, c);
  // The inputs take the first two operation slots, in this order in both passes.
  const F32Backend::T x = b.input(x_in);
  const F32Backend::T h = b.input(h_in);
  const NetOutput<F32Backend> out = egnn_network(b, w_.config, w_.p, x, h);
  return {*out.x, *out.h};
}

EgnnOutput Egnn::jvp(const ForwardCache& cache, const MatrixF& dx_in, const MatrixF& dh_in, int T) const {
  const int N = cache.n_atoms;
  if (cache.ops.empty() || dx_in.cols() != N * T || dh_in.rows() != w_.config.in_features || dh_in.cols() != N * T ||
      dx_in.rows() != cache.dim)
    throw InvalidInput("EGNN tangent has the wrong shape");
  // Tangent buffers live per thread and keep their capacity: fresh multi-megabyte buffers on every
  // call cost more in page faults than the arithmetic (measured: ~30 % of an exact-trace evaluation).
  thread_local BufferPool scratch;
  // Tangent mode only reads the cache's records.
  F32Backend b(F32Backend::Mode::Tangent, const_cast<ForwardCache&>(cache), &scratch, T);
  const F32Backend::T x = b.input(dx_in);
  const F32Backend::T h = b.input(dh_in);
  const NetOutput<F32Backend> out = egnn_network(b, w_.config, w_.p, x, h);
  return {*out.x, *out.h};
}

}  // namespace enf::egnn
