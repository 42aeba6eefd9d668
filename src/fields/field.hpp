// Velocity fields of particle flows as plug-ins. A kind (the E-NF's EGNN; the paper's baselines:
// the GNN of GNF, Köhler et al.'s kernel and simple dynamics) says what its parameters are, builds the float32 inference field the CNF, the
// trace estimators and the samplers run (flow::VelocityField), and its differentiable twin on the
// training tape. ParticleModel, the trainer, the weights files and the bindings see only this
// interface and the registry below, so a new field is one new file registered here.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flow/velocity_field.hpp"
#include "models/json.hpp"
#include "train/tape_backend.hpp"

namespace enf::fields {

using Mat = Eigen::MatrixXd;

// A field's parameters in double: named tensors in the kind's canonical order (the optimiser's
// view, the gradient layout and the order of the tensors in a saved file).
struct FieldParams {
  std::string kind;    // the registry name ("egnn")
  json::Value config;  // the kind's settings (a JSON object, saved in the weights' metadata)
  std::vector<std::string> names;
  std::vector<Mat> values;

  size_t count() const;  // number of scalars
};

// The time-conditioned velocity of D-dimensional particles (positions only, no features).
class FieldKind {
 public:
  virtual ~FieldKind() = default;
  virtual std::string name() const = 0;
  // The kind's full settings from a user's partial ones (defaults: the paper's particle setup);
  // InvalidInput naming an unknown or out-of-range setting.
  virtual json::Value configure(const json::Value& settings) const = 0;
  // Calls f(name, rows, cols) for every parameter tensor in canonical order, for particles in
  // `dim` dimensions (a non-equivariant field's shapes depend on it).
  virtual void layout(const json::Value& config, int dim,
                      const std::function<void(const std::string&, int, int)>& f) const = 0;
  // The reference's random initial parameters.
  virtual FieldParams init(const json::Value& config, int dim, uint64_t seed) const = 0;
  // The float32 inference field, mean-free in its output (the prior has zero centre of mass).
  virtual std::shared_ptr<const flow::VelocityField> inference(const FieldParams& p, int dim) const = 0;
  // The velocity and its tangent along x.t on the training tape, before the mean-free projection;
  // x is (D, B*N) and `params` are the tape's leaves for p.values, in order.
  virtual train::Dual tape_velocity(train::TapeBackend& b, const FieldParams& p, const std::vector<train::ad::Var>& params,
                                    double t, train::Dual x) const = 0;
};

// The kind registered under `name`; InvalidInput listing the kinds otherwise.
const FieldKind& field_kind(std::string_view name);
std::vector<std::string> field_kinds();

// Parameters of `kind` from (name -> row-major float values + shape) lookups, shapes checked
// against the kind's layout: what loading a weights file needs. `fetch(name, rows, cols)` returns
// the values or throws.
FieldParams load_params(std::string kind, json::Value config, int dim,
                        const std::function<std::vector<float>(const std::string&, int, int)>& fetch);

}  // namespace enf::fields
