#include "chem/sdf.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "chem/elements.hpp"
#include "errors.hpp"

namespace enf::chem {

namespace {
// "%10.4f" stays 10 characters wide up to -9999.9999; wider numbers would shift the columns.
constexpr double kMaxCoordinate = 9999.0;
}  // namespace

std::string to_sdf(const Molecule& m, const std::vector<Bond>& bonds, std::string_view title) {
  // V2000 counts are three-digit fields.
  if (m.size() > 999 || bonds.size() > 999) throw InvalidInput("SDF V2000 holds at most 999 atoms and 999 bonds");
  if (m.positions.size() != 3 * m.types.size()) throw InvalidInput("positions and types disagree in length");
  std::string t(title.substr(0, 80));
  for (char& ch : t)
    if (ch == '\n' || ch == '\r') ch = ' ';
  std::string out = t + "\n  enf-wasm\n\n";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%3d%3d  0  0  0  0  0  0  0  0999 V2000\n", m.size(), static_cast<int>(bonds.size()));
  out += buf;
  for (int i = 0; i < m.size(); ++i) {
    const double x = m.positions[3 * i], y = m.positions[3 * i + 1], z = m.positions[3 * i + 2];
    const auto fits = [](double v) { return std::abs(v) <= kMaxCoordinate; };  // false for NaN
    if (!fits(x) || !fits(y) || !fits(z))
      throw InvalidInput("atom " + std::to_string(i) + " has coordinates an SDF file cannot hold (NaN, Inf or beyond " +
                         std::to_string(static_cast<int>(kMaxCoordinate)) + " Å)");
    std::snprintf(buf, sizeof buf, "%10.4f%10.4f%10.4f %-3s 0  0  0  0  0  0  0  0  0  0  0  0\n", x, y, z,
                  element(m.types[i]).symbol);
    out += buf;
  }
  std::vector<std::pair<int, int>> pairs;
  for (const Bond& b : bonds) {
    if (b.i < 0 || b.j < 0 || b.i >= m.size() || b.j >= m.size() || b.i == b.j || b.order < 1 || b.order > 3)
      throw InvalidInput("bond (" + std::to_string(b.i) + ", " + std::to_string(b.j) + ", order " +
                         std::to_string(b.order) + ") does not fit the molecule");
    pairs.emplace_back(std::min(b.i, b.j), std::max(b.i, b.j));
  }
  std::sort(pairs.begin(), pairs.end());
  const auto dup = std::adjacent_find(pairs.begin(), pairs.end());
  if (dup != pairs.end())
    throw InvalidInput("atoms " + std::to_string(dup->first) + " and " + std::to_string(dup->second) +
                       " are bonded twice");
  for (const Bond& b : bonds) {
    std::snprintf(buf, sizeof buf, "%3d%3d%3d  0\n", b.i + 1, b.j + 1, b.order);
    out += buf;
  }
  return out + "M  END\n$$$$\n";
}

}  // namespace enf::chem
