#include "chem/elements.hpp"

#include <cctype>

#include "errors.hpp"

namespace enf::chem {

namespace {
constexpr Element kElements[kNumTypes] = {
    {"H", 1, 1, 0.31}, {"C", 6, 4, 0.76}, {"N", 7, 3, 0.71}, {"O", 8, 2, 0.66}, {"F", 9, 1, 0.57}};
}

const Element& element(int type) {
  if (type < 0 || type >= kNumTypes)
    throw InvalidInput("atom type " + std::to_string(type) + " is outside 0..4 (H, C, N, O, F)");
  return kElements[type];
}

int type_from_symbol(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  const auto same = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k)
      if (std::tolower(static_cast<unsigned char>(a[k])) != std::tolower(static_cast<unsigned char>(b[k]))) return false;
    return true;
  };
  for (int t = 0; t < kNumTypes; ++t)
    if (same(s, kElements[t].symbol)) return t;
  throw InvalidInput("unknown element '" + std::string(s) + "': this model knows H, C, N, O, F");
}

int type_from_atomic_number(int z) {
  for (int t = 0; t < kNumTypes; ++t)
    if (kElements[t].atomic_number == z) return t;
  throw InvalidInput("unknown element with atomic number " + std::to_string(z) + ": this model knows H, C, N, O, F");
}

}  // namespace enf::chem
