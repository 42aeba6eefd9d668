// The GNF baselines' field (GNF, GNF-att, and GNF-att-aug, which differs only in its training
// data): the GNN of egnn/gnn.hpp with [t, x] as node input, on the float32 backend for inference
// (Jacobian-vector products by tangent replay, as the E-NF) and the tape backend for training.
// It is not equivariant: rotating the input does not rotate the velocity.
#include <cmath>

#include "egnn/egnn.hpp"
#include "egnn/f32_backend.hpp"
#include "egnn/gnn.hpp"
#include "errors.hpp"
#include "fields/field.hpp"
#include "fields/settings.hpp"
#include "tensor/random.hpp"

namespace enf::fields {

namespace {

using egnn::GnnConfig;
using egnn::GnnParams;
using nn::MatrixF;

const char* const kPrefix = "dynamics.gnn.";

GnnConfig gnn_config(const json::Value& s, int dim) {
  GnnConfig c;
  c.dim = dim;
  Settings r(s, "GNN", {"n_layers", "hidden", "attention"});
  c.n_layers = r.integer("n_layers", c.n_layers, 1, 64);
  c.hidden = r.integer("hidden", c.hidden, 1, 4096);
  c.attention = r.boolean("attention", c.attention);
  return c;
}

template <class P>
void bind(const GnnConfig& c, GnnParams<P>& net, const std::vector<P>& flat) {
  size_t k = 0;
  egnn::for_each_param(c, net, [&](const std::string&, P& v, int, int) { v = flat[k++]; });
}

class GnnDynamics final : public flow::VelocityField {
 public:
  GnnDynamics(GnnConfig c, GnnParams<MatrixF> p) : c_(c), p_(std::move(p)) {}

  int dim() const override { return c_.dim; }
  int features() const override { return 0; }
  void velocity(double t, const flow::StateVector& s, flow::StateVector& ds) const override {
    thread_local egnn::ForwardCache scratch;
    forward(t, s, ds, scratch, egnn::F32Backend::Mode::Forward);
  }
  std::unique_ptr<flow::Linearization> new_linearization() const override { return std::make_unique<Lin>(); }
  bool accepts(const flow::Linearization& lin) const override { return dynamic_cast<const Lin*>(&lin); }
  void linearize(double t, const flow::StateVector& s, flow::StateVector& ds, flow::Linearization& lin) const override {
    forward(t, s, ds, dynamic_cast<Lin&>(lin).cache, egnn::F32Backend::Mode::Record);
  }
  int tangent_width(int n) const override {
    const int N = n / c_.dim;
    return std::max(1, 4096 / std::max(1, N * (N - 1)));
  }

  Eigen::MatrixXd tangent(const flow::Linearization& lin, const Eigen::MatrixXd& V) const override {
    const egnn::ForwardCache& cache = dynamic_cast<const Lin&>(lin).cache;
    const int D = c_.dim, N = cache.n_atoms, T = static_cast<int>(V.cols());
    MatrixF dt = MatrixF::Zero(1, N * T), dx(D, N * T);  // time has no tangent
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < N; ++i)
        for (int d = 0; d < D; ++d) dx(d, t * N + i) = static_cast<float>(V(i * D + d, t));
    thread_local egnn::BufferPool pool;
    // Tangent mode only reads the cache's records.
    egnn::F32Backend b(egnn::F32Backend::Mode::Tangent, const_cast<egnn::ForwardCache&>(cache), &pool, T);
    const egnn::F32Backend::T tin = b.input(dt), xin = b.input(dx);
    const egnn::F32Backend::T out = egnn::gnn_network(b, c_, p_, tin, xin);
    Eigen::MatrixXd JV(V.rows(), T);
    for (int t = 0; t < T; ++t) {
      const Eigen::MatrixXd dv = out->middleCols(t * N, N).cast<double>();
      const Eigen::VectorXd mean = dv.rowwise().mean();
      for (int i = 0; i < N; ++i)
        for (int d = 0; d < D; ++d) JV(i * D + d, t) = dv(d, i) - mean(d);
    }
    return JV;
  }

 private:
  struct Lin final : flow::Linearization {
    egnn::ForwardCache cache;
  };

