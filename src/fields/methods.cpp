#include "fields/methods.hpp"

#include <cmath>

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

std::vector<int> paper_table1_sizes(const std::string& system) {
  if (system == "dw4") return {100, 1000, 10000, 100000};
  if (system == "lj13") return {10, 100, 1000, 10000};
  return {};
}

double paper_table1(const std::string& method, const std::string& system, int n) {
  struct Row {
    const char* method;
    double dw4[4], lj13[4];
  };
  static const Row rows[] = {
      {"GNF", {11.93, 11.31, 10.38, 7.95}, {43.56, 42.84, 37.17, 36.49}},
      {"GNF-att", {11.65, 11.13, 9.34, 7.83}, {43.32, 36.22, 33.84, 32.65}},
      {"GNF-att-aug", {8.81, 8.31, 7.90, 7.61}, {41.09, 31.50, 30.74, 30.93}},
      {"Simple dynamics", {9.58, 9.51, 9.53, 9.47}, {33.67, 33.10, 32.79, 32.99}},
      {"Kernel dynamics", {8.74, 8.67, 8.42, 8.26}, {35.03, 31.49, 31.17, 31.25}},
      {"E-NF", {8.31, 8.15, 7.69, 7.48}, {33.12, 30.99, 30.56, 30.41}},
  };
  const std::vector<int> sizes = paper_table1_sizes(system);
  for (const Row& r : rows)
    if (method == r.method)
      for (size_t k = 0; k < sizes.size(); ++k)
        if (sizes[k] == n) return system == "dw4" ? r.dw4[k] : r.lj13[k];
  return NAN;
}

}  // namespace enf::fields
