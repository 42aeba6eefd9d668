// The paper's Table 1 rows as named methods: which field each trains, with which settings, and
// whether its training data are augmented. A method name travels with exported weights
// (metadata "method"), so GNF-att-aug stays distinguishable from GNF-att, whose field it shares.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "fields/field.hpp"

namespace enf::fields {

struct Method {
  std::string name;      // "E-NF", "GNF", "GNF-att", "GNF-att-aug", "Simple dynamics", "Kernel dynamics"
  std::string field;     // the field kind it trains
  json::Value settings;  // the kind's settings for the system
  bool augment = false;  // train on data under a fresh random orthogonal map per sample and step
  bool equivariant = true;
  double lr = 1e-3;      // the authors' learning rate for it (their README: 5e-4 for E-NF, else 1e-3)
};

// The six rows, in the paper's order.
const std::vector<std::string>& method_names();
// The method `name` for particles of `system` (Kernel dynamics places its kernels for LJ13 when
// the system's name starts with "lj13", else for DW4, as the reference); InvalidInput listing the
// names otherwise.
Method method(std::string_view name, const std::string& system);
// The method that trains parameters like `p` when nothing else says (files written before methods:
// egnn is E-NF, gnn GNF or GNF-att, kernel and simple their dynamics).
std::string default_method(const FieldParams& p);
// Throws InvalidInput when `name` does not train a field like `p`.
void check_method(const std::string& name, const FieldParams& p);

// The paper's Table 1: test NLL (nats, mean of 3 runs) of `method` on "dw4" (n = 10^2..10^5) or
// "lj13" (n = 10..10^4); NaN where it has no entry.
double paper_table1(const std::string& method, const std::string& system, int n_train);
// The training-set sizes of its columns for `system` (empty for other systems).
std::vector<int> paper_table1_sizes(const std::string& system);

}  // namespace enf::fields
