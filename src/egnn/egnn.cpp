#include "egnn/egnn.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "errors.hpp"
#include "models/safetensors.hpp"
#include "nn/gemm.hpp"
#include "nn/silu.hpp"
#include "tensor/random.hpp"

namespace enf::egnn {

namespace {

using nn::silu_inplace;

MatrixF load_matrix(const SafeTensors& f, const std::string& name, int rows, int cols) {
  return nn::matrix_from_row_major(f.floats(name, {rows, cols}), rows, cols);
}

VectorF load_vector(const SafeTensors& f, const std::string& name, int n) {
  auto v = f.floats(name, {n});
  return Eigen::Map<const VectorF>(v.data(), n);
}

Linear load_linear(const SafeTensors& f, const std::string& name, int out, int in, bool bias = true) {
  Linear l;
  l.weight = load_matrix(f, name + ".weight", out, in);
  if (bias) l.bias = load_vector(f, name + ".bias", out);
  return l;
}

int edge_mlp_inputs(const EgnnConfig& c) { return 2 * c.hidden + 1 + (c.edge_attr ? 1 : 0); }

void validate(const EgnnConfig& c) {
  if (c.n_layers < 1 || c.n_layers > 64 || c.hidden < 1 || c.hidden > 4096 || c.in_features < 1 ||
      c.out_features < 1 || !(c.coords_range > 0))
    throw WeightsError("invalid EGNN configuration (layers " + std::to_string(c.n_layers) + ", hidden " +
                       std::to_string(c.hidden) + ")");
}

// Splits edge_mlp.0's (H, 2H+1[+1]) weight into its input blocks.
void split_edge_weight(const MatrixF& w, const EgnnConfig& c, GclWeights& g) {
  const int H = c.hidden;
  g.edge_hi = w.leftCols(H);
  g.edge_hj = w.middleCols(H, H);
  g.edge_r = w.col(2 * H);
  g.edge_attr = c.edge_attr ? VectorF(w.col(2 * H + 1)) : VectorF::Zero(H);
}

}  // namespace

void make_edges(int n, std::vector<int>& edge_i, std::vector<int>& edge_j) {
  edge_i.clear();
  edge_j.clear();
  edge_i.reserve(static_cast<size_t>(n) * (n - 1));
  edge_j.reserve(static_cast<size_t>(n) * (n - 1));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (i != j) {
        edge_i.push_back(i);
        edge_j.push_back(j);
      }
}

EgnnWeights EgnnWeights::load(const SafeTensors& f, const std::string& p, const EgnnConfig& c) {
  validate(c);
  const int H = c.hidden;
  EgnnWeights w;
  w.config = c;
  w.embedding = load_linear(f, p + "embedding", H, c.in_features);
  w.embedding_out = load_linear(f, p + "embedding_out", c.out_features, H);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string g = p + "gcl_" + std::to_string(l) + ".";
    GclWeights L;
    split_edge_weight(load_matrix(f, g + "edge_mlp.0.weight", H, edge_mlp_inputs(c)), c, L);
    L.edge_b = load_vector(f, g + "edge_mlp.0.bias", H);
    L.edge2 = load_linear(f, g + "edge_mlp.2", H, H);
    if (c.attention) {
      L.att_w = load_matrix(f, g + "att_mlp.0.weight", 1, H);
      L.att_b = load_vector(f, g + "att_mlp.0.bias", 1)(0);
    }
    L.coord0 = load_linear(f, g + "coord_mlp.0", H, H);
    L.coord2 = load_matrix(f, g + "coord_mlp.2.weight", 1, H);
    MatrixF node0 = load_matrix(f, g + "node_mlp.0.weight", H, 2 * H);
    L.node_h = node0.leftCols(H);
    L.node_agg = node0.rightCols(H);
    L.node_b = load_vector(f, g + "node_mlp.0.bias", H);
    L.node2 = load_linear(f, g + "node_mlp.2", H, H);
    w.layers.push_back(std::move(L));
  }
  return w;
}

