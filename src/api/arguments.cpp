#include "api/arguments.hpp"

#include <cmath>

#include "chem/elements.hpp"
#include "errors.hpp"

namespace enf::api {

int to_int(double v, const char* name, int lo, int hi) {
  if (!std::isfinite(v) || v != std::floor(v) || v < lo || v > hi)
    throw InvalidInput(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "]");
  return static_cast<int>(v);
}

uint64_t to_seed(double v) {
  if (!std::isfinite(v) || v != std::floor(v) || v < 0 || v > 9007199254740992.0)
    throw InvalidInput("seed must be an integer in [0, 2^53]");
  return static_cast<uint64_t>(v);
}

double to_tolerance(double v, const char* name) {
  if (!std::isfinite(v) || v <= 0 || v >= 1) throw InvalidInput(std::string(name) + " must be a number in (0, 1)");
  return v;
}

void check_length(double length, double max, const char* name) {
  if (!(length >= 0 && length <= max))
    throw InvalidInput(std::string(name) + " holds " + std::to_string(length) + " items; at most " +
                       std::to_string(static_cast<uint64_t>(max)) + " are accepted");
}

int type_from_number(double z) {
  // The range check comes first: casting a double beyond int's range would be undefined.
  if (!(z >= 0 && z <= 1000) || z != std::floor(z))
    throw InvalidInput("atomic number " + std::to_string(z) + " is not valid: use 1, 6, 7, 8 or 9 (H, C, N, O, F)");
  return chem::type_from_atomic_number(static_cast<int>(z));
}

int type_from_name(std::string_view symbol) { return chem::type_from_symbol(symbol); }

flow::Trace trace_from_name(std::string_view name) {
  if (name == "exact") return flow::Trace::Exact;
  if (name == "hutchinson") return flow::Trace::Hutchinson;
  throw InvalidInput("trace must be 'exact' or 'hutchinson'");
}

}  // namespace enf::api
