// The E-NF's field: the EGNN of egnn/network.hpp with time as its only node input (the paper's
// particle systems: 3 layers, 32 features, attention, tanh head with coords_range 15), on the
// float32 backend for inference and the tape backend for training.
#include <cmath>

#include "egnn/egnn.hpp"
#include "egnn/network.hpp"
#include "errors.hpp"
#include "fields/egnn_field.hpp"
#include "fields/settings.hpp"
#include "flow/dynamics.hpp"

namespace enf::fields {

namespace {

const char* const kPrefix = "dynamics.egnn.";

egnn::EgnnConfig egnn_config(const json::Value& s) {
  egnn::EgnnConfig c{3, 32, 1, 1, true, true, 15.0, true};
  Settings r(s, "EGNN", {"n_layers", "hidden", "attention", "tanh", "coords_range", "edge_attr"});
  c.n_layers = r.integer("n_layers", c.n_layers, 1, 64);
  c.hidden = r.integer("hidden", c.hidden, 1, 4096);
  c.attention = r.boolean("attention", c.attention);
  c.tanh = r.boolean("tanh", c.tanh);
  c.edge_attr = r.boolean("edge_attr", c.edge_attr);
  c.coords_range = r.number("coords_range", c.coords_range);
  if (!(c.coords_range > 0) || !std::isfinite(c.coords_range))
    throw InvalidInput("the EGNN's coords_range must be a positive number");
  return c;
}

template <class P>
void bind(const egnn::EgnnConfig& c, egnn::NetParams<P>& net, const std::vector<P>& flat) {
  size_t k = 0;
  egnn::for_each_param(c, net, [&](const std::string&, P& v, int, int) { v = flat[k++]; });
}

class EgnnKind final : public FieldKind {
 public:
  std::string name() const override { return "egnn"; }

  json::Value configure(const json::Value& settings) const override {
    const egnn::EgnnConfig c = egnn_config(settings);
    return json::Value::object({{"n_layers", json::Value::number(c.n_layers)},
                                {"hidden", json::Value::number(c.hidden)},
                                {"attention", json::Value::boolean(c.attention)},
                                {"tanh", json::Value::boolean(c.tanh)},
                                {"coords_range", json::Value::number(c.coords_range)},
                                {"edge_attr", json::Value::boolean(c.edge_attr)}});
  }

  void layout(const json::Value& config, int, const std::function<void(const std::string&, int, int)>& f) const override {
    const egnn::EgnnConfig c = egnn_config(config);
    egnn::NetParams<int> shapes;
    egnn::for_each_param(c, shapes, [&](const std::string& name, int&, int rows, int cols) { f(name, rows, cols); },
                         kPrefix);
  }

  FieldParams init(const json::Value& config, int, uint64_t seed) const override {
    return egnn_field_params(egnn::EgnnWeights::random(egnn_config(config), seed));
  }

  std::shared_ptr<const flow::VelocityField> inference(const FieldParams& p, int dim) const override {
    return std::make_shared<flow::EgnnDynamics>(egnn::Egnn(egnn_weights(p)), dim, 0, true);
  }

  train::Dual tape_velocity(train::TapeBackend& b, const FieldParams& p, const std::vector<train::ad::Var>& params, double t,
                            train::Dual x) const override {
    const egnn::EgnnConfig c = egnn_config(p.config);
    egnn::NetParams<train::ad::Var> net;
    bind(c, net, params);
    train::ad::Tape& T = b.tape();
    const int nodes = static_cast<int>(T.value(x.v).cols());
    const train::Dual h_in{T.leaf(Mat::Constant(1, nodes, t), false), train::ad::Var{}};  // time carries no tangent
    const egnn::NetOutput<train::TapeBackend> out = egnn::egnn_network(b, c, net, x, h_in);
    return {T.sub(out.x.v, x.v), out.x.t.valid() && x.t.valid() ? T.sub(out.x.t, x.t) : out.x.t};
  }
};

}  // namespace

FieldParams egnn_field_params(const egnn::EgnnWeights& w) {
  if (w.config.in_features != 1 || w.config.out_features != 1)
    throw InvalidInput("a particle field's EGNN takes time alone as node input (in_features 1, out_features 1)");
  const egnn::EgnnConfig& c = w.config;
  json::Value settings = json::Value::object({{"n_layers", json::Value::number(c.n_layers)},
                                              {"hidden", json::Value::number(c.hidden)},
                                              {"attention", json::Value::boolean(c.attention)},
                                              {"tanh", json::Value::boolean(c.tanh)},
                                              {"coords_range", json::Value::number(c.coords_range)},
                                              {"edge_attr", json::Value::boolean(c.edge_attr)}});
  FieldParams p{"egnn", std::move(settings), {}, {}};
  egnn::for_each_param(c, w.p, [&](const std::string& n, const egnn::MatrixF& m, int, int) {
    p.names.push_back(n);
    p.values.push_back(m.cast<double>());
  }, kPrefix);
  return p;
}

egnn::EgnnWeights egnn_weights(const FieldParams& p) {
  if (p.kind != "egnn") throw InvalidInput("these parameters are a '" + p.kind + "' field, not an EGNN");
  egnn::EgnnWeights w;
  w.config = egnn_config(p.config);
  std::vector<egnn::MatrixF> flat;
  for (const Mat& m : p.values) flat.push_back(m.cast<float>());
  size_t k = 0;
  egnn::for_each_param(w.config, w.p, [&](const std::string&, egnn::MatrixF& v, int rows, int cols) {
    if (k >= flat.size() || flat[k].rows() != rows || flat[k].cols() != cols)
      throw InvalidInput("the EGNN's parameters do not match its settings");
    v = flat[k++];
  });
  return w;
}

const FieldKind& egnn_kind() {
  static const EgnnKind kind;
  return kind;
}

}  // namespace enf::fields
