// Embind bindings of the core for the WebAssembly module: argument conversion and validation,
// typed-array copies in and out, errors as records. No model logic lives here.
//
// Conventions (web/src/wasm-module.ts mirrors them):
//  - Every function returns a JS object: its result, or { error: { kind, message } } where kind is
//    the core's exception class (InvalidInput, WeightsError, SolverError, Error) or Aborted. Nothing
//    throws into JS, so no C++ frame is ever unwound by a JS exception (which would skip destructors).
//  - A call's options arrive as one JS object, converted to the core's JSON value and read once by
//    src/api/options.cpp (types, ranges, unknown keys); data (positions, bytes) arrive as arrays.
//  - Arrays arrive as typed arrays or plain arrays and are copied into std::vector; results leave as
//    fresh typed arrays (copies, so they outlive any growth of the wasm memory). Elements arrive as
//    symbols or atomic numbers and leave as symbols, through the core's element table.
//  - Long calls take a JS callback that is invoked per accepted ODE step (or frame) and returns
//    whether to continue; false throws Cancelled inside the core, which unwinds it cleanly.
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api/arguments.hpp"
#include "api/options.hpp"
#include "chem/bonds.hpp"
#include "chem/elements.hpp"
#include "chem/molecule.hpp"
#include "chem/sdf.hpp"
#include "chem/xyz.hpp"
#include "errors.hpp"
#include "models/qm9_model.hpp"
#include "models/safetensors.hpp"
#include "models/verify.hpp"
#include "tensor/random.hpp"
#include "guarded.hpp"
#include "js_value.hpp"

namespace {

using emscripten::val;

using enf::wasm::Cancelled;
using enf::wasm::error_record;
using enf::wasm::present;
using enf::wasm::to_json;

template <class F>
val guarded(F&& body) {
  return enf::wasm::guarded(std::forward<F>(body), "out of memory: use fewer atoms, fewer probes or a looser tolerance");
}

// ---- argument conversion (the rules are in src/api/arguments.cpp, tested and fuzzed natively)

using enf::api::to_int;
using enf::api::to_seed;
using enf::api::to_tolerance;

bool is_array_like(const val& a) {
  return a.instanceof(val::global("Array")) || val::global("ArrayBuffer").call<bool>("isView", a);
}

template <class T>
std::vector<T> numbers(const val& a, const char* name) {
  if (!is_array_like(a)) throw enf::InvalidInput(std::string(name) + " must be an array or typed array of numbers");
  // Bounded before the copy allocates: a sparse Array can claim a length of 2^32 - 1.
  enf::api::check_length(a["length"].as<double>(), 9.0 * enf::api::kHelperMaxAtoms, name);
  return emscripten::convertJSArrayToNumberVector<T>(a);
}

template <class T>
struct TypedArrayName;
template <>
struct TypedArrayName<double> {
  static constexpr const char* name = "Float64Array";
};
template <>
struct TypedArrayName<int> {
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedArrayName<uint8_t> {
  static constexpr const char* name = "Uint8Array";
};

// A fresh JS typed array holding a copy of `data`.
template <class T>
val typed_copy(const T* data, size_t n) {
  return val::global(TypedArrayName<T>::name).new_(emscripten::typed_memory_view(n, data));
}
template <class T>
val typed_copy(const std::vector<T>& v) {
  return typed_copy(v.data(), v.size());
}

// Atom types from element symbols ('C', case-insensitive) or atomic numbers (6), via the core's table.
std::vector<int> types_from(const val& elements) {
  if (!elements.instanceof(val::global("Array")) && !val::global("ArrayBuffer").call<bool>("isView", elements))
    throw enf::InvalidInput("elements must be an array of element symbols or atomic numbers");
  enf::api::check_length(elements["length"].as<double>(), enf::api::kHelperMaxAtoms, "elements");
  const int n = elements["length"].as<int>();
  std::vector<int> types(n);
  for (int i = 0; i < n; ++i) {
    const val e = elements[i];
    const std::string kind = e.typeOf().as<std::string>();
    try {
      if (kind == "number") {
        types[i] = enf::api::type_from_number(e.as<double>());
      } else if (kind == "string") {
        types[i] = enf::api::type_from_name(e.as<std::string>());
      } else {
        throw enf::InvalidInput("an element must be a symbol such as 'C' or an atomic number such as 6");
      }
    } catch (const enf::InvalidInput& err) {
      throw enf::InvalidInput("atom " + std::to_string(i) + ": " + err.what());
    }
  }
  return types;
}

val symbols_of(const std::vector<int>& types) {
  val out = val::array();
  for (int t : types) out.call<void>("push", val(enf::chem::element(t).symbol));
  return out;
}

enf::chem::Molecule molecule_from(const val& elements, const val& positions) {
  enf::chem::Molecule m;
  m.types = types_from(elements);
  m.positions = numbers<double>(positions, "positions");
  return m;
}

using enf::api::kHelperMaxAtoms;

// ---- the model

class WasmModel {
 public:
  explicit WasmModel(enf::Qm9Model model) : model_(std::move(model)) {}

