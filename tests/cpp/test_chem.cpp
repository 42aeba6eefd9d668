// Chemistry helpers on hand-checked molecules, XYZ/SDF round trips, malformed XYZ, and the
// stability rule over the QM9 test split.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "chem/bonds.hpp"
#include "chem/elements.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"
#include "models/safetensors.hpp"

using enf::chem::Molecule;

namespace {
constexpr int H = 0, C = 1, N = 2, O = 3;

Molecule methane() {
  const double d = 1.09 / std::sqrt(3.0);
  return {{C, H, H, H, H}, {0, 0, 0, d, d, d, -d, -d, d, -d, d, -d, d, -d, -d}};
}
Molecule water() { return {{O, H, H}, {0, 0, 0, 0.757, 0.586, 0, -0.757, 0.586, 0}}; }
// Ethylene C2H4 with C=C 1.33 A.
Molecule ethylene() {
  return {{C, C, H, H, H, H},
          {0.665, 0, 0, -0.665, 0, 0, 1.23, 0.92, 0, 1.23, -0.92, 0, -1.23, 0.92, 0, -1.23, -0.92, 0}};
}
// Hydrogen cyanide H-C#N: C-H 1.07, C#N 1.15.
Molecule hcn() { return {{H, C, N}, {-1.07, 0, 0, 0, 0, 0, 1.15, 0, 0}}; }
}  // namespace

TEST(Chem, BondOrdersOfHandCheckedMolecules) {
  EXPECT_EQ(enf::chem::bond_order(C, H, 1.09), 1);
  EXPECT_EQ(enf::chem::bond_order(C, C, 1.54), 1);
  EXPECT_EQ(enf::chem::bond_order(C, C, 1.33), 2);
  EXPECT_EQ(enf::chem::bond_order(C, C, 1.20), 3);
  EXPECT_EQ(enf::chem::bond_order(C, N, 1.15), 3);
  EXPECT_EQ(enf::chem::bond_order(H, H, 0.74), 1);
  EXPECT_EQ(enf::chem::bond_order(H, H, 2.0), 0);
  EXPECT_EQ(enf::chem::bond_order(H, C, 0.5), 1);  // H has no double-bond entry: at most single
  // Aromatic C-C at 1.39 A sits exactly on the double-bond cutoff (134 + 5 pm): the rule says single.
  EXPECT_EQ(enf::chem::bond_order(C, C, 1.39), 1);
  EXPECT_EQ(enf::chem::bond_order(C, C, 1.385), 2);
  EXPECT_THROW(enf::chem::bond_order(7, C, 1.0), enf::InvalidInput);
}

TEST(Chem, StabilityOfHandCheckedMolecules) {
  for (const auto& m : {methane(), water(), ethylene(), hcn()}) {
    const auto s = enf::chem::stability(m);
    EXPECT_TRUE(s.molecule_stable);
    EXPECT_EQ(s.stable_atoms, m.size());
  }
  // A lone carbon, and methane with one hydrogen pulled away, are unstable.
  EXPECT_FALSE(enf::chem::stability(Molecule{{C}, {0, 0, 0}}).molecule_stable);
  auto broken = methane();
  broken.positions[3] *= 3;
  const auto s = enf::chem::stability(broken);
  EXPECT_FALSE(s.molecule_stable);
  EXPECT_FALSE(s.atom_stable[0]);
  EXPECT_FALSE(s.atom_stable[1]);
  EXPECT_EQ(s.stable_atoms, 3);
  const auto b = enf::chem::bonds(ethylene());
  int doubles = 0;
  for (const auto& x : b) doubles += x.order == 2;
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(doubles, 1);
}

TEST(Chem, ElementsByNameAndNumber) {
  EXPECT_EQ(enf::chem::type_from_symbol(" c "), C);
  EXPECT_EQ(enf::chem::type_from_atomic_number(9), 4);
  try {
    enf::chem::type_from_symbol("Cl");
    FAIL();
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("unknown element 'Cl'"), std::string::npos);
  }
  EXPECT_THROW(enf::chem::type_from_atomic_number(17), enf::InvalidInput);
}

