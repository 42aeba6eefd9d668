#include "fields/field.hpp"

#include "errors.hpp"

namespace enf::fields {

// The kinds, defined in their own files.
const FieldKind& egnn_kind();
const FieldKind& gnn_kind();
const FieldKind& kernel_kind();
const FieldKind& simple_kind();

namespace {

const std::vector<const FieldKind*>& registry() {
  static const std::vector<const FieldKind*> kinds{&egnn_kind(), &gnn_kind(), &kernel_kind(), &simple_kind()};
  return kinds;
}

}  // namespace

size_t FieldParams::count() const {
  size_t n = 0;
  for (const Mat& m : values) n += static_cast<size_t>(m.size());
  return n;
}

std::vector<std::string> field_kinds() {
  std::vector<std::string> out;
  for (const FieldKind* k : registry()) out.push_back(k->name());
  return out;
}

const FieldKind& field_kind(std::string_view name) {
  std::string known;
  for (const FieldKind* k : registry()) {
    if (k->name() == name) return *k;
    known += (known.empty() ? "" : ", ") + k->name();
  }
  throw InvalidInput("unknown velocity field '" + std::string(name) + "': use one of " + known);
}

FieldParams load_params(std::string kind, json::Value config, int dim,
                        const std::function<std::vector<float>(const std::string&, int, int)>& fetch) {
  FieldParams p;
  const FieldKind& k = field_kind(kind);
  p.kind = std::move(kind);
  p.config = k.configure(config);
  k.layout(p.config, dim, [&](const std::string& name, int rows, int cols) {
    const std::vector<float> v = fetch(name, rows, cols);
    p.names.push_back(name);
    p.values.push_back(
        Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(), rows, cols)
            .cast<double>());
  });
  return p;
}

}  // namespace enf::fields