  int max_atoms() const { return model_.max_atoms(); }

  val atom_count_probabilities() const { return typed_copy(model_.atom_count_probabilities()); }

  // The element symbols the model knows, in its categorical order (from the weights' config).
  val elements() const { return symbols_of(model_.elements()); }

  // options: { atoms, seed, rtol, atol, method, steps, rotation, permutation, frames } (read by
  // api::sample_call). frames 0: sample(); frames >= 2: sample_trajectory(), each frame to
  // on_frame(index, t, elements, positions).
  val sample(val options, val on_frame, val on_step) const {
    return guarded([&] {
      enf::api::SampleCall c = enf::api::sample_call(to_json(options), model_.max_atoms());
      enf::SampleOptions& o = c.options;
      if (present(on_step))
        o.solver.on_step = [&](double t, const enf::ode::Stats& st) {
          if (!on_step(t, st.nfe).as<bool>()) throw Cancelled();
        };
      enf::SampledMolecule s;
      if (c.frames == 0) {
        s = model_.sample(o);
      } else {
        if (!present(on_frame)) throw enf::InvalidInput("a trajectory needs a frame callback");
        s = model_.sample_trajectory(o, c.frames, [&](const enf::TrajectoryFrame& f) {
          if (!on_frame(f.index, f.t, symbols_of(f.types), typed_copy(f.positions)).as<bool>()) throw Cancelled();
        });
      }
      val out = val::object();
      out.set("elements", symbols_of(s.molecule.types));
      out.set("charges", typed_copy(s.charges));
      out.set("positions", typed_copy(s.molecule.positions));
      out.set("nfe", s.stats.nfe);
      out.set("steps", s.stats.steps);
      out.set("rejected", s.stats.rejected);
      return out;
    });
  }

  // options: { trace, probes, samples, seed, rtol, atol, method, steps, tracePart, traceParts }
  // (api::likelihood_call). `exchange(block, begin, n)`, for a part of an exact trace split over
  // workers, pools this part's diagonal entries with the others' and returns the whole trace, or
  // null to stop (the call was cancelled or another part failed).
  val log_likelihood(val elements, val positions, val options, val on_progress, val exchange) const {
    return guarded([&] {
      const enf::chem::Molecule m = molecule_from(elements, positions);
      enf::LikelihoodOptions o = enf::api::likelihood_call(to_json(options));
      double last = 0;
      if (present(on_progress)) {
        o.on_progress = [&](double fraction) {
          last = fraction;
          if (!on_progress(fraction).as<bool>()) throw Cancelled();
        };
        // The same callback between chunks of work (with the last fraction: no new progress),
        // so that a cancelled exact trace stops within tens of ms rather than at the next step.
        o.interrupt = [&] {
          if (!on_progress(last).as<bool>()) throw Cancelled();
        };
      }
      if (present(exchange))
        o.combine_trace = [&](const std::vector<double>& block, int begin, int n) {
          const val total = exchange(val(emscripten::typed_memory_view(block.size(), block.data())), begin, n);
          if (!total.isNumber()) throw Cancelled();
          return total.as<double>();
        };
      const enf::LikelihoodResult r = model_.log_likelihood(m, o);
      val out = val::object();
      out.set("logLikelihood", r.log_likelihood);
      out.set("perAtom", r.per_atom);
      out.set("stderr", r.stderr_);
      out.set("logPz", r.terms.log_pz);
      out.set("deltaLogp", r.terms.delta_logp);
      out.set("logQ", r.terms.log_q);
      out.set("logPM", r.terms.log_pM);
      out.set("perSample", typed_copy(r.per_sample));
      out.set("nfe", r.nfe);
      out.set("atoms", r.atoms);
      return out;
    });
  }

