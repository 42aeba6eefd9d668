// The SDF writer's input: a molecule (any types, any doubles, any sizes) and a bond list, either
// the one bonds() infers or an arbitrary one. Properties: invalid input raises InvalidInput and
// nothing else; valid input gives a V2000 block with one line per atom and per bond.
#include <cmath>
#include <string>
#include <vector>

#include "chem/bonds.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "common.hpp"
#include "errors.hpp"

namespace {

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

// The reader on arbitrary text: only InvalidInput may escape; every record either carries an error
// or a molecule the model accepts; records are numbered in order.
void read_any(const std::string& text) {
  try {
    const auto records = enf::chem::parse_sdf(text, 29, 1000);
    FUZZ_CHECK(!records.empty());
    for (size_t k = 0; k < records.size(); ++k) {
      const auto& r = records[k];
      FUZZ_CHECK(r.index == static_cast<int>(k));
      FUZZ_CHECK(k == 0 || r.line > records[k - 1].line);
      if (r.error.empty()) enf::chem::validate(r.molecule, 29);  // throws (a crash here) if not
      else FUZZ_CHECK(r.molecule.types.empty() && r.error.rfind("SDF record ", 0) == 0);
    }
  } catch (const enf::InvalidInput&) {
  }
  try {
    enf::chem::parse_molecule(text, 29);
  } catch (const enf::InvalidInput&) {
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  // Half the inputs: the reader on raw text.
  if (in.ConsumeBool()) {
    read_any(in.ConsumeRemainingBytesAsString());
    return 0;
  }
  enf::chem::Molecule m;
  const int atoms = in.ConsumeIntegralInRange<int>(0, 40);
  const bool valid_types = in.ConsumeBool();
  for (int i = 0; i < atoms; ++i)
    m.types.push_back(valid_types ? in.ConsumeIntegralInRange<int>(0, 4) : in.ConsumeIntegralInRange<int>(-2, 6));
  // Usually 3 per atom, sometimes a mismatched count.
  const int numbers = in.ConsumeBool() ? 3 * atoms : in.ConsumeIntegralInRange<int>(0, 3 * atoms + 3);
  const bool scaled = in.ConsumeBool();  // molecule-sized coordinates, so that bonds appear
  for (int k = 0; k < numbers; ++k)
    m.positions.push_back(scaled ? in.ConsumeFloatingPointInRange<double>(-3.0, 3.0) : fuzz::any_double(in));
  std::vector<enf::chem::Bond> bonds;
  const bool inferred = in.ConsumeBool();
  if (!inferred) {
    const int n = in.ConsumeIntegralInRange<int>(0, 50);
    for (int k = 0; k < n; ++k)
      bonds.push_back({in.ConsumeIntegralInRange<int>(-1, atoms), in.ConsumeIntegralInRange<int>(-1, atoms),
                       in.ConsumeIntegralInRange<int>(-1, 4)});
  }
  const std::string title = in.ConsumeRandomLengthString(100);
  try {
    if (inferred) bonds = enf::chem::bonds(m);
    const std::string sdf = enf::chem::to_sdf(m, bonds, title);
    // title, program, comment, counts, atoms, bonds, "M  END", "$$$$"
    FUZZ_CHECK(count_lines(sdf) == 4 + static_cast<size_t>(m.size()) + bonds.size() + 2);
    // What we write reads back: same atoms, positions to the file's 4 decimals.
    const auto back = enf::chem::parse_sdf(sdf, 1000);
    FUZZ_CHECK(back.size() == 1);
    if (m.size() > 0) {
      FUZZ_CHECK(back[0].error.empty());
      FUZZ_CHECK(back[0].molecule.types == m.types);
      for (size_t k = 0; k < m.positions.size(); ++k)
        FUZZ_CHECK(std::abs(back[0].molecule.positions[k] - m.positions[k]) <= 5.1e-5);
    }
    const auto s = enf::chem::stability(m);
    FUZZ_CHECK(s.stable_atoms >= 0 && s.stable_atoms <= m.size());
    FUZZ_CHECK(static_cast<int>(s.atom_stable.size()) == m.size());
  } catch (const enf::InvalidInput&) {
  }
  try {
    const std::string xyz = enf::chem::to_xyz(m, title);
    FUZZ_CHECK(enf::chem::parse_xyz(xyz, 100000).types == m.types);
  } catch (const enf::InvalidInput&) {
  }
  return 0;
}
