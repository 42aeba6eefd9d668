// XYZ text: a count line, a comment line, then "symbol x y z" per atom (Angstrom). Parsing is
// strict about content (every error names its line) and lenient about whitespace and CRLF.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "chem/molecule.hpp"

namespace enf::chem {

// Checks sizes, 1..max_atoms atoms, known types and finite coordinates; throws InvalidInput.
void validate(const Molecule& m, int max_atoms);

// One molecule (the first frame of the text). Element symbols or atomic numbers are accepted.
Molecule parse_xyz(std::string_view text, int max_atoms = 29);
// Every frame of a multi-frame XYZ file.
std::vector<Molecule> parse_xyz_frames(std::string_view text, int max_atoms = 29);

std::string to_xyz(const Molecule& m, std::string_view comment = "");

}  // namespace enf::chem
