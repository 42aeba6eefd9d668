// XYZ text from a file or a JS string: parse_xyz_frames, then what the helpers do with a parsed
// molecule (write XYZ and SDF, infer bonds). Properties: a parsed molecule is valid, and writing
// then reading it gives the same atoms (positions to the 6 decimals written).
#include <string>
#include <string_view>

#include "chem/bonds.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "common.hpp"
#include "errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The model's limit and the helpers' (the size of the input bounds the atoms either way).
  for (const int max_atoms : {29, 100000}) {
    std::vector<enf::chem::Molecule> frames;
    try {
      frames = enf::chem::parse_xyz_frames(text, max_atoms);
    } catch (const enf::InvalidInput&) {
      continue;
    }
    FUZZ_CHECK(!frames.empty());
    for (const auto& m : frames) {
      enf::chem::validate(m, max_atoms);  // must not throw: the parser returned it
      const std::string written = enf::chem::to_xyz(m, "fuzz\ncomment");
      const enf::chem::Molecule back = enf::chem::parse_xyz(written, max_atoms);
      FUZZ_CHECK(back.types == m.types);
      FUZZ_CHECK(back.positions.size() == m.positions.size());
      for (size_t k = 0; k < m.positions.size(); ++k)
        FUZZ_CHECK(std::abs(back.positions[k] - m.positions[k]) <= 1e-6 + 1e-15 * std::abs(m.positions[k]));
      const auto bonds = enf::chem::bonds(m);
      for (const auto& b : bonds) FUZZ_CHECK(b.i >= 0 && b.i < b.j && b.j < m.size() && b.order >= 1 && b.order <= 3);
      try {
        const std::string sdf = enf::chem::to_sdf(m, bonds, "fuzz");
        FUZZ_CHECK(sdf.size() >= 6 && sdf.compare(sdf.size() - 5, 5, "$$$$\n") == 0);
      } catch (const enf::InvalidInput&) {
        // coordinates beyond the SDF columns, or more than 999 atoms or bonds
      }
    }
  }
  return 0;
}
