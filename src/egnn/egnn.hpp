// The E(n) equivariant graph network (Satorras et al.) on a fully connected graph without self
// edges, as used by the E-NF dynamics and its dequantizer. Features are stored column-per-atom
// (features x atoms) and column-per-edge, float32, so the per-edge work is a few large GEMMs.
//
// Three passes share one cache of the forward activations:
//   forward  - the network output,
//   jvp      - Jacobian-vector products for a batch of T tangents at once (exact trace carries
//              all 9M basis tangents in chunks; Hutchinson carries its probes),
//   vjp      - (training) vector-Jacobian products; see egnn_vjp in later work.
#pragma once
#include <string>
#include <vector>

#include "nn/linear.hpp"

namespace enf {
class SafeTensors;
}

namespace enf::egnn {

using nn::Linear;
using nn::MatrixF;
using nn::RowVectorF;
using nn::VectorF;

struct EgnnConfig {
  int n_layers = 6;
  int hidden = 64;
  int in_features = 7;    // node input size (the caller appends time when conditioning on it)
  int out_features = 7;   // embedding_out size
  bool attention = true;
  bool tanh = true;       // coordinate head: coords_range / n_layers * tanh(.)
  double coords_range = 15.0;
  bool edge_attr = true;  // feed the input squared distances to every layer as an edge feature
};

struct GclWeights {
  // edge_mlp.0 split by input block: [h_i, h_j, r_ij, edge_attr_ij].
  MatrixF edge_hi, edge_hj;  // (H, H)
  VectorF edge_r, edge_attr, edge_b;
  Linear edge2;              // (H, H)
  RowVectorF att_w;          // (1, H), empty without attention
  float att_b = 0;
  Linear coord0;             // (H, H)
  RowVectorF coord2;         // (1, H), no bias
  MatrixF node_h, node_agg;  // node_mlp.0 split: [h_i, sum_j m_ij]
  VectorF node_b;
  Linear node2;              // (H, H)
};

struct EgnnWeights {
  EgnnConfig config;
  Linear embedding;      // (H, in)
  Linear embedding_out;  // (out, H)
  std::vector<GclWeights> layers;

  // Reads `prefix`embedding.weight, `prefix`gcl_0.edge_mlp.0.weight, ... with shapes checked
  // against `config`; throws WeightsError naming the tensor on any mismatch.
  static EgnnWeights load(const SafeTensors& file, const std::string& prefix, const EgnnConfig& config);
  // Random initialisation (PyTorch's default uniform fan-in ranges), for tests and training.
  static EgnnWeights random(const EgnnConfig& config, uint64_t seed);
};

// Activations of one forward pass that the tangent pass needs.
struct LayerCache {
  MatrixF x;        // (D, N) positions entering the layer
  MatrixF diff;     // (D, E) x_i - x_j
  VectorF r;        // (E) squared distance
  VectorF norm;     // (E) sqrt(r + 1e-8) + 1
  MatrixF dir;      // (D, E) diff / norm
  MatrixF act1_grad;   // (H, E) silu'(edge pre-activation 1)
  MatrixF act2_grad;   // (H, E) silu'(edge pre-activation 2)
  MatrixF m_pre_att;   // (H, E) message before attention
  VectorF att;         // (E) sigmoid gate
  MatrixF coord_grad;  // (H, E) silu'(coord pre-activation)
  VectorF coord_raw;   // (E) coord_mlp output before tanh/scale
  VectorF coord_scaled;  // (E) the scalar multiplying dir
  MatrixF node_grad;   // (H, N) silu'(node pre-activation)
};

struct ForwardCache {
  int n_atoms = 0;
  std::vector<int> edge_i, edge_j;  // edge e = (i, j), i != j, grouped by i
  VectorF edge_attr;                // (E) squared distances of the input positions
  std::vector<LayerCache> layers;
};

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
  EgnnOutput forward(const MatrixF& x, const MatrixF& h_in, ForwardCache* cache = nullptr) const;

  // Tangents for T directions at the point cached by forward: dx (D, N*T) and dh_in
  // (in_features, N*T), column t*N + i. Returns output tangents with the same layout.
  EgnnOutput jvp(const ForwardCache& cache, const MatrixF& dx, const MatrixF& dh_in, int T) const;

 private:
  EgnnWeights w_;
};

// Fully connected edge list without self edges, grouped by the first atom.
void make_edges(int n_atoms, std::vector<int>& edge_i, std::vector<int>& edge_j);

}  // namespace enf::egnn
