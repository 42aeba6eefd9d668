#include "chem/xyz.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "chem/elements.hpp"
#include "errors.hpp"

namespace enf::chem {

namespace {

struct Lines {
  std::string_view text;
  size_t pos = 0;
  int number = 0;  // 1-based number of the last line returned
  bool next(std::string_view& line) {
    if (pos >= text.size()) return false;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    ++number;
    return true;
  }
};

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool blank(std::string_view line) { return fields(line).empty(); }

[[noreturn]] void fail(int line, const std::string& what) {
  throw InvalidInput("XYZ line " + std::to_string(line) + ": " + what);
}

double parse_number(std::string_view f, int line, const char* what) {
  const std::string s(f);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) fail(line, std::string("the ") + what + " '" + s + "' is not a number");
  if (!std::isfinite(v)) fail(line, std::string("the ") + what + " is not finite (NaN or Inf)");
  return v;
}

int parse_type(std::string_view f, int line) {
  try {
    if (std::isdigit(static_cast<unsigned char>(f[0]))) {
      const double z = parse_number(f, line, "atomic number");
      if (z != std::floor(z)) fail(line, "the atomic number '" + std::string(f) + "' is not an integer");
      return type_from_atomic_number(static_cast<int>(z));
    }
    return type_from_symbol(f);
  } catch (const InvalidInput& e) {
    if (std::string(e.what()).rfind("XYZ line", 0) == 0) throw;
    fail(line, e.what());
  }
}

// Reads one frame; returns false at the end of the text (only blank lines left).
bool read_frame(Lines& lines, int max_atoms, Molecule& m) {
  std::string_view line;
  do {
    if (!lines.next(line)) return false;
  } while (blank(line));
  const auto count_fields = fields(line);
  const int count_line = lines.number;
  if (count_fields.size() != 1) fail(count_line, "expected the atom count alone on the line");
  const double count = parse_number(count_fields[0], count_line, "atom count");
  if (count != std::floor(count)) fail(count_line, "the atom count is not an integer");
  if (count < 1) fail(count_line, "the atom count must be at least 1");
  if (count > max_atoms)
    fail(count_line, "the file has " + std::to_string(static_cast<long long>(count)) + " atoms; this model allows at most " +
                         std::to_string(max_atoms));
  const int n = static_cast<int>(count);
  if (!lines.next(line)) fail(count_line + 1, "missing comment line");
  m.types.clear();
  m.positions.clear();
  for (int i = 0; i < n; ++i) {
    if (!lines.next(line)) fail(lines.number + 1, "expected " + std::to_string(n) + " atom lines, found " + std::to_string(i));
    const auto f = fields(line);
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

Molecule parse_xyz(std::string_view text, int max_atoms) {
  Lines lines{text};
  Molecule m;
  if (!read_frame(lines, max_atoms, m)) throw InvalidInput("XYZ text is empty: expected an atom count on the first line");
  return m;
}

std::vector<Molecule> parse_xyz_frames(std::string_view text, int max_atoms) {
  Lines lines{text};
  std::vector<Molecule> out;
  Molecule m;
  while (read_frame(lines, max_atoms, m)) out.push_back(m);
  if (out.empty()) throw InvalidInput("XYZ text is empty: expected an atom count on the first line");
  return out;
}

std::string to_xyz(const Molecule& m, std::string_view comment) {
  if (m.positions.size() != 3 * m.types.size()) throw InvalidInput("positions and types disagree in length");
  std::string c(comment);
  for (char& ch : c)
    if (ch == '\n' || ch == '\r') ch = ' ';
  std::string out = std::to_string(m.size()) + "\n" + c + "\n";
  char buf[128];
  for (int i = 0; i < m.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%-2s %12.6f %12.6f %12.6f\n", element(m.types[i]).symbol, m.positions[3 * i],
                  m.positions[3 * i + 1], m.positions[3 * i + 2]);
    out += buf;
  }
  return out;
}

}  // namespace enf::chem
