// What every Embind binding file shares: a binding returns its result or
// { error: { kind, message } } and never throws into JS (a JS exception would unwind C++ frames
// without their destructors); kind names the core's exception class.
#pragma once
#include <emscripten/val.h>

#include <exception>
#include <new>
#include <string>

#include "errors.hpp"

namespace enf::wasm {

using emscripten::val;

// Thrown from a progress callback that asked to stop; reported to JS as kind "Aborted".
struct Cancelled : Error {
  Cancelled() : Error("the operation was aborted") {}
};

inline val error_record(const char* kind, const std::string& message) {
  val error = val::object();
  error.set("kind", val(kind));
  error.set("message", val(message));
  val out = val::object();
  out.set("error", error);
  return out;
}

// Runs body() and turns any exception into an error record; `out_of_memory` says what to reduce.
template <class F>
val guarded(F&& body, const char* out_of_memory) {
  try {
    return body();
  } catch (const Cancelled& e) {
    return error_record("Aborted", e.what());
  } catch (const InvalidInput& e) {
    return error_record("InvalidInput", e.what());
  } catch (const WeightsError& e) {
    return error_record("WeightsError", e.what());
  } catch (const SolverError& e) {
    return error_record("SolverError", e.what());
  } catch (const Error& e) {
    return error_record("Error", e.what());
  } catch (const std::bad_alloc&) {
    return error_record("Error", out_of_memory);
  } catch (const std::exception& e) {
    return error_record("Error", std::string("unexpected error in the core: ") + e.what());
  }
}

// A JS argument that was given (not null or undefined).
inline bool present(const val& f) { return !f.isNull() && !f.isUndefined(); }

}  // namespace enf::wasm
