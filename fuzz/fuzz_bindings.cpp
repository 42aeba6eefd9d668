// The argument checks of wasm/bindings.cpp (src/api/arguments.cpp) with the doubles and strings JS
// can pass, and the chemistry helpers behind them (element lists, positions arrays, counts, seeds,
// tolerances). Properties: a check either throws InvalidInput or returns a value in its range
// that equals the input; a molecule built from accepted elements and positions can be validated,
// written and bonded without any other error.
#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "api/arguments.hpp"
#include "api/options.hpp"
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

// A call's options object as the bindings build it from JS (src/api/options.cpp reads it):
// random keys from the known set and misspellings, with values of any type.
enf::json::Value random_options(FuzzedDataProvider& in) {
  static const char* const keys[] = {"atoms", "seed", "rtol", "atol", "method", "steps", "rotation", "permutation",
                                     "frames", "trace", "probes", "samples", "count", "atom", "sead", "", "batch",
                                     "lr", "rk4Steps", "keepTapes", "field", "fieldSettings", "name", "table",
                                     "particles", "dim", "rMin", "rMax", "comSpring", "thin", "temperatures"};
  enf::json::Value::Object o;
  for (int k = in.ConsumeIntegralInRange<int>(0, 6); k > 0; --k) {
    const std::string key = keys[in.ConsumeIntegralInRange<size_t>(0, std::size(keys) - 1)];
    bool dup = false;
    for (const auto& [kk, v] : o) dup |= kk == key;
    if (dup) continue;
    enf::json::Value v;
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: v = enf::json::Value::number(any_double(in)); break;
      case 1: v = enf::json::Value::number(in.ConsumeIntegralInRange<int>(-2, 40)); break;
      case 2: v = enf::json::Value::string(in.ConsumeRandomLengthString(10)); break;
      case 3: v = enf::json::Value::boolean(in.ConsumeBool()); break;
      case 4: {
        enf::json::Value::Array a;
        for (int n = in.ConsumeIntegralInRange<int>(0, 10); n > 0; --n)
          a.push_back(in.ConsumeBool() ? enf::json::Value::number(in.ConsumeIntegralInRange<int>(-1, 9))
                                       : enf::json::Value::number(any_double(in)));
        v = enf::json::Value::array(std::move(a));
        break;
      }
      default: break;  // null
    }
    o.emplace_back(key, v);
  }
  return enf::json::Value::object(std::move(o));
}

void options(FuzzedDataProvider& in) {
  const enf::json::Value o = random_options(in);
  const int max_atoms = in.ConsumeIntegralInRange<int>(1, enf::kQm9MaxAtoms);
  try {
    const auto c = enf::api::sample_call(o, max_atoms);
    FUZZ_CHECK(c.options.atoms >= 0 && c.options.atoms <= max_atoms && c.options.solver.rtol > 0 && c.options.solver.rtol < 1);
    FUZZ_CHECK(c.frames == 0 || (c.frames >= 2 && c.frames <= enf::api::kMaxFrames));
    for (int p : c.options.latent.permutation) FUZZ_CHECK(p >= 0 && p < max_atoms);
    // The transform either applies to a latent of that many atoms or says why not.
    const int n = std::max<int>(1, static_cast<int>(c.options.latent.permutation.size()));
    try {
      const enf::flow::StateVector z = enf::flow::StateVector::Ones(n * enf::kQm9Stride);
      FUZZ_CHECK(c.options.latent.apply(z, n, 3, enf::kQm9Stride).size() == z.size());
    } catch (const enf::InvalidInput&) {
    }
  } catch (const enf::InvalidInput&) {
  }
  try {
    const auto l = enf::api::likelihood_call(o);
    FUZZ_CHECK(l.probes >= 1 && l.probes <= enf::api::kMaxProbes);
    FUZZ_CHECK(l.samples >= 1 && l.samples <= enf::api::kMaxSamples);
  } catch (const enf::InvalidInput&) {
  }
  try {
    const auto p = enf::api::particle_sample_call(o, 4, 2);
    FUZZ_CHECK(p.count >= 1 && static_cast<double>(p.seed) + p.count - 1 <= 9007199254740992.0);
  } catch (const enf::InvalidInput&) {
  }
  try {
    double r_max = 0;
    const auto sys = enf::api::system_call(o, &r_max);
    FUZZ_CHECK(sys.n_particles >= 2 && sys.dim >= 1 && sys.dim <= 3);
    const auto d = enf::api::data_call(o, sys, r_max);
    FUZZ_CHECK(d.count >= 1 && d.mcmc.thin >= 1);
    const auto t = enf::api::train_call(o, sys);
    FUZZ_CHECK(t.batch >= 1 && t.adam.lr > 0 && !t.solver.method.tableau().adaptive());
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
