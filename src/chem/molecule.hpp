// A molecule as the library exchanges it: atom types (index into H, C, N, O, F) and positions in Å.
#pragma once
#include <vector>

namespace enf::chem {

struct Molecule {
  std::vector<int> types;        // 0..4 = H, C, N, O, F
  std::vector<double> positions; // M*3, row-major, Å
  int size() const { return static_cast<int>(types.size()); }
};

}  // namespace enf::chem
