// The five elements of QM9, in the model's type order H, C, N, O, F.
#pragma once
#include <string>
#include <string_view>

namespace enf::chem {

struct Element {
  const char* symbol;
  int atomic_number;
  int valence;            // QM9 stability rule (../shared/docs/qm9_facts.json)
  double covalent_radius; // Angstrom
};

constexpr int kNumTypes = 5;
const Element& element(int type);           // throws InvalidInput for a type outside 0..4
int type_from_symbol(std::string_view sym);  // case-insensitive; throws InvalidInput naming it
int type_from_atomic_number(int z);          // throws InvalidInput naming it

}  // namespace enf::chem
