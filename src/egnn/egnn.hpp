// The E(n) equivariant graph network (Satorras et al.) on a fully connected graph without self
// edges, as used by the E-NF dynamics and its dequantizer, in float32: the formula of
// egnn/network.hpp on the float32 backend (egnn/f32_backend.hpp). Features are stored
// column-per-atom (features x atoms) and column-per-edge, so the per-edge work is a few large GEMMs.
//
// Two passes share one cache of the forward's records:
//   forward  - the network output (recording what the tangent pass needs when given a cache),
//   jvp      - Jacobian-vector products for a batch of T tangents at once (exact trace carries
//              all 9M basis tangents in chunks; Hutchinson carries its probes).
// Training differentiates the same formula on the tape backend (train/tape_backend.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "egnn/f32_backend.hpp"
#include "egnn/params.hpp"
#include "nn/linear.hpp"

namespace enf {
class SafeTensors;
}

namespace enf::egnn {

using nn::MatrixF;

struct EgnnWeights {
  EgnnConfig config;
  NetParams<MatrixF> p;

  // Reads prefix + "embedding.weight", prefix + "gcl_0.edge_mlp.0.weight", ... with shapes checked
  // against `config`; throws WeightsError naming the tensor on any mismatch.
  static EgnnWeights load(const SafeTensors& file, const std::string& prefix, const EgnnConfig& config);
  // Random initialisation (PyTorch's default uniform fan-in ranges; the coordinate head x 0.001
  // as the reference), for tests and training.
  static EgnnWeights random(const EgnnConfig& config, uint64_t seed);
};

// Checks a configuration (layer count, sizes); throws WeightsError.
void validate(const EgnnConfig& c);

struct EgnnOutput {
  MatrixF x;  // (D, N) final positions
  MatrixF h;  // (out, N) embedding_out(h)
};

class Egnn {
 public:
  explicit Egnn(EgnnWeights weights);
  const EgnnConfig& config() const { return w_.config; }
  const EgnnWeights& weights() const { return w_; }

  // x: (D, N) positions in any dimension D, h_in: (in_features, N). When cache is non-null it receives what jvp needs.
  // block > 0: N / block graphs of `block` atoms each side by side (a batch; no edges between them).
  EgnnOutput forward(const MatrixF& x, const MatrixF& h_in, ForwardCache* cache = nullptr, int block = 0) const;

  // Tangents for T directions at the point cached by forward: dx (D, N*T) and dh_in
  // (in_features, N*T), column t*N + i. Returns output tangents with the same layout.
  EgnnOutput jvp(const ForwardCache& cache, const MatrixF& dx, const MatrixF& dh_in, int T) const;

 private:
  EgnnWeights w_;
};

}  // namespace enf::egnn
