// The argument checks of wasm/bindings.cpp (src/api/arguments.cpp) with the doubles and strings JS
// can pass, and the chemistry helpers behind them (element lists, positions arrays, counts, seeds,
// tolerances). Properties: a check either throws InvalidInput or returns a value in its range
// that equals the input; a molecule built from accepted elements and positions can be validated,
// written and bonded without any other error.
#include <algorithm>
#include <string>
#include <vector>

#include "api/arguments.hpp"
#include "chem/bonds.hpp"
#include "chem/elements.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "common.hpp"
#include "errors.hpp"

namespace {

using fuzz::any_double;

void numbers(FuzzedDataProvider& in) {
  const double v = any_double(in);
  const int lo = in.ConsumeIntegralInRange<int>(-5, 40);
  const int hi = in.ConsumeBool() ? in.ConsumeIntegralInRange<int>(lo, 100000) : 2147483647;
  try {
    const int r = enf::api::to_int(v, "n", lo, hi);
    FUZZ_CHECK(r >= lo && r <= hi && r == v);
  } catch (const enf::InvalidInput&) {
    FUZZ_CHECK(!(v >= lo && v <= hi && v == std::floor(v)));
  }
  try {
    const uint64_t s = enf::api::to_seed(v);
    FUZZ_CHECK(static_cast<double>(s) == v && s <= (uint64_t{1} << 53));
  } catch (const enf::InvalidInput&) {
  }
  try {
    const double t = enf::api::to_tolerance(v, "rtol");
    FUZZ_CHECK(t > 0 && t < 1 && t == v);
  } catch (const enf::InvalidInput&) {
  }
  try {
    enf::api::check_length(v, 9.0 * enf::api::kHelperMaxAtoms, "positions");
    FUZZ_CHECK(v >= 0 && v <= 9.0 * enf::api::kHelperMaxAtoms);
  } catch (const enf::InvalidInput&) {
  }
}

void options(FuzzedDataProvider& in) {
  const double a = any_double(in), b = any_double(in), c = any_double(in), d = any_double(in), e = any_double(in);
  std::vector<double> rotation;
  for (int k = in.ConsumeIntegralInRange<int>(0, 10); k > 0; --k) rotation.push_back(any_double(in));
  std::vector<double> permutation;
  for (int k = in.ConsumeIntegralInRange<int>(0, 6); k > 0; --k)
    permutation.push_back(in.ConsumeBool() ? in.ConsumeIntegralInRange<int>(-1, 6) : any_double(in));
  const int max_atoms = in.ConsumeIntegralInRange<int>(1, enf::kQm9MaxAtoms);
  try {
    const auto o = enf::api::sample_options(a, b, c, d, rotation, permutation, max_atoms);
    FUZZ_CHECK(o.atoms >= 0 && o.atoms <= max_atoms && o.solver.rtol > 0 && o.solver.rtol < 1);
    FUZZ_CHECK(o.latent.permutation.size() == permutation.size());
    for (int p : o.latent.permutation) FUZZ_CHECK(p >= 0 && p < max_atoms);
    // The transform either applies to a latent of that many atoms or says why not.
    const int n = std::max<int>(1, static_cast<int>(permutation.size()));
    try {
      const enf::flow::StateVector z = enf::flow::StateVector::Ones(n * enf::kQm9Stride);
      const enf::flow::StateVector t = o.latent.apply(z, n, 3, enf::kQm9Stride);
      FUZZ_CHECK(t.size() == z.size());
    } catch (const enf::InvalidInput&) {
    }
  } catch (const enf::InvalidInput&) {
  }
  const std::string trace = in.ConsumeRandomLengthString(12);
  try {
    const auto o = enf::api::likelihood_options(trace, a, b, c, d, e);
    FUZZ_CHECK(o.probes >= 1 && o.probes <= enf::api::kMaxProbes);
    FUZZ_CHECK(o.samples >= 1 && o.samples <= enf::api::kMaxSamples);
    FUZZ_CHECK(trace == "exact" || trace == "hutchinson");
  } catch (const enf::InvalidInput&) {
  }
}

// elements + positions -> a molecule, as WasmModel.logLikelihood and the helpers build it.
void molecule(FuzzedDataProvider& in) {
  enf::chem::Molecule m;
  const int n = in.ConsumeIntegralInRange<int>(0, 35);
  try {
    for (int i = 0; i < n; ++i) {
      if (in.ConsumeBool()) {
        const double z = any_double(in);
        const int t = enf::api::type_from_number(z);
        FUZZ_CHECK(enf::chem::element(t).atomic_number == z);
        m.types.push_back(t);
      } else {
        const std::string s = in.ConsumeRandomLengthString(4);
        m.types.push_back(enf::api::type_from_name(s));
      }
    }
  } catch (const enf::InvalidInput&) {
    return;
  }
  const int count = in.ConsumeBool() ? 3 * n : in.ConsumeIntegralInRange<int>(0, 3 * n + 3);
  const bool near = in.ConsumeBool();
  for (int k = 0; k < count; ++k)
    m.positions.push_back(near ? in.ConsumeFloatingPointInRange<double>(-4.0, 4.0) : any_double(in));
  for (const int max_atoms : {enf::kQm9MaxAtoms, enf::api::kHelperMaxAtoms}) {
    try {
      enf::chem::validate(m, max_atoms);
    } catch (const enf::InvalidInput&) {
      continue;
    }
    FUZZ_CHECK(m.size() >= 1 && m.size() <= max_atoms);
    const std::string xyz = enf::chem::to_xyz(m, "");
    FUZZ_CHECK(enf::chem::parse_xyz(xyz, max_atoms).types == m.types);
    const auto bonds = enf::chem::bonds(m);
    const auto s = enf::chem::stability(m);
    FUZZ_CHECK(s.molecule_stable == (s.stable_atoms == m.size()));
    try {
      enf::chem::to_sdf(m, bonds, "");
    } catch (const enf::InvalidInput&) {
      // coordinates beyond the SDF columns
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: numbers(in); break;
    case 1: options(in); break;
    default: molecule(in); break;
  }
  return 0;
}
