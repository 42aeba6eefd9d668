#include "chem/sdf.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "chem/elements.hpp"
#include "chem/text.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"

namespace enf::chem {

namespace {
// "%10.4f" stays 10 characters wide up to -9999.9999; wider numbers would shift the columns.
constexpr double kMaxCoordinate = 9999.0;

struct RecordError {
  std::string message;
  bool at_end = false;  // the line that ended the record ("$$$$") was read
};

bool is_end(std::string_view line) { return text::trim(line) == "$$$$"; }

// A V2000 field: fixed columns first (the standard), whitespace-separated fields as a fallback for
// writers that do not keep the columns.
std::string_view column(std::string_view line, size_t start, size_t width) {
  if (start >= line.size()) return {};
  return text::trim(line.substr(start, width));
}

int count_field(std::string_view f, const char* what, int line) {
  double v = 0;
  const std::string e = text::parse_decimal(f, what, v);
  if (!e.empty() || v != std::floor(v) || v < 0)
    throw RecordError{"line " + std::to_string(line) + ": the counts line's " + what + " '" + std::string(f) +
                      "' is not a count"};
  return v > 1e6 ? 1000000 : static_cast<int>(v);
}

// Reads one record from `lines` (positioned at its first line, which has been read into `first`).
// Stops after its "$$$$" line or at the end of the text; throws RecordError on bad content, after
// which the caller skips to the next "$$$$".
void read_record(text::Lines& lines, std::string_view first, int max_atoms, SdfRecord& r) {
  r.title = std::string(first.substr(0, 200));
  std::string_view line;
  const auto need = [&](const char* what) {
    const bool got = lines.next(line);
    if (!got || is_end(line))
      throw RecordError{"line " + std::to_string(lines.number) + ": the record ends before " + what, got};
  };
  need("its program line (line 2 of the header)");
  need("its comment line (line 3 of the header)");
  need("its counts line (line 4 of the header)");
  const int counts_line = lines.number;
  if (line.find("V3000") != std::string_view::npos)
    throw RecordError{"line " + std::to_string(counts_line) +
                      ": V3000 molfiles are not supported; save the molecule as V2000 (the usual format for molecules of this size)"};
  int atoms = 0, bonds = 0;
  {
    const auto a = column(line, 0, 3), b = column(line, 3, 3);
    double tmp = 0;
    if (!a.empty() && !b.empty() && text::parse_decimal(a, "atom count", tmp).empty() &&
        text::parse_decimal(b, "bond count", tmp).empty()) {
      atoms = count_field(a, "atom count", counts_line);
      bonds = count_field(b, "bond count", counts_line);
    } else {
      const auto f = text::fields(line);
      if (f.size() < 2)
        throw RecordError{"line " + std::to_string(counts_line) + ": expected the counts line (atoms, bonds, ..., V2000)"};
      atoms = count_field(f[0], "atom count", counts_line);
      bonds = count_field(f[1], "bond count", counts_line);
    }
  }
  if (atoms < 1) throw RecordError{"line " + std::to_string(counts_line) + ": the molecule has no atoms"};
  if (atoms > max_atoms)
    throw RecordError{"line " + std::to_string(counts_line) + ": the molecule has " + std::to_string(atoms) +
                      " atoms; this model allows at most " + std::to_string(max_atoms)};
  r.molecule.types.clear();
  r.molecule.positions.clear();
  for (int i = 0; i < atoms; ++i) {
    const bool got = lines.next(line);
    if (!got || is_end(line) || text::trim(line).rfind("M  ", 0) == 0)
      throw RecordError{"line " + std::to_string(lines.number) + ": expected " + std::to_string(atoms) +
                            " atom lines after the counts line, found " + std::to_string(i),
                        got && is_end(line)};
    std::string_view xs = column(line, 0, 10), ys = column(line, 10, 10), zs = column(line, 20, 10),
                     sym = column(line, 31, 3);
    double xyz[3] = {0, 0, 0};
    bool fixed = !sym.empty() && sym.find(' ') == std::string_view::npos;
    for (int d = 0; d < 3 && fixed; ++d) fixed = text::parse_decimal(d == 0 ? xs : d == 1 ? ys : zs, "coordinate", xyz[d]).empty();
    if (!fixed) {
      const auto f = text::fields(line);
      if (f.size() < 4)
        throw RecordError{"line " + std::to_string(lines.number) + ": expected an atom line 'x y z element ...'"};
      for (int d = 0; d < 3; ++d) {
        const std::string e = text::parse_decimal(f[d], "coordinate", xyz[d]);
        if (!e.empty()) throw RecordError{"line " + std::to_string(lines.number) + ": " + e};
      }
      sym = f[3];
    }
    int type = 0;
    try {
      type = type_from_symbol(sym);
    } catch (const InvalidInput& e) {
      throw RecordError{"line " + std::to_string(lines.number) + ": " + e.what()};
    }
    r.molecule.types.push_back(type);
    for (double v : xyz) r.molecule.positions.push_back(v);
  }
  // The bond block must be there (a cut file is an error), but the model infers bonds itself.
  for (int k = 0; k < bonds; ++k) {
    const bool got = lines.next(line);
    if (!got || is_end(line))
      throw RecordError{"line " + std::to_string(lines.number) + ": expected " + std::to_string(bonds) +
                            " bond lines after the atoms, found " + std::to_string(k),
                        got};
    const auto f = text::fields(line);
    if (f.size() < 3) throw RecordError{"line " + std::to_string(lines.number) + ": expected a bond line 'i j order'"};
  }
  // Properties and data items up to "$$$$" or the end.
  while (lines.next(line))
    if (is_end(line)) return;
}
}  // namespace

std::string to_sdf(const Molecule& m, const std::vector<Bond>& bonds, std::string_view title) {
  // V2000 counts are three-digit fields.
  if (m.size() > 999 || bonds.size() > 999) throw InvalidInput("SDF V2000 holds at most 999 atoms and 999 bonds");
  if (m.positions.size() != 3 * m.types.size()) throw InvalidInput("positions and types disagree in length");
  std::string t(title.substr(0, 80));
  for (char& ch : t)
    if (ch == '\n' || ch == '\r') ch = ' ';
  // A title line reading "$$$$" would end the record it starts.
  if (text::trim(t) == "$$$$") t = "title " + t;
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

std::vector<SdfRecord> parse_sdf(std::string_view input, int max_atoms, int max_records) {
  text::Lines lines{input};
  std::vector<SdfRecord> out;
  std::string_view first;
  // A record starts on the line after "$$$$" even when that line (its title) is blank, as titles
  // often are; only blank text after the last record is not a record.
  while (!text::blank(input.substr(std::min(lines.pos, input.size()))) && lines.next(first)) {
    if (static_cast<int>(out.size()) >= max_records)
      throw InvalidInput("the SDF holds more than " + std::to_string(max_records) + " records");
    SdfRecord r;
    r.index = static_cast<int>(out.size());
    r.line = lines.number;
    if (is_end(first)) {
      r.error = "SDF record " + std::to_string(r.index + 1) + " (line " + std::to_string(r.line) + ") is empty";
      out.push_back(std::move(r));
      continue;
    }
    try {
      read_record(lines, first, max_atoms, r);
    } catch (const RecordError& e) {
      r.error = "SDF record " + std::to_string(r.index + 1) + " (line " + std::to_string(r.line) + "), " + e.message;
      r.molecule = {};
      // Skip the rest of this record, unless the error was its early "$$$$".
      std::string_view rest;
      if (!e.at_end)
        while (lines.next(rest))
          if (text::trim(rest) == "$$$$") break;
    }
    out.push_back(std::move(r));
  }
  if (out.empty())
    throw InvalidInput("the SDF / MOL text is empty: expected a molecule (title, program and comment lines, then the counts line)");
  return out;
}

bool looks_like_molfile(std::string_view input) {
  text::Lines lines{input};
  std::string_view line;
  for (int k = 0; k < 4; ++k)
    if (!lines.next(line)) return false;
  return line.find("V2000") != std::string_view::npos || line.find("V3000") != std::string_view::npos;
}

Molecule parse_molecule(std::string_view input, int max_atoms) {
  if (!looks_like_molfile(input)) return parse_xyz(input, max_atoms);
  std::vector<SdfRecord> records;
  try {
    records = parse_sdf(input, max_atoms, 1);
  } catch (const InvalidInput& e) {
    if (std::string(e.what()).rfind("the SDF holds more than", 0) != 0) throw;
    throw InvalidInput("the SDF holds more than one molecule; score them one by one (scoreMany in the package; "
                       "`enf score` in the CLI reads them all)");
  }
  if (!records[0].error.empty()) throw InvalidInput(records[0].error);
  return std::move(records[0].molecule);
}

}  // namespace enf::chem
