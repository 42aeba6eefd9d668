#include "chem/bonds.hpp"

#include <cmath>

#include "chem/elements.hpp"
#include "errors.hpp"

namespace enf::chem {

namespace {

// Bond lengths in pm, indexed by type (H, C, N, O, F); 0 = no such bond in the table.
constexpr int kSingle[5][5] = {
    {74, 109, 101, 96, 92}, {109, 154, 147, 143, 135}, {101, 147, 145, 140, 136}, {96, 143, 140, 148, 142},
    {92, 135, 136, 142, 142}};
constexpr int kDouble[5][5] = {
    {0, 0, 0, 0, 0}, {0, 134, 129, 120, 0}, {0, 129, 125, 121, 0}, {0, 120, 121, 121, 0}, {0, 0, 0, 0, 0}};
constexpr int kTriple[5][5] = {
    {0, 0, 0, 0, 0}, {0, 120, 116, 113, 0}, {0, 116, 110, 0, 0}, {0, 113, 0, 0, 0}, {0, 0, 0, 0, 0}};
constexpr int kMarginSingle = 10, kMarginDouble = 5, kMarginTriple = 3;

void check(const Molecule& m) {
  if (m.positions.size() != 3 * m.types.size())
    throw InvalidInput("positions hold " + std::to_string(m.positions.size()) + " numbers; " +
                       std::to_string(m.types.size()) + " atoms need " + std::to_string(3 * m.types.size()));
  for (int t : m.types) element(t);
  for (size_t k = 0; k < m.positions.size(); ++k)
    if (!std::isfinite(m.positions[k]))
      throw InvalidInput("atom " + std::to_string(k / 3) + " has a non-finite coordinate (NaN or Inf)");
}

}  // namespace

int bond_order(int a, int b, double distance) {
  element(a);
  element(b);
  if (!(distance >= 0)) throw InvalidInput("a distance between atoms must be >= 0, got " + std::to_string(distance));
  const double d = 100.0 * distance;  // pm, computed exactly as the reference does (boundaries matter)
  if (!(d < kSingle[a][b] + kMarginSingle)) return 0;
  if (!kDouble[a][b] || !(d < kDouble[a][b] + kMarginDouble)) return 1;
  if (!kTriple[a][b] || !(d < kTriple[a][b] + kMarginTriple)) return 2;
  return 3;
}

std::vector<Bond> bonds(const Molecule& m) {
  check(m);
  std::vector<Bond> out;
  const int n = m.size();
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      const double dx = m.positions[3 * i] - m.positions[3 * j];
      const double dy = m.positions[3 * i + 1] - m.positions[3 * j + 1];
      const double dz = m.positions[3 * i + 2] - m.positions[3 * j + 2];
      const int order = bond_order(m.types[i], m.types[j], std::sqrt(dx * dx + dy * dy + dz * dz));
      if (order > 0) out.push_back({i, j, order});
    }
  return out;
}

Stability stability(const Molecule& m) {
  std::vector<int> valence(m.size(), 0);
  for (const Bond& b : bonds(m)) {
    valence[b.i] += b.order;
    valence[b.j] += b.order;
  }
  Stability s;
  s.atom_stable.resize(m.size());
  for (int i = 0; i < m.size(); ++i) {
    s.atom_stable[i] = valence[i] == element(m.types[i]).valence;
    s.stable_atoms += s.atom_stable[i];
  }
  s.molecule_stable = m.size() > 0 && s.stable_atoms == m.size();
  return s;
}

}  // namespace enf::chem
