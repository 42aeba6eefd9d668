// Chemistry helpers on hand-checked molecules, XYZ/SDF round trips, malformed XYZ, and the
// stability rule over the QM9 test split.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>

#include "chem/bonds.hpp"
#include "chem/elements.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"
#include "models/safetensors.hpp"

using enf::chem::Molecule;

namespace {
constexpr int H = 0, C = 1, N = 2, O = 3, F = 4;

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
// Acetylene H-C#C-H: C#C 1.20, C-H 1.06.
Molecule acetylene() { return {{H, C, C, H}, {-1.66, 0, 0, -0.6, 0, 0, 0.6, 0, 0, 1.66, 0, 0}}; }
// Benzene: a regular hexagon of carbons with C-C = `cc` A, each H 1.09 A further out radially.
Molecule benzene(double cc) {
  Molecule m;
  for (int k = 0; k < 6; ++k) {
    const double a = k * M_PI / 3;
    m.types.push_back(C);
    m.positions.insert(m.positions.end(), {cc * std::cos(a), cc * std::sin(a), 0});  // hexagon radius = side
  }
  for (int k = 0; k < 6; ++k) {
    const double a = k * M_PI / 3, r = cc + 1.09;
    m.types.push_back(H);
    m.positions.insert(m.positions.end(), {r * std::cos(a), r * std::sin(a), 0});
  }
  return m;
}

int count_order(const std::vector<enf::chem::Bond>& bonds, int order) {
  int n = 0;
  for (const auto& b : bonds) n += b.order == order;
  return n;
}

void expect_invalid(const std::function<void()>& f, const std::string& words) {
  try {
    f();
    ADD_FAILURE() << "expected InvalidInput mentioning '" << words << "'";
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}
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
  EXPECT_THROW(enf::chem::bond_order(C, C, -1.0), enf::InvalidInput);
  EXPECT_THROW(enf::chem::bond_order(C, C, std::nan("")), enf::InvalidInput);
  EXPECT_EQ(enf::chem::bond_order(C, C, INFINITY), 0);
}

TEST(Chem, BondOrderFollowsTheTablesAndMargins) {
  // Cutoffs in pm: single + 10, double + 5, triple + 3, checked just inside and just outside.
  const struct {
    int a, b;
    double single, dbl, triple;  // 0: no entry in that table
  } pairs[] = {{H, H, 74, 0, 0},       {H, C, 109, 0, 0},     {C, C, 154, 134, 120}, {C, N, 147, 129, 116},
               {C, O, 143, 120, 113},  {N, N, 145, 125, 110}, {N, O, 140, 121, 0},   {O, O, 148, 121, 0},
               {C, F, 135, 0, 0},      {F, F, 142, 0, 0},     {O, H, 96, 0, 0}};
  const double eps = 1e-6;  // Angstrom
  for (const auto& p : pairs) {
    for (const auto& [a, b] : {std::pair{p.a, p.b}, std::pair{p.b, p.a}}) {  // the tables are symmetric
      EXPECT_EQ(enf::chem::bond_order(a, b, (p.single + 10) / 100 + eps), 0);
      const int above_double = p.dbl ? (p.dbl + 5) / 100 + eps < (p.single + 10) / 100 : 1;
      EXPECT_EQ(enf::chem::bond_order(a, b, (p.single + 10) / 100 - eps), above_double ? 1 : 2) << a << b;
      if (!p.dbl) {
        EXPECT_EQ(enf::chem::bond_order(a, b, 0.3), 1);  // pairs absent from the double table stay single
        continue;
      }
      EXPECT_EQ(enf::chem::bond_order(a, b, (p.dbl + 5) / 100 + eps), 1);
      EXPECT_EQ(enf::chem::bond_order(a, b, (p.dbl + 5) / 100 - eps), 2);
      EXPECT_EQ(enf::chem::bond_order(a, b, 0.3), p.triple ? 3 : 2);
      if (p.triple) {
        EXPECT_EQ(enf::chem::bond_order(a, b, (p.triple + 3) / 100 + eps), 2);
        EXPECT_EQ(enf::chem::bond_order(a, b, (p.triple + 3) / 100 - eps), 3);
      }
    }
  }
}

TEST(Chem, StabilityOfHandCheckedMolecules) {
  for (const auto& m : {methane(), water(), ethylene(), hcn(), acetylene()}) {
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
  EXPECT_EQ(count_order(enf::chem::bonds(acetylene()), 3), 1);
  EXPECT_EQ(count_order(enf::chem::bonds(hcn()), 3), 1);
}

TEST(Chem, BenzeneFollowsTheDistanceRuleNotAromaticity) {
  // 1.39 A is exactly the double-bond cutoff (134 + 5 pm), so in a ring built with sin/cos the
  // last bit of rounding decides each bond; the measured benzene C-C, 1.397 A, is clearly single.
  // Every carbon then has valence 3: the six hydrogens are stable, the carbons and molecule not.
  const auto ring = enf::chem::bonds(benzene(1.397));
  EXPECT_EQ(ring.size(), 12u);
  EXPECT_EQ(count_order(ring, 1), 12);
  const auto s = enf::chem::stability(benzene(1.397));
  EXPECT_EQ(s.stable_atoms, 6);
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(s.atom_stable[i]);
  for (int i = 6; i < 12; ++i) EXPECT_TRUE(s.atom_stable[i]);
  EXPECT_FALSE(s.molecule_stable);
  // A slightly shorter ring makes every C-C double: carbons then have valence 2 + 2 + 1 = 5.
  const auto short_ring = enf::chem::bonds(benzene(1.385));
  EXPECT_EQ(count_order(short_ring, 2), 6);
  EXPECT_EQ(enf::chem::stability(benzene(1.385)).stable_atoms, 6);
}

TEST(Chem, BondsRejectUnusableMolecules) {
  expect_invalid([] { enf::chem::bonds(Molecule{{C, H}, {0, 0, 0}}); }, "positions hold 3 numbers");
  expect_invalid([] { enf::chem::bonds(Molecule{{C, 9}, {0, 0, 0, 1, 0, 0}}); }, "outside 0..4");
  expect_invalid([] { enf::chem::stability(Molecule{{C, H}, {0, 0, 0, 1, std::nan(""), 0}}); }, "atom 1");
  EXPECT_TRUE(enf::chem::bonds(Molecule{{C}, {0, 0, 0}}).empty());
}

TEST(Chem, ElementsByNameAndNumber) {
  EXPECT_EQ(enf::chem::type_from_symbol(" c "), C);
  EXPECT_EQ(enf::chem::type_from_symbol("\tF\r\n"), F);
  EXPECT_EQ(enf::chem::type_from_atomic_number(9), F);
  const int numbers[] = {1, 6, 7, 8, 9}, valences[] = {1, 4, 3, 2, 1};
  const char* symbols[] = {"H", "C", "N", "O", "F"};
  for (int t = 0; t < enf::chem::kNumTypes; ++t) {
    EXPECT_EQ(enf::chem::element(t).atomic_number, numbers[t]);
    EXPECT_EQ(enf::chem::element(t).valence, valences[t]);
    EXPECT_EQ(enf::chem::type_from_symbol(symbols[t]), t);
    EXPECT_EQ(enf::chem::type_from_atomic_number(numbers[t]), t);
  }
  EXPECT_THROW(enf::chem::element(5), enf::InvalidInput);
  EXPECT_THROW(enf::chem::type_from_symbol(""), enf::InvalidInput);
  EXPECT_THROW(enf::chem::type_from_symbol("He"), enf::InvalidInput);
  EXPECT_THROW(enf::chem::type_from_atomic_number(0), enf::InvalidInput);
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
  // Values far from the molecule's scale still round-trip, and a bad molecule is not written.
  Molecule far{{H}, {1e8, -123456.125, 0}};
  EXPECT_EQ(enf::chem::parse_xyz(enf::chem::to_xyz(far)).positions, far.positions);
  expect_invalid([] { enf::chem::to_xyz(Molecule{{H}, {0, NAN, 0}}); }, "non-finite");
  expect_invalid([] { enf::chem::to_xyz(Molecule{{H, 7}, {0, 0, 0, 1, 1, 1}}); }, "outside 0..4");
}

TEST(Xyz, ValidateChecksEveryField) {
  EXPECT_NO_THROW(enf::chem::validate(water(), 29));
  expect_invalid([] { enf::chem::validate(Molecule{}, 29); }, "no atoms");
  expect_invalid([] { enf::chem::validate(water(), 2); }, "at most 2");
  expect_invalid([] { enf::chem::validate(Molecule{{O, H}, {0, 0, 0}}, 29); }, "need 6");
  expect_invalid([] { enf::chem::validate(Molecule{{-1}, {0, 0, 0}}, 29); }, "outside 0..4");
  expect_invalid([] { enf::chem::validate(Molecule{{H}, {0, INFINITY, 0}}, 29); }, "non-finite");
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
      {"1e400\n\n", "not finite"},
      {"1000000000000\n\n", "the file has 1000000000000 atoms"},
      {"2\n\nH 0 0 0\n\nH 1 0 0\n", "line 4: expected 2 atom lines after line 2, found 1"},
      {"2\n\nH 0 0 0\nH 1 0 0\nH 0 1 0\n", "line 5: more atom lines than the count on line 1 announces (2)"},
      {"1\n\nH 0 0 0\nextra words\n", "line 4: expected the atom count alone"},
      {"1\n\nH 0x1p3 0 0\n", "'0x1p3' is not a number"},
      {"1\n\nH 0 0 -inf\n", "line 3: the coordinate is not finite"},
      {"1\n\n1.5 0 0 0\n", "not an integer"},
      {"1\n\n1e300 0 0 0\n", "atomic number 1e300"},
      {"1\n\nH 0 0 0\n1\n\nX 0 0 0\n", "line 6: unknown element 'X'"},
      {"1 2\n\nH 0 0 0\n", "line 1: expected the atom count alone"},
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
  EXPECT_THROW(enf::chem::to_sdf(m, {{1, 1, 1}}, ""), enf::InvalidInput);
  EXPECT_THROW(enf::chem::to_sdf(m, {{-1, 1, 1}}, ""), enf::InvalidInput);
  expect_invalid([&] { enf::chem::to_sdf(m, {{0, 1, 1}, {1, 0, 2}}, ""); }, "bonded twice");
  expect_invalid([] { enf::chem::to_sdf(Molecule{{H}, {12345.0, 0, 0}}, {}, ""); }, "cannot hold");
  expect_invalid([] { enf::chem::to_sdf(Molecule{{H}, {NAN, 0, 0}}, {}, ""); }, "cannot hold");
  expect_invalid([] { enf::chem::to_sdf(Molecule{{H}, {0, 0}}, {}, ""); }, "disagree");
  Molecule big;
  big.types.assign(1000, H);
  big.positions.assign(3000, 0.0);
  expect_invalid([&] { enf::chem::to_sdf(big, {}, ""); }, "999");
}

TEST(Sdf, FixedWidthBlocksHoldEveryAtomAndBond) {
  // Ethylene: atom lines are 69 characters with the coordinates in 10-wide columns, bond lines
  // carry the orders the rule assigns (one double, four singles), and a long title is cut to 80.
  const auto m = ethylene();
  const auto b = enf::chem::bonds(m);
  std::istringstream in(enf::chem::to_sdf(m, b, std::string(100, 't') + "\nsecond"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4 + 6 + 5 + 2u);
  EXPECT_EQ(lines[0], std::string(80, 't'));
  EXPECT_EQ(lines[3].substr(0, 6), "  6  5");
  EXPECT_EQ(lines[3].size(), 39u);
  for (int i = 0; i < 6; ++i) {
    const std::string& a = lines[4 + i];
    EXPECT_EQ(a.size(), 69u) << a;
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(std::stod(a.substr(10 * d, 10)), m.positions[3 * i + d], 5e-5);
    EXPECT_EQ(a.substr(31, 3), i < 2 ? "C  " : "H  ");
  }
  int doubles = 0;
  for (int k = 0; k < 5; ++k) {
    const std::string& l = lines[10 + k];
    EXPECT_EQ(l.size(), 12u);
    EXPECT_EQ(std::stoi(l.substr(0, 3)), b[k].i + 1);
    EXPECT_EQ(std::stoi(l.substr(3, 3)), b[k].j + 1);
    doubles += std::stoi(l.substr(6, 3)) == 2;
  }
  EXPECT_EQ(doubles, 1);
  EXPECT_EQ(lines[15], "M  END");
  EXPECT_EQ(lines[16], "$$$$");
}

// Reading SDF / MOL: our own output reads back (to the file's 4 decimals), records with errors
// name their record and line while the others still read, and foreign layouts are accepted.
TEST(SdfRead, RoundTripOfEveryRecord) {
  const std::vector<Molecule> ms = {water(), methane(), ethylene(), hcn(), benzene(1.39)};
  std::string sdf;
  for (size_t k = 0; k < ms.size(); ++k) sdf += enf::chem::to_sdf(ms[k], enf::chem::bonds(ms[k]), "mol " + std::to_string(k));
  const auto records = enf::chem::parse_sdf(sdf);
  ASSERT_EQ(records.size(), ms.size());
  for (size_t k = 0; k < ms.size(); ++k) {
    EXPECT_EQ(records[k].error, "");
    EXPECT_EQ(records[k].index, static_cast<int>(k));
    EXPECT_EQ(records[k].title, "mol " + std::to_string(k));
    EXPECT_EQ(records[k].molecule.types, ms[k].types);
    ASSERT_EQ(records[k].molecule.positions.size(), ms[k].positions.size());
    for (size_t i = 0; i < ms[k].positions.size(); ++i) EXPECT_NEAR(records[k].molecule.positions[i], ms[k].positions[i], 5e-5);
  }
  EXPECT_EQ(records[1].line, 1 + 11);  // water's record is 11 lines: 4 header, 3 atoms, 2 bonds, M  END, $$$$
  // A MOL file (no "$$$$") and CRLF line ends.
  std::string mol = enf::chem::to_sdf(water(), {}, "w");
  mol = mol.substr(0, mol.find("$$$$"));
  std::string crlf;
  for (char c : mol) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  for (const std::string& text : {mol, crlf}) {
    const Molecule m = enf::chem::parse_molecule(text);
    EXPECT_EQ(m.types, water().types);
  }
  EXPECT_TRUE(enf::chem::looks_like_molfile(mol));
  // Blank titles are common: the record still starts on its first line. A title "$$$$" is escaped.
  const auto blank_titles = enf::chem::parse_sdf(enf::chem::to_sdf(water(), {}, "") + enf::chem::to_sdf(hcn(), {}, "  ") + "\n\n");
  ASSERT_EQ(blank_titles.size(), 2u);
  EXPECT_EQ(blank_titles[0].error, "");
  EXPECT_EQ(blank_titles[1].molecule.types, hcn().types);
  const auto dollar = enf::chem::parse_sdf(enf::chem::to_sdf(water(), {}, " $$$$ "));
  ASSERT_EQ(dollar.size(), 1u);
  EXPECT_EQ(dollar[0].error, "");
  EXPECT_FALSE(enf::chem::looks_like_molfile(enf::chem::to_xyz(water(), "x")));
  EXPECT_EQ(enf::chem::parse_molecule(enf::chem::to_xyz(water(), "x")).types, water().types);
}

TEST(SdfRead, BadRecordsNameTheirLineAndTheRestStillRead) {
  const std::string good = enf::chem::to_sdf(water(), {}, "good");
  // Record 2 (from line 10: records are 9 lines here): an unknown element on its 5th line, line 14.
  std::string bad = good;
  bad.replace(bad.find(" O  "), 4, " Cl ");
  // Record 3: cut after two of its three atoms.
  std::string cut = good.substr(0, good.find("\n", good.find("\n", good.find("V2000") + 1) + 1) + 1);
  cut = cut.substr(0, cut.rfind('\n', cut.size() - 2) + 1);
  const std::string text = good + bad + cut + "$$$$\n" + good;
  const auto r = enf::chem::parse_sdf(text);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].error, "");
  EXPECT_NE(r[1].error.find("SDF record 2 (line 10), line 14: unknown element 'Cl'"), std::string::npos) << r[1].error;
  EXPECT_NE(r[2].error.find("SDF record 3"), std::string::npos) << r[2].error;
  EXPECT_NE(r[2].error.find("expected 3 atom lines"), std::string::npos) << r[2].error;
  EXPECT_EQ(r[3].error, "") << r[3].error;
  EXPECT_EQ(r[3].title, "good");
  expect_invalid([&] { enf::chem::parse_molecule(good + good); }, "more than one molecule");
  expect_invalid([&] { enf::chem::parse_molecule(bad); }, "unknown element 'Cl'");
  expect_invalid([] { enf::chem::parse_sdf("\n\n  \n"); }, "empty");
  // Too many atoms, V3000, NaN coordinates, a counts line that is not one.
  std::string many = "big\n\n\n 30  0  0  0  0  0  0  0  0  0999 V2000\n";
  expect_invalid([&] { enf::chem::parse_molecule(many); }, "this model allows at most 29");
  expect_invalid([] { enf::chem::parse_molecule("v3\n\n\n  0  0  0     0  0            999 V3000\n"); }, "V3000");
  std::string nan = good;
  nan.replace(nan.find("    0.0000    0.0000    0.0000"), 10, "       nan");
  expect_invalid([&] { enf::chem::parse_molecule(nan); }, "not finite");
  expect_invalid([] { enf::chem::parse_molecule("t\n\n\n  x  y  0  0  0  0  0  0  0  0999 V2000\n"); }, "is not a count");
}

TEST(SdfRead, LooseColumnsAndDataItems) {
  // A writer that does not keep the V2000 columns, with properties and data items after M  END.
  const std::string text =
      "methanol\n  other-tool\n\n2 1 0 0 0 0 0 0 0 0999 V2000\n"
      "  -0.7 0.01 0.0 C 0 0\n 0.72 -0.02 0.003 O 0 0\n1 2 1 0\nM  CHG  1   2   0\nM  END\n> <name>\nmethanol\n\n$$$$\n";
  const auto r = enf::chem::parse_sdf(text);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].error, "");
  EXPECT_EQ(r[0].molecule.types, (std::vector<int>{C, O}));
  EXPECT_DOUBLE_EQ(r[0].molecule.positions[3], 0.72);
  EXPECT_DOUBLE_EQ(r[0].molecule.positions[5], 0.003);
}

TEST(Chem, StabilityOfTheQm9TestSplit) {
  if (!std::filesystem::exists(ENF_QM9_TEST))
    GTEST_SKIP() << "QM9 test split absent (" << ENF_QM9_TEST
                 << "): ../shared beside the checkout is missing, so qm9_test.npz was not converted";
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
