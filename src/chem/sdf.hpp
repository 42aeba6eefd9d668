// MDL SDF (V2000 molfile + "$$$$") with the bonds the QM9 rule assigns.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "chem/bonds.hpp"

namespace enf::chem {

std::string to_sdf(const Molecule& m, const std::vector<Bond>& bonds, std::string_view title = "");

}  // namespace enf::chem