  void forward(double t, const flow::StateVector& s, flow::StateVector& ds, egnn::ForwardCache& c,
               egnn::F32Backend::Mode mode) const {
    const int D = c_.dim;
    if (s.size() == 0 || s.size() % D) throw InvalidInput("ODE state size is not a multiple of " + std::to_string(D));
    const int N = static_cast<int>(s.size() / D);
    if (c.n_atoms != N || c.edge_i.size() != static_cast<size_t>(N) * (N - 1)) {
      c.n_atoms = N;
      egnn::make_edges(N, c.edge_i, c.edge_j);
    }
    c.dim = D;
    MatrixF trow = MatrixF::Constant(1, N, static_cast<float>(t)), x(D, N);
    for (int i = 0; i < N; ++i)
      for (int d = 0; d < D; ++d) x(d, i) = static_cast<float>(s(i * D + d));
    egnn::F32Backend b(mode, c);
    // The inputs take the first two operation slots, in this order in both passes.
    const egnn::F32Backend::T tin = b.input(trow), xin = b.input(x);
    const egnn::F32Backend::T out = egnn::gnn_network(b, c_, p_, tin, xin);
    const Eigen::MatrixXd v = out->cast<double>();
    const Eigen::VectorXd mean = v.rowwise().mean();
    ds.resize(s.size());
    for (int i = 0; i < N; ++i)
      for (int d = 0; d < D; ++d) ds(i * D + d) = v(d, i) - mean(d);
  }

  GnnConfig c_;
  GnnParams<MatrixF> p_;
};

class GnnKind final : public FieldKind {
 public:
  std::string name() const override { return "gnn"; }

  json::Value configure(const json::Value& settings) const override {
    const GnnConfig c = gnn_config(settings, 1);
    return json::Value::object({{"n_layers", json::Value::number(c.n_layers)},
                                {"hidden", json::Value::number(c.hidden)},
                                {"attention", json::Value::boolean(c.attention)}});
  }

  void layout(const json::Value& config, int dim, const std::function<void(const std::string&, int, int)>& f) const override {
    GnnParams<int> shapes;
    egnn::for_each_param(gnn_config(config, dim), shapes,
                         [&](const std::string& name, int&, int rows, int cols) { f(name, rows, cols); }, kPrefix);
  }

  FieldParams init(const json::Value& config, int dim, uint64_t seed) const override {
    // PyTorch's nn.Linear default: uniform in +-1/sqrt(fan_in), a bias with its weight's fan-in.
    FieldParams p{name(), configure(config), {}, {}};
    Rng rng(seed);
    int fan_in = 1;
    layout(p.config, dim, [&](const std::string& n, int rows, int cols) {
      const bool bias = n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
      if (!bias) fan_in = cols;
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      Mat m(rows, cols);
      for (int j = 0; j < cols; ++j)
        for (int i = 0; i < rows; ++i) m(i, j) = static_cast<double>(static_cast<float>(bound * (2 * rng.uniform() - 1)));
      p.names.push_back(n);
      p.values.push_back(std::move(m));
    });
    return p;
  }

  std::shared_ptr<const flow::VelocityField> inference(const FieldParams& p, int dim) const override {
    const GnnConfig c = gnn_config(p.config, dim);
    std::vector<MatrixF> flat;
    for (const Mat& m : p.values) flat.push_back(m.cast<float>());
    GnnParams<MatrixF> net;
    size_t k = 0;
    egnn::for_each_param(c, net, [&](const std::string&, MatrixF& v, int rows, int cols) {
      if (k >= flat.size() || flat[k].rows() != rows || flat[k].cols() != cols)
        throw InvalidInput("the GNN's parameters do not match its settings");
      v = flat[k++];
    });
    return std::make_shared<GnnDynamics>(c, std::move(net));
  }

  train::Dual tape_velocity(train::TapeBackend& b, const FieldParams& p, const std::vector<train::ad::Var>& params, double t,
                            train::Dual x) const override {
    train::ad::Tape& T = b.tape();
    const GnnConfig c = gnn_config(p.config, static_cast<int>(T.value(x.v).rows()));
    GnnParams<train::ad::Var> net;
    bind(c, net, params);
    const int nodes = static_cast<int>(T.value(x.v).cols());
    const train::Dual t_row{T.leaf(Mat::Constant(1, nodes, t), false), train::ad::Var{}};  // time carries no tangent
    return egnn::gnn_network(b, c, net, t_row, x);
  }
};

}  // namespace

const FieldKind& gnn_kind() {
  static const GnnKind kind;
  return kind;
}

}  // namespace enf::fields
