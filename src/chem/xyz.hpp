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

// One molecule: the first frame of the text. Element symbols or atomic numbers are accepted.
// Any further frames must be well formed too, so surplus atom lines are an error, not ignored.
Molecule parse_xyz(std::string_view text, int max_atoms = 29);
// Every frame of a multi-frame XYZ file.
std::vector<Molecule> parse_xyz_frames(std::string_view text, int max_atoms = 29);

// "symbol x y z" with 6 decimals; newlines in the comment become spaces. Validates m first.
std::string to_xyz(const Molecule& m, std::string_view comment = "");

}  // namespace enf::chem