  // phi(t, state) for an ODE state of M x 9 numbers.
  val velocity(double t, val state) const {
    return guarded([&] {
      if (!std::isfinite(t)) throw enf::InvalidInput("t must be a finite number");
      const std::vector<double> s = numbers<double>(state, "state");
      const enf::flow::StateVector v =
          model_.velocity(t, Eigen::Map<const enf::flow::StateVector>(s.data(), static_cast<Eigen::Index>(s.size())));
      val out = val::object();
      out.set("value", typed_copy(v.data(), static_cast<size_t>(v.size())));
      return out;
    });
  }

  // The latent a seeded generator draws for `atoms` atoms (M x 9), as the native bench uses it.
  val draw_latent(double atoms, double seed) const {
    return guarded([&] {
      enf::Rng rng(to_seed(seed));
      const enf::flow::StateVector z = model_.draw_latent(to_int(atoms, "atoms", 1, model_.max_atoms()), rng);
      val out = val::object();
      out.set("value", typed_copy(z.data(), static_cast<size_t>(z.size())));
      return out;
    });
  }

  // options: { rtol, atol } (api::verify_call).
  val verify(std::string json, val options) const {
    return guarded([&] {
      const std::vector<enf::VerifyCheck> checks = enf::verify_golden(model_, json, enf::api::verify_call(to_json(options)));
      val list = val::array();
      for (const auto& c : checks) {
        val item = val::object();
        item.set("caseName", c.case_name);
        item.set("quantity", c.quantity);
        item.set("maxAbsError", c.max_abs_error);
        item.set("tolerance", c.tolerance);
        item.set("pass", c.pass());
        list.call<void>("push", item);
      }
      val out = val::object();
      out.set("checks", list);
      return out;
    });
  }

