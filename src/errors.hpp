// Error types the core throws. Every message says what was wrong and what to fix.
#pragma once
#include <stdexcept>
#include <string>

namespace enf {

// Base class: anything the library rejects or cannot finish.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The caller's data is unusable (NaN coordinates, unknown element, bad sizes, malformed text).
struct InvalidInput : Error {
  using Error::Error;
};

// A weights file is corrupt, truncated, or does not match the expected model.
struct WeightsError : Error {
  using Error::Error;
};

// The ODE solver could not finish (step size underflow, too many steps, non-finite state).
struct SolverError : Error {
  using Error::Error;
};

}  // namespace enf