EgnnWeights EgnnWeights::random(const EgnnConfig& c, uint64_t seed) {
  validate(c);
  Rng rng(seed);
  auto uniform = [&](int rows, int cols, int fan_in) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    MatrixF m(rows, cols);
    for (int j = 0; j < cols; ++j)
      for (int i = 0; i < rows; ++i) m(i, j) = bound * static_cast<float>(2 * rng.uniform() - 1);
    return m;
  };
  auto linear = [&](int out, int in) { return Linear{uniform(out, in, in), uniform(out, 1, in).col(0)}; };
  const int H = c.hidden;
  EgnnWeights w;
  w.config = c;
  w.embedding = linear(H, c.in_features);
  w.embedding_out = linear(c.out_features, H);
  for (int l = 0; l < c.n_layers; ++l) {
    GclWeights L;
    const int ein = edge_mlp_inputs(c);
    split_edge_weight(uniform(H, ein, ein), c, L);
    L.edge_b = uniform(H, 1, ein).col(0);
    L.edge2 = linear(H, H);
    if (c.attention) {
      L.att_w = uniform(1, H, H);
      L.att_b = uniform(1, 1, H)(0, 0);
    }
    L.coord0 = linear(H, H);
    L.coord2 = uniform(1, H, H) * 0.001f;  // the reference initialises this head small
    L.node_h = uniform(H, H, 2 * H);
    L.node_agg = uniform(H, H, 2 * H);
    L.node_b = uniform(H, 1, 2 * H).col(0);
    L.node2 = linear(H, H);
    w.layers.push_back(std::move(L));
  }
  return w;
}

Egnn::Egnn(EgnnWeights weights) : w_(std::move(weights)) {}

