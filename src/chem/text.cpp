#include "chem/text.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace enf::chem::text {

bool Lines::next(std::string_view& line) {
  if (pos >= text.size()) return false;
  size_t end = text.find('\n', pos);
  if (end == std::string_view::npos) end = text.size();
  line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = end + 1;
  ++number;
  return true;
}

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

bool blank(std::string_view line) { return trim(line).empty(); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

namespace {
bool equals_lower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(a[k])) != lower[k]) return false;
  return true;
}
}  // namespace

// strtod alone would also take hex floats ("0x1p3").
std::string parse_decimal(std::string_view f, const char* what, double& out) {
  const std::string s(f);
  std::string_view body = f;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (equals_lower(body, "nan") || equals_lower(body, "inf") || equals_lower(body, "infinity"))
    return std::string("the ") + what + " is not finite (NaN or Inf)";
  const bool decimal = !s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos;
  char* end = nullptr;
  const double v = decimal ? std::strtod(s.c_str(), &end) : 0.0;
  if (!decimal || end != s.c_str() + s.size()) return std::string("the ") + what + " '" + s + "' is not a number";
  if (!std::isfinite(v)) return std::string("the ") + what + " '" + s + "' is not finite (NaN or Inf)";
  out = v;
  return {};
}

}  // namespace enf::chem::text
