// The EGNN's configuration and its parameters, held as the reference implementation's tensors
// (PyTorch names and (out, in) shapes) in any representation P: float32 matrices for inference,
// double matrices for the optimiser, variables on the training tape. for_each_param visits them
// in one canonical order, which drives loading, saving, flattening and the gradient layout.
#pragma once
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace enf::egnn {

struct EgnnConfig {
  int n_layers = 6;
  int hidden = 64;
  int in_features = 7;    // node input size (the caller appends time when conditioning on it)
  int out_features = 7;   // embedding_out size
  bool attention = true;
  bool tanh = true;       // coordinate head: coords_range / n_layers * tanh(.)
  double coords_range = 15.0;
  bool edge_attr = true;  // feed the input squared distances to every layer as an edge feature

  // edge_mlp.0's input: [h_i, h_j, |x_i - x_j|^2 (, edge attribute)].
  int edge_inputs() const { return 2 * hidden + 1 + (edge_attr ? 1 : 0); }
};

// One equivariant graph convolution layer (E_GCL), biases as (n, 1) columns.
template <class P>
struct GclParams {
  P edge0_w, edge0_b;    // edge_mlp.0: (H, 2H + 1 [+ 1]) on [h_i, h_j, r, attr]
  P edge2_w, edge2_b;    // edge_mlp.2: (H, H)
  P att_w, att_b;        // att_mlp.0: (1, H), (1, 1); only with attention
  P coord0_w, coord0_b;  // coord_mlp.0: (H, H)
  P coord2_w;            // coord_mlp.2: (1, H), no bias
  P node0_w, node0_b;    // node_mlp.0: (H, 2H) on [h_i, sum_j m_ij]
  P node2_w, node2_b;    // node_mlp.2: (H, H)
};

template <class P>
struct NetParams {
  P embedding_w, embedding_b;          // (H, in)
  P embedding_out_w, embedding_out_b;  // (out, H)
  std::vector<GclParams<P>> layers;
};

// Calls f(name, param, rows, cols) for every tensor of the network in canonical order, with the
// reference's names (prefix + "embedding.weight", prefix + "gcl_0.edge_mlp.0.weight", ...).
// `params` may be const or not; layers are sized to the configuration first when not const.
template <class Params, class F>
void for_each_param(const EgnnConfig& c, Params& p, F&& f, const std::string& prefix = "") {
  if constexpr (!std::is_const_v<Params>) p.layers.resize(c.n_layers);
  const int H = c.hidden;
  f(prefix + "embedding.weight", p.embedding_w, H, c.in_features);
  f(prefix + "embedding.bias", p.embedding_b, H, 1);
  f(prefix + "embedding_out.weight", p.embedding_out_w, c.out_features, H);
  f(prefix + "embedding_out.bias", p.embedding_out_b, c.out_features, 1);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& L = p.layers[l];
    const std::string g = prefix + "gcl_" + std::to_string(l) + ".";
    f(g + "edge_mlp.0.weight", L.edge0_w, H, c.edge_inputs());
    f(g + "edge_mlp.0.bias", L.edge0_b, H, 1);
    f(g + "edge_mlp.2.weight", L.edge2_w, H, H);
    f(g + "edge_mlp.2.bias", L.edge2_b, H, 1);
    if (c.attention) {
      f(g + "att_mlp.0.weight", L.att_w, 1, H);
      f(g + "att_mlp.0.bias", L.att_b, 1, 1);
    }
    f(g + "coord_mlp.0.weight", L.coord0_w, H, H);
    f(g + "coord_mlp.0.bias", L.coord0_b, H, 1);
    f(g + "coord_mlp.2.weight", L.coord2_w, 1, H);
    f(g + "node_mlp.0.weight", L.node0_w, H, 2 * H);
    f(g + "node_mlp.0.bias", L.node0_b, H, 1);
    f(g + "node_mlp.2.weight", L.node2_w, H, H);
    f(g + "node_mlp.2.bias", L.node2_b, H, 1);
  }
}

// The same parameters in another representation: out = convert(in) tensor by tensor.
template <class Q, class P, class F>
NetParams<Q> convert_params(const EgnnConfig& c, const NetParams<P>& in, F&& convert) {
  NetParams<Q> out;
  std::vector<const P*> src;
  for_each_param(c, in, [&](const std::string&, const P& v, int, int) { src.push_back(&v); });
  size_t k = 0;
  for_each_param(c, out, [&](const std::string&, Q& v, int, int) { v = convert(*src[k++]); });
  return out;
}

}  // namespace enf::egnn
