#include "fields/methods.hpp"

#include "errors.hpp"

namespace enf::fields {

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names{"E-NF", "GNF", "GNF-att", "GNF-att-aug", "Simple dynamics", "Kernel dynamics"};
  return names;
}

Method method(std::string_view name, const std::string& system) {
  using json::Value;
  if (name == "E-NF") return {"E-NF", "egnn", Value::object({}), false, true, 5e-4};
  if (name == "GNF") return {"GNF", "gnn", Value::object({{"attention", Value::boolean(false)}}), false, false};
  if (name == "GNF-att") return {"GNF-att", "gnn", Value::object({{"attention", Value::boolean(true)}}), false, false};
  if (name == "GNF-att-aug")
    return {"GNF-att-aug", "gnn", Value::object({{"attention", Value::boolean(true)}}), true, false};
  if (name == "Simple dynamics") return {"Simple dynamics", "simple", Value::object({}), false, true};
  if (name == "Kernel dynamics") {
    const bool lj13 = system.rfind("lj13", 0) == 0;
    return {"Kernel dynamics", "kernel", Value::object({{"preset", Value::string(lj13 ? "lj13" : "dw4")}}), false, true};
  }
  std::string known;
  for (const std::string& n : method_names()) known += (known.empty() ? "" : ", ") + n;
  throw InvalidInput("unknown method '" + std::string(name) + "': use one of " + known);
}

std::string default_method(const FieldParams& p) {
  if (p.kind == "gnn") return p.config.has("attention") && p.config.at("attention").as_bool() ? "GNF-att" : "GNF";
  if (p.kind == "kernel") return "Kernel dynamics";
  if (p.kind == "simple") return "Simple dynamics";
  return "E-NF";
}

void check_method(const std::string& name, const FieldParams& p) {
  const Method m = method(name, "");
  const std::string natural = default_method(p);
  const bool ok = m.field == p.kind && (p.kind != "gnn" || natural == (name == "GNF-att-aug" ? "GNF-att" : name));
  if (!ok) throw InvalidInput("method '" + name + "' does not train a '" + p.kind + "' field like these parameters ('" + natural + "')");
}

}  // namespace enf::fields