 private:
  enf::Qm9Model model_;
};

val load_model(val bytes, bool verify_checksum) {
  return guarded([&] {
    if (!bytes.instanceof(val::global("Uint8Array")))
      throw enf::InvalidInput("the weights must be a Uint8Array holding a .safetensors file");
    std::vector<uint8_t> data = emscripten::convertJSArrayToNumberVector<uint8_t>(bytes);
    const enf::SafeTensors file = enf::SafeTensors::from_bytes(std::move(data), verify_checksum);
    val out = val::object();
    out.set("model", val(WasmModel(enf::Qm9Model::load(file))));
    return out;
  });
}

// ---- chemistry helpers

// A parsed molecule as { elements, positions }, from `parse` (the XYZ reader, or XYZ / SDF / MOL by content).
template <typename Parse>
val parsed_molecule(const std::string& text, double max_atoms, Parse parse) {
  return guarded([&] {
    const enf::chem::Molecule m = parse(text, to_int(max_atoms, "maxAtoms", 1, kHelperMaxAtoms));
    val out = val::object();
    out.set("elements", symbols_of(m.types));
    out.set("positions", typed_copy(m.positions));
    return out;
  });
}

val parse_xyz(std::string text, double max_atoms) {
  return parsed_molecule(text, max_atoms, [](std::string_view t, int n) { return enf::chem::parse_xyz(t, n); });
}

// One molecule from XYZ or a one-record SDF / MOL text, told apart by content.
val parse_molecule(std::string text, double max_atoms) {
  return parsed_molecule(text, max_atoms, [](std::string_view t, int n) { return enf::chem::parse_molecule(t, n); });
}

// Every record of an SDF: each with its molecule or its error.
val parse_sdf(std::string text, double max_atoms) {
  return guarded([&] {
    const std::vector<enf::chem::SdfRecord> records =
        enf::chem::parse_sdf(text, to_int(max_atoms, "maxAtoms", 1, kHelperMaxAtoms));
    val list = val::array();
    for (const auto& r : records) {
      val item = val::object();
      item.set("index", r.index);
      item.set("line", r.line);
      item.set("title", r.title);
      item.set("error", r.error);
      if (r.error.empty()) {
        item.set("elements", symbols_of(r.molecule.types));
        item.set("positions", typed_copy(r.molecule.positions));
      }
      list.call<void>("push", item);
    }
    val out = val::object();
    out.set("records", list);
    return out;
  });
}

// A molecule for the helpers: converted, then checked by the core (sizes, types, finite coordinates).
enf::chem::Molecule checked_molecule(const val& elements, const val& positions) {
  enf::chem::Molecule m = molecule_from(elements, positions);
  enf::chem::validate(m, kHelperMaxAtoms);
  return m;
}

val to_xyz(val elements, val positions, std::string comment) {
  return guarded([&] {
    val out = val::object();
    out.set("text", enf::chem::to_xyz(checked_molecule(elements, positions), comment));
    return out;
  });
}

val to_sdf(val elements, val positions, std::string title) {
  return guarded([&] {
    const enf::chem::Molecule m = checked_molecule(elements, positions);
    val out = val::object();
    out.set("text", enf::chem::to_sdf(m, enf::chem::bonds(m), title));
    return out;
  });
}

// Bonds as a flat Int32Array of (i, j, order) triples, i < j.
val bonds(val elements, val positions) {
  return guarded([&] {
    std::vector<int> flat;
    for (const auto& b : enf::chem::bonds(checked_molecule(elements, positions))) {
      flat.push_back(b.i);
      flat.push_back(b.j);
      flat.push_back(b.order);
    }
    val out = val::object();
    out.set("bonds", typed_copy(flat));
    return out;
  });
}

val stability(val elements, val positions) {
  return guarded([&] {
    const auto s = enf::chem::stability(checked_molecule(elements, positions));
    std::vector<uint8_t> atom_stable(s.atom_stable.begin(), s.atom_stable.end());
    val out = val::object();
    out.set("atomStable", typed_copy(atom_stable));
    out.set("stableAtoms", s.stable_atoms);
    out.set("stable", s.molecule_stable);
    return out;
  });
}

// Bytes of the wasm heap in use by malloc (for the memory-leak test).
double heap_in_use() { return static_cast<double>(mallinfo().uordblks); }

}  // namespace

EMSCRIPTEN_BINDINGS(enf_wasm) {
  emscripten::class_<WasmModel>("WasmModel")
      .function("maxAtoms", &WasmModel::max_atoms)
      .function("atomCountProbabilities", &WasmModel::atom_count_probabilities)
      .function("elements", &WasmModel::elements)
      .function("sample", &WasmModel::sample)
      .function("logLikelihood", &WasmModel::log_likelihood)
      .function("velocity", &WasmModel::velocity)
      .function("drawLatent", &WasmModel::draw_latent)
      .function("verify", &WasmModel::verify);
  emscripten::function("loadModel", &load_model);
  emscripten::function("parseXyz", &parse_xyz);
  emscripten::function("parseMolecule", &parse_molecule);
  emscripten::function("parseSdf", &parse_sdf);
  emscripten::function("toXyz", &to_xyz);
  emscripten::function("toSdf", &to_sdf);
  emscripten::function("bonds", &bonds);
  emscripten::function("stability", &stability);
  emscripten::function("heapInUse", &heap_in_use);
}