TEST(Xyz, RoundTripKeepsAtoms) {
  const auto m = ethylene();
  const auto back = enf::chem::parse_xyz(enf::chem::to_xyz(m, "ethylene\nsecond line"));
  EXPECT_EQ(back.types, m.types);
  for (size_t k = 0; k < m.positions.size(); ++k) EXPECT_NEAR(back.positions[k], m.positions[k], 1e-6);
  // CRLF, atomic numbers, trailing blank lines and extra columns are fine.
  const auto w = enf::chem::parse_xyz("3\r\nwater\r\n8 0 0 0\r\n1 0.757 0.586 0 extra\r\nH -0.757 0.586 0\r\n\r\n");
  EXPECT_EQ(w.types, (std::vector<int>{O, H, H}));
  const auto frames = enf::chem::parse_xyz_frames(enf::chem::to_xyz(water(), "a") + enf::chem::to_xyz(hcn(), "b"));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].types, hcn().types);
}

TEST(Xyz, MalformedInputNamesTheLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"x\n\nH 0 0 0\n", "line 1"},
      {"2.5\n\nH 0 0 0\n", "not an integer"},
      {"0\n\n", "at least 1"},
      {"30\n\n", "at most 29"},
      {"2\ncomment\nH 0 0 0\n", "line 4"},
      {"1\n\nH 0 0\n", "line 3"},
      {"1\n\nH 0 nan 0\n", "not finite"},
      {"1\n\nH 0 1e999 0\n", "not finite"},
      {"1\n\nH 0 abc 0\n", "not a number"},
      {"1\n\nCl 0 0 0\n", "unknown element 'Cl'"},
      {"1\n\n17 0 0 0\n", "atomic number 17"},
      {"1\n", "comment"},
  };
  for (const auto& [text, words] : cases) {
    try {
      enf::chem::parse_xyz(text);
      FAIL() << "accepted: " << text;
    } catch (const enf::InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << "input " << text << " -> " << e.what();
    }
  }
}

TEST(Sdf, WaterHasCountsAtomAndBondBlocks) {
  const auto m = water();
  const std::string sdf = enf::chem::to_sdf(m, enf::chem::bonds(m), "water");
  std::istringstream in(sdf);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_GE(lines.size(), 10u);
  EXPECT_EQ(lines[0], "water");
  EXPECT_EQ(lines[3].substr(0, 6), "  3  2");
  EXPECT_NE(lines[3].find("V2000"), std::string::npos);
  EXPECT_EQ(lines[4].substr(31, 1), "O");
  EXPECT_EQ(lines[7], "  1  2  1  0");
  EXPECT_EQ(lines[8], "  1  3  1  0");
  EXPECT_EQ(lines[9], "M  END");
  EXPECT_EQ(lines[10], "$$$$");
  EXPECT_THROW(enf::chem::to_sdf(m, {{0, 5, 1}}, ""), enf::InvalidInput);
  EXPECT_THROW(enf::chem::to_sdf(m, {{0, 1, 4}}, ""), enf::InvalidInput);
}

TEST(Chem, StabilityOfTheQm9TestSplit) {
  if (!std::filesystem::exists(ENF_QM9_TEST)) GTEST_SKIP() << "QM9 test split absent (../shared missing); skipping";
  const auto data = enf::SafeTensors::load_file(ENF_QM9_TEST);
  const auto n_atoms = data.ints("num_atoms");
  const auto charges = data.ints("charges");
  const auto shape = data.shape("positions");
  const auto pos = data.floats("positions", shape);
  const int width = static_cast<int>(shape[1]);
  long long atoms = 0, stable_atoms = 0, stable_molecules = 0;
  for (size_t k = 0; k < n_atoms.size(); ++k) {
    Molecule m;
    for (int i = 0; i < n_atoms[k]; ++i) {
      m.types.push_back(enf::chem::type_from_atomic_number(static_cast<int>(charges[k * width + i])));
      for (int d = 0; d < 3; ++d) m.positions.push_back(pos[(k * width + i) * 3 + d]);
    }
    const auto s = enf::chem::stability(m);
    atoms += m.size();
    stable_atoms += s.stable_atoms;
    stable_molecules += s.molecule_stable;
  }
  const double atom_frac = double(stable_atoms) / atoms, mol_frac = double(stable_molecules) / n_atoms.size();
  std::printf("QM9 test split: %zu molecules, atom stability %.4f, molecule stability %.4f\n", n_atoms.size(), atom_frac,
              mol_frac);
  EXPECT_EQ(n_atoms.size(), 13083u);
  EXPECT_GE(atom_frac, 0.985);
  EXPECT_GE(mol_frac, 0.93);
}
