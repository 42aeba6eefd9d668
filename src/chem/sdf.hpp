// MDL SDF / MOL (V2000): writing with the bonds the QM9 rule assigns, and reading atoms and
// positions (bonds in a file are checked for shape but not used: the model infers its own).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "chem/bonds.hpp"

namespace enf::chem {

// Throws InvalidInput for a bond whose indices or order (1..3) do not fit, a pair bonded twice,
// more than 999 atoms or bonds, or coordinates that are not finite or do not fit the columns.
std::string to_sdf(const Molecule& m, const std::vector<Bond>& bonds, std::string_view title = "");

// One record of an SDF (or the one molecule of a MOL file).
struct SdfRecord {
  int index = 0;       // 0-based position in the file
  int line = 0;        // 1-based line where the record starts
  std::string title;   // the header's first line
  Molecule molecule;   // its atoms and positions (Å) when `error` is empty
  std::string error;   // why the record could not be read, e.g. "SDF record 2 (line 9), line 14: ..."
};

// Every record of an SDF, or a MOL file as one record. A record that cannot be read carries its
// error and the others are still read. Throws InvalidInput only when the text holds no record, or
// holds more than max_records of them.
std::vector<SdfRecord> parse_sdf(std::string_view text, int max_atoms = 29, int max_records = 1000000);

// Whether the text is a molfile / SDF (a V2000 or V3000 counts line as its 4th line) rather than XYZ.
bool looks_like_molfile(std::string_view text);

// One molecule from XYZ text (its first frame) or a one-record SDF / MOL file, told apart by content.
Molecule parse_molecule(std::string_view text, int max_atoms = 29);

}  // namespace enf::chem
