// The E(n) equivariant graph network of Satorras et al. (the reference's EGNN with attention,
// tanh coordinate head and edge attributes), written once over a backend that supplies the
// operations:
//   egnn/f32_backend.hpp  float32 forward (the inference hot path: wasm-simd128 GEMM and SiLU)
//                         and batched Jacobian-vector products replayed over the recorded forward;
//   train/tape_backend.hpp double-precision values with tangents on the reverse-mode tape
//                         (training differentiates through the network and its JVP).
// A backend B provides the types T (a tensor: one column per node or edge), Param (a parameter
// tensor) and the operations used below. Each operation is one step of the formula; a backend may
// work in place on its tensor arguments, so the formula never reuses a tensor after passing it on,
// except where the comments say an operation only reads it.
#pragma once
#include "egnn/params.hpp"

namespace enf::egnn {

template <class B>
struct NetOutput {
  typename B::T x, h;  // positions (D, N) and embedding_out(h) (out, N)
};

// x: (D, N) positions, h_in: (in_features, N) node inputs; the graph (which pairs are edges) is
// the backend's.
template <class B>
NetOutput<B> egnn_network(B& b, const EgnnConfig& c, const NetParams<typename B::Param>& P, typename B::T x,
                          typename B::T h_in) {
  const int H = c.hidden;
  const double coord_scale = c.coords_range / c.n_layers;
  typename B::T h = b.linear(P.embedding_w, P.embedding_b, h_in);
  typename B::T attr{};  // the input positions' squared distances: layer 0's r
  for (int l = 0; l < c.n_layers; ++l) {
    const GclParams<typename B::Param>& L = P.layers[l];
    // r = |x_i - x_j|^2 (1, E) and dir = (x_i - x_j) / (sqrt(r + 1e-8) + 1) (D, E); x only read.
    auto [r, dir] = b.edge_geometry(x);
    if (l == 0) attr = r;
    // edge_mlp.0 on [h_i, h_j, r, attr] factorises into per-node products gathered per edge
    // (A_i + B_j + w_r r + w_a attr); h, r and attr are only read.
    auto A = b.linear(b.cols(L.edge0_w, 0, H), L.edge0_b, h);
    auto Bj = b.matmul(b.cols(L.edge0_w, H, H), h);
    auto pre = c.edge_attr ? b.edge_input(A, Bj, b.cols(L.edge0_w, 2 * H, 1), r, b.cols(L.edge0_w, 2 * H + 1, 1), attr)
                           : b.edge_input(A, Bj, b.cols(L.edge0_w, 2 * H, 1), r);
    auto m = b.silu(b.linear(L.edge2_w, L.edge2_b, b.silu(pre)));
    if (c.attention) m = b.gate(L.att_w, L.att_b, m);  // m sigmoid(att_w m + att_b)
    auto coord = b.linear_row(L.coord2_w, b.silu(b.linear(L.coord0_w, L.coord0_b, m)));  // (1, E); m only read
    if (c.tanh) coord = b.tanh_scale(coord, coord_scale);
    x = b.coord_update(x, dir, coord);  // x_i += sum_j dir_ij coord_ij
    auto agg = b.aggregate(m);          // sum_j m_ij (H, N)
    auto n1 = b.silu(b.linear2(b.cols(L.node0_w, 0, H), h, b.cols(L.node0_w, H, H), agg, L.node0_b));  // h only read
    h = b.residual(h, L.node2_w, L.node2_b, n1);  // h + node_mlp.2(n1)
  }
  return {x, b.linear(P.embedding_out_w, P.embedding_out_b, h)};
}

}  // namespace enf::egnn
