// Checks for the numbers and names that reach the core from JavaScript, where every number is a
// double and every name a string. wasm/bindings.cpp converts its arguments with these, so the
// rules live (and are tested and fuzzed) natively; each throws InvalidInput saying what to pass.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flow/cnf.hpp"
#include "models/qm9_model.hpp"

namespace enf::api {

// The chemistry helpers (XYZ, SDF, bonds, stability) are not limited to the model's atoms, but
// their inputs are: bonds() is quadratic in the atom count.
constexpr int kHelperMaxAtoms = 100000;
// Hutchinson probes carried through one solve, and dequantization samples per score.
constexpr int kMaxProbes = 1024;
constexpr int kMaxSamples = 1000;
constexpr int kMaxTraceParts = 256;  // an exact trace split over workers
constexpr int kMaxThreads = 256;
// Trajectory frames per sample.
constexpr int kMaxFrames = 10000;

// An integer in [lo, hi] (no fraction, NaN or Inf).
int to_int(double v, const char* name, int lo, int hi);
// An integer in [0, 2^53]: every such seed is exact in a JS number.
uint64_t to_seed(double v);
// rtol / atol: a number in (0, 1).
double to_tolerance(double v, const char* name);
// The length of an array that is about to be copied in, checked before anything is allocated.
void check_length(double length, double max, const char* name);

// An element as JS passes it: an atomic number (1, 6, 7, 8, 9) or a symbol ("C", any case).
int type_from_number(double atomic_number);
int type_from_name(std::string_view symbol);

flow::Trace trace_from_name(std::string_view name);  // "exact" or "hutchinson"

}  // namespace enf::api
