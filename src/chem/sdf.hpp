// MDL SDF (V2000 molfile + "$$$$") with the bonds the QM9 rule assigns.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "chem/bonds.hpp"

namespace enf::chem {

// Throws InvalidInput for a bond whose indices or order (1..3) do not fit, a pair bonded twice,
// more than 999 atoms or bonds, or coordinates that are not finite or do not fit the columns.
std::string to_sdf(const Molecule& m, const std::vector<Bond>& bonds, std::string_view title = "");

}  // namespace enf::chem
