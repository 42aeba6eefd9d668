#include "chem/xyz.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "chem/elements.hpp"
#include "chem/text.hpp"
#include "errors.hpp"

namespace enf::chem {

namespace {

using text::blank;
using text::fields;
using text::Lines;

[[noreturn]] void fail(int line, const std::string& what) {
  throw InvalidInput("XYZ line " + std::to_string(line) + ": " + what);
}

double parse_number(std::string_view f, int line, const char* what) {
  double v = 0;
  const std::string error = text::parse_decimal(f, what, v);
  if (!error.empty()) fail(line, error);
  return v;
}

int parse_type(std::string_view f, int line) {
  try {
    if (std::isdigit(static_cast<unsigned char>(f[0]))) {
      const double z = parse_number(f, line, "atomic number");
      if (z != std::floor(z)) fail(line, "the atomic number '" + std::string(f) + "' is not an integer");
      if (z > 999) fail(line, "unknown element with atomic number " + std::string(f) + ": this model knows H, C, N, O, F");
      return type_from_atomic_number(static_cast<int>(z));
    }
    return type_from_symbol(f);
  } catch (const InvalidInput& e) {
    if (std::string(e.what()).rfind("XYZ line", 0) == 0) throw;
    fail(line, e.what());
  }
}

// Where the previous frame's count was, to explain surplus atom lines.
struct FrameStart {
  int line = 0;   // 0: no previous frame
  int count = 0;
};

// Reads one frame; returns false at the end of the text (only blank lines left).
bool read_frame(Lines& lines, int max_atoms, Molecule& m, FrameStart& previous) {
  std::string_view line;
  do {
    if (!lines.next(line)) return false;
  } while (blank(line));
  const auto count_fields = fields(line);
  const int count_line = lines.number;
  if (count_fields.size() != 1) {
    if (previous.line && count_fields.size() >= 4)
      fail(count_line, "more atom lines than the count on line " + std::to_string(previous.line) + " announces (" +
                           std::to_string(previous.count) + ")");
    fail(count_line, "expected the atom count alone on the line");
  }
  const double count = parse_number(count_fields[0], count_line, "atom count");
  if (count != std::floor(count)) fail(count_line, "the atom count is not an integer");
  if (count < 1) fail(count_line, "the atom count must be at least 1");
  if (count > max_atoms)
    fail(count_line, "the file has " + std::string(count_fields[0]) + " atoms; this model allows at most " +
                         std::to_string(max_atoms));
  const int n = static_cast<int>(count);
  previous = {count_line, n};
  if (!lines.next(line)) fail(count_line + 1, "missing comment line");
  m.types.clear();
  m.positions.clear();
  for (int i = 0; i < n; ++i) {
    const auto too_few = [&](int at) {
      fail(at, "expected " + std::to_string(n) + " atom lines after line " + std::to_string(count_line + 1) +
                   ", found " + std::to_string(i));
    };
    if (!lines.next(line)) too_few(lines.number + 1);  // the first missing line
    const auto f = fields(line);
    if (f.empty()) too_few(lines.number);
    if (f.size() < 4) fail(lines.number, "expected 'element x y z'");
    m.types.push_back(parse_type(f[0], lines.number));
    for (int d = 1; d <= 3; ++d) m.positions.push_back(parse_number(f[d], lines.number, "coordinate"));
  }
  return true;
}

}  // namespace

void validate(const Molecule& m, int max_atoms) {
  if (m.types.empty()) throw InvalidInput("the molecule has no atoms");
  if (m.size() > max_atoms)
    throw InvalidInput("the molecule has " + std::to_string(m.size()) + " atoms; this model allows at most " +
                       std::to_string(max_atoms));
  if (m.positions.size() != 3 * m.types.size())
    throw InvalidInput("positions hold " + std::to_string(m.positions.size()) + " numbers; " +
                       std::to_string(m.size()) + " atoms need " + std::to_string(3 * m.size()));
  for (int t : m.types) element(t);
  for (size_t k = 0; k < m.positions.size(); ++k)
    if (!std::isfinite(m.positions[k]))
      throw InvalidInput("atom " + std::to_string(k / 3) + " has a non-finite coordinate (NaN or Inf)");
}

// The whole text is checked, so surplus atom lines are reported rather than silently dropped.
Molecule parse_xyz(std::string_view text, int max_atoms) { return parse_xyz_frames(text, max_atoms).front(); }

std::vector<Molecule> parse_xyz_frames(std::string_view text, int max_atoms) {
  Lines lines{text};
  std::vector<Molecule> out;
  Molecule m;
  FrameStart previous;
  while (read_frame(lines, max_atoms, m, previous)) out.push_back(m);
  if (out.empty()) throw InvalidInput("XYZ text is empty: expected an atom count on the first line");
  return out;
}

std::string to_xyz(const Molecule& m, std::string_view comment) {
  validate(m, std::numeric_limits<int>::max());  // a NaN written out could not be read back
  std::string c(comment);
  for (char& ch : c)
    if (ch == '\n' || ch == '\r') ch = ' ';  // the comment must stay one line
  std::string out = std::to_string(m.size()) + "\n" + c + "\n";
  char buf[400];  // %f of the largest double is 317 characters
  for (int i = 0; i < m.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%-2s", element(m.types[i]).symbol);
    out += buf;
    for (int d = 0; d < 3; ++d) {
      std::snprintf(buf, sizeof buf, " %12.6f", m.positions[3 * i + d]);
      out += buf;
    }
    out += '\n';
  }
  return out;
}

}  // namespace enf::chem
