// Bond orders from interatomic distances and the QM9 stability rule, exactly as
// ../shared/docs/qm9_facts.json states them (the rule the paper's stability figures use).
#pragma once
#include <vector>

#include "chem/molecule.hpp"

namespace enf::chem {

struct Bond {
  int i = 0, j = 0;  // i < j
  int order = 0;     // 1, 2 or 3
};

// 0 (no bond), 1, 2 or 3 for two atom types at a distance in Angstrom. Throws InvalidInput for
// a type outside 0..4 or a negative or NaN distance.
int bond_order(int type_a, int type_b, double distance);

// All bonded pairs, i < j. Throws InvalidInput for mismatched sizes, bad types or non-finite
// coordinates.
std::vector<Bond> bonds(const Molecule& m);

struct Stability {
  std::vector<bool> atom_stable;  // sum of bond orders == valence
  int stable_atoms = 0;
  bool molecule_stable = false;   // every atom stable
};
Stability stability(const Molecule& m);

}  // namespace enf::chem