EgnnOutput Egnn::forward(const MatrixF& x_in, const MatrixF& h_in, ForwardCache* cache) const {
  const EgnnConfig& c = w_.config;
  const int N = static_cast<int>(x_in.cols());
  const int H = c.hidden;
  const int D = static_cast<int>(x_in.rows());
  if (D < 1 || h_in.rows() != c.in_features || h_in.cols() != N)
    throw InvalidInput("EGNN input has the wrong shape");
  // Per-thread scratch keeps its capacity between calls: no allocation per evaluation once warm.
  struct Scratch {
    std::vector<int> edge_i, edge_j;
    MatrixF diff, dir, pre1, m, c1, agg, A, B, n1;
    VectorF r, norm, coord, scaled, att;
    RowVectorF g;
  };
  thread_local Scratch ws;
  std::vector<int>& ei = cache ? cache->edge_i : ws.edge_i;
  std::vector<int>& ej = cache ? cache->edge_j : ws.edge_j;
  make_edges(N, ei, ej);
  const int E = static_cast<int>(ei.size());
  if (cache) {
    cache->n_atoms = N;
    cache->layers.resize(c.n_layers);
  }

  MatrixF x = x_in;
  MatrixF h = (w_.embedding.weight * h_in).colwise() + w_.embedding.bias;
  VectorF edge_attr(E);
  for (int e = 0; e < E; ++e) edge_attr(e) = (x.col(ei[e]) - x.col(ej[e])).squaredNorm();
  if (cache) cache->edge_attr = edge_attr;

  const float coord_scale = static_cast<float>(c.coords_range / c.n_layers);
  MatrixF &diff = ws.diff, &dir = ws.dir, &pre1 = ws.pre1, &m = ws.m, &c1 = ws.c1, &agg = ws.agg;
  MatrixF &A = ws.A, &B = ws.B, &n1 = ws.n1;
  VectorF &r = ws.r, &norm = ws.norm, &coord = ws.coord, &scaled = ws.scaled, &att = ws.att;
  RowVectorF& g = ws.g;
  diff.resize(D, E);
  dir.resize(D, E);
  pre1.resize(H, E);
  agg.resize(H, N);
  r.resize(E);
  norm.resize(E);
  scaled.resize(E);
  coord.resize(E);
  att.resize(E);
  for (int l = 0; l < c.n_layers; ++l) {
    const GclWeights& L = w_.layers[l];
    LayerCache* lc = cache ? &cache->layers[l] : nullptr;
    for (int e = 0; e < E; ++e) {
      diff.col(e) = x.col(ei[e]) - x.col(ej[e]);
      r(e) = diff.col(e).squaredNorm();
      norm(e) = std::sqrt(r(e) + 1e-8f) + 1.0f;
      dir.col(e) = diff.col(e) / norm(e);
    }
    // edge_mlp.0 factorises into per-atom products: W [h_i, h_j, r, a] = A_i + B_j + w_r r + w_a a.
    nn::matmul(A, L.edge_hi, h);
    A.colwise() += L.edge_b;
    nn::matmul(B, L.edge_hj, h);
    for (int e = 0; e < E; ++e) pre1.col(e) = A.col(ei[e]) + B.col(ej[e]) + L.edge_r * r(e) + L.edge_attr * edge_attr(e);
    silu_inplace(pre1, lc ? &lc->act1_grad : nullptr);
    nn::matmul(m, L.edge2.weight, pre1);
    m.colwise() += L.edge2.bias;
    silu_inplace(m, lc ? &lc->act2_grad : nullptr);
    if (c.attention) {
      if (lc) lc->m_pre_att = m;
      g.noalias() = L.att_w * m;
      for (int e = 0; e < E; ++e) att(e) = 1.0f / (1.0f + std::exp(-(g(e) + L.att_b)));
      m.array().rowwise() *= att.transpose().array();
      if (lc) lc->att = att;
    }
    nn::matmul(c1, L.coord0.weight, m);
    c1.colwise() += L.coord0.bias;
    silu_inplace(c1, lc ? &lc->coord_grad : nullptr);
    coord.transpose().noalias() = L.coord2 * c1;
    for (int e = 0; e < E; ++e) scaled(e) = c.tanh ? coord_scale * std::tanh(coord(e)) : coord(e);

    if (lc) {
      lc->x = x;
      lc->diff = diff;
      lc->r = r;
      lc->norm = norm;
      lc->dir = dir;
      lc->coord_raw = coord;
      lc->coord_scaled = scaled;
    }
    agg.setZero();
    for (int e = 0; e < E; ++e) {
      x.col(ei[e]) += dir.col(e) * scaled(e);
      agg.col(ei[e]) += m.col(e);
    }
    nn::matmul(n1, L.node_h, h);
    nn::matmul(n1, L.node_agg, agg, true);
    n1.colwise() += L.node_b;
    silu_inplace(n1, lc ? &lc->node_grad : nullptr);
    nn::matmul(h, L.node2.weight, n1, true);
    h.colwise() += L.node2.bias;
  }
  EgnnOutput out;
  out.x = std::move(x);
  out.h = (w_.embedding_out.weight * h).colwise() + w_.embedding_out.bias;
  return out;
}

