// The EGNN field kind's conversions between its float32 weights and the generic parameters.
#pragma once
#include "egnn/egnn.hpp"
#include "fields/field.hpp"

namespace enf::fields {

// The particle E-NF's network (time as the only node input) as field parameters, and back.
FieldParams egnn_field_params(const egnn::EgnnWeights& w);
egnn::EgnnWeights egnn_weights(const FieldParams& p);

}  // namespace enf::fields
