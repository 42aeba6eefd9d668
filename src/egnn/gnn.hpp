// The paper's non-equivariant baseline network (GNF, GNF-att; section 5.1): the reference's GNN of
// GCL layers, with time and the coordinates as node features and the velocity out of a linear head.
// Written once, like egnn_network, over the same backends (float32 inference with tangent replay,
// the training tape), with the same operations: the edge MLP's first layer on [h_i, h_j]
// factorises into per-node products gathered per edge.
#pragma once
#include <string>
#include <type_traits>
#include <vector>

namespace enf::egnn {

struct GnnConfig {
  int n_layers = 3;
  int hidden = 32;
  bool attention = false;  // GNF-att: the E-NF's edge gate m sigmoid(att_mlp(m))
  int dim = 3;             // node input [t, x] (1 + dim), output the velocity (dim)
};

template <class P>
struct GnnLayerParams {
  P edge0_w, edge0_b;  // edge_mlp.0: (H, 2H) on [h_i, h_j]
  P edge2_w, edge2_b;  // edge_mlp.2: (H, H)
  P att_w, att_b;      // att_mlp.0: (1, H), (1, 1); only with attention
  P node0_w, node0_b;  // node_mlp.0: (H, 2H) on [h_i, sum_j m_ij]
  P node2_w, node2_b;  // node_mlp.2: (H, H)
};

template <class P>
struct GnnParams {
  P embedding_w, embedding_b;          // (H, 1 + dim) on [t, x]
  P embedding_out_w, embedding_out_b;  // (dim, H)
  std::vector<GnnLayerParams<P>> layers;
};

// Calls f(name, param, rows, cols) in canonical order with the reference GNN's names.
template <class Params, class F>
void for_each_param(const GnnConfig& c, Params& p, F&& f, const std::string& prefix = "") {
  if constexpr (!std::is_const_v<Params>) p.layers.resize(c.n_layers);
  const int H = c.hidden;
  f(prefix + "embedding.weight", p.embedding_w, H, 1 + c.dim);
  f(prefix + "embedding.bias", p.embedding_b, H, 1);
  f(prefix + "embedding_out.weight", p.embedding_out_w, c.dim, H);
  f(prefix + "embedding_out.bias", p.embedding_out_b, c.dim, 1);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& L = p.layers[l];
    const std::string g = prefix + "gcl_" + std::to_string(l) + ".";
    f(g + "edge_mlp.0.weight", L.edge0_w, H, 2 * H);
    f(g + "edge_mlp.0.bias", L.edge0_b, H, 1);
    f(g + "edge_mlp.2.weight", L.edge2_w, H, H);
    f(g + "edge_mlp.2.bias", L.edge2_b, H, 1);
    if (c.attention) {
      f(g + "att_mlp.0.weight", L.att_w, 1, H);
      f(g + "att_mlp.0.bias", L.att_b, 1, 1);
    }
    f(g + "node_mlp.0.weight", L.node0_w, H, 2 * H);
    f(g + "node_mlp.0.bias", L.node0_b, H, 1);
    f(g + "node_mlp.2.weight", L.node2_w, H, H);
    f(g + "node_mlp.2.bias", L.node2_b, H, 1);
  }
}

// The velocity (dim, N) from time t_row (1, N) and positions x (dim, N); the input [t, x] enters
// embedding.weight as two column blocks, so neither input is copied. Both are only read.
template <class B>
typename B::T gnn_network(B& b, const GnnConfig& c, const GnnParams<typename B::Param>& P, const typename B::T& t_row,
                          const typename B::T& x) {
  const int H = c.hidden;
  typename B::T h = b.linear2(b.cols(P.embedding_w, 0, 1), t_row, b.cols(P.embedding_w, 1, c.dim), x, P.embedding_b);
  for (int l = 0; l < c.n_layers; ++l) {
    const GnnLayerParams<typename B::Param>& L = P.layers[l];
    auto A = b.linear(b.cols(L.edge0_w, 0, H), L.edge0_b, h);
    auto Bj = b.matmul(b.cols(L.edge0_w, H, H), h);
    auto m = b.silu(b.linear(L.edge2_w, L.edge2_b, b.silu(b.edge_input(A, Bj))));
    if (c.attention) m = b.gate(L.att_w, L.att_b, m);
    auto agg = b.aggregate(m);
    auto n1 = b.silu(b.linear2(b.cols(L.node0_w, 0, H), h, b.cols(L.node0_w, H, H), agg, L.node0_b));
    h = b.residual(h, L.node2_w, L.node2_b, n1);  // recurrent: h + node_mlp(.)
  }
  return b.linear(P.embedding_out_w, P.embedding_out_b, h);
}

}  // namespace enf::egnn