EgnnOutput Egnn::jvp(const ForwardCache& cache, const MatrixF& dx_in, const MatrixF& dh_in, int T) const {
  const EgnnConfig& c = w_.config;
  const int N = cache.n_atoms;
  const int H = c.hidden;
  const int E = static_cast<int>(cache.edge_i.size());
  const auto& ei = cache.edge_i;
  const auto& ej = cache.edge_j;
  const int D = static_cast<int>(dx_in.rows());
  if (D != cache.layers.front().x.rows() || dx_in.cols() != N * T || dh_in.rows() != c.in_features || dh_in.cols() != N * T)
    throw InvalidInput("EGNN tangent has the wrong shape");
  const float coord_scale = static_cast<float>(c.coords_range / c.n_layers);

  // Scratch lives per thread and keeps its capacity: fresh multi-megabyte buffers on every call
  // cost more in page faults than the arithmetic (measured: ~30 % of an exact-trace evaluation).
  struct Scratch {
    MatrixF dx, dh, ddiff, ddir, dpre, dm, dc1, dagg, dA, dB, dn1;
    VectorF dr, dattr, dcoord;
  };
  thread_local Scratch ws;
  MatrixF& dx = ws.dx;
  MatrixF& dh = ws.dh;
  MatrixF &ddiff = ws.ddiff, &ddir = ws.ddir, &dpre = ws.dpre, &dm = ws.dm, &dc1 = ws.dc1, &dagg = ws.dagg;
  MatrixF &dA = ws.dA, &dB = ws.dB, &dn1 = ws.dn1;
  VectorF &dr = ws.dr, &dattr = ws.dattr, &dcoord = ws.dcoord;
  dx = dx_in;
  nn::matmul(dh, w_.embedding.weight, dh_in);
  ddiff.resize(D, E * T);
  ddir.resize(D, E * T);
  dpre.resize(H, E * T);
  dm.resize(H, E * T);
  dc1.resize(H, E * T);
  dagg.resize(H, N * T);
  dr.resize(E * T);
  dattr.resize(E * T);
  dcoord.resize(E * T);

  for (int l = 0; l < c.n_layers; ++l) {
    const GclWeights& L = w_.layers[l];
    const LayerCache& lc = cache.layers[l];
    for (int t = 0; t < T; ++t)
      for (int e = 0; e < E; ++e) {
        const int te = t * E + e;
        ddiff.col(te) = dx.col(t * N + ei[e]) - dx.col(t * N + ej[e]);
        dr(te) = 2.0f * lc.diff.col(e).dot(ddiff.col(te));
        const float sq = lc.norm(e) - 1.0f;  // sqrt(r + 1e-8)
        ddir.col(te) = ddiff.col(te) / lc.norm(e) - lc.diff.col(e) * (dr(te) / (2.0f * sq * lc.norm(e) * lc.norm(e)));
      }
    if (l == 0) dattr = dr;  // the edge attribute is the squared distance of the input positions

    nn::matmul(dA, L.edge_hi, dh);
    nn::matmul(dB, L.edge_hj, dh);
    for (int t = 0; t < T; ++t)
      for (int e = 0; e < E; ++e) {
        const int te = t * E + e;
        dpre.col(te) = (dA.col(t * N + ei[e]) + dB.col(t * N + ej[e]) + L.edge_r * dr(te) + L.edge_attr * dattr(te))
                           .cwiseProduct(lc.act1_grad.col(e));
      }
    nn::matmul(dm, L.edge2.weight, dpre);
    for (int t = 0; t < T; ++t) dm.middleCols(t * E, E).array() *= lc.act2_grad.array();
    if (c.attention) {
      RowVectorF dg = L.att_w * dm;
      for (int t = 0; t < T; ++t)
        for (int e = 0; e < E; ++e) {
          const int te = t * E + e;
          const float s = lc.att(e);
          dm.col(te) = dm.col(te) * s + lc.m_pre_att.col(e) * (s * (1.0f - s) * dg(te));
        }
    }
    nn::matmul(dc1, L.coord0.weight, dm);
    for (int t = 0; t < T; ++t) dc1.middleCols(t * E, E).array() *= lc.coord_grad.array();
    dcoord.transpose().noalias() = L.coord2 * dc1;
    if (c.tanh)
      for (int t = 0; t < T; ++t)
        for (int e = 0; e < E; ++e) {
          const float th = lc.coord_scaled(e) / coord_scale;
          dcoord(t * E + e) *= coord_scale * (1.0f - th * th);
        }

    dagg.setZero();
    for (int t = 0; t < T; ++t)
      for (int e = 0; e < E; ++e) {
        const int te = t * E + e;
        dx.col(t * N + ei[e]) += ddir.col(te) * lc.coord_scaled(e) + lc.dir.col(e) * dcoord(te);
        dagg.col(t * N + ei[e]) += dm.col(te);
      }
    nn::matmul(dn1, L.node_h, dh);
    nn::matmul(dn1, L.node_agg, dagg, true);
    for (int t = 0; t < T; ++t) dn1.middleCols(t * N, N).array() *= lc.node_grad.array();
    nn::matmul(dh, L.node2.weight, dn1, true);
  }
  EgnnOutput out;
  out.x = dx;
  nn::matmul(out.h, w_.embedding_out.weight, dh);
  return out;
}

}  // namespace enf::egnn
