// Recomputes golden reference cases (../shared/golden/*.json formats) and reports, per case and
// quantity, the largest absolute error against the tolerances the project commits to.
#pragma once
#include <string>
#include <vector>

#include "models/qm9_model.hpp"

namespace enf {

struct VerifyOptions {
  // The golden ODE solves used dopri5 at 1e-9; the float32 network resolves about 1e-7.
  double rtol = 1e-7;
  double atol = 1e-7;
};

struct VerifyCheck {
  std::string case_name;  // e.g. "dynamics[3] M=7 t=0.37"
  std::string quantity;   // e.g. "dstate_dt"
  double max_abs_error = 0;
  double tolerance = 0;
  bool pass() const { return max_abs_error <= tolerance; }
};

// Detects the file kind from its cases (dynamics, flow or reverse) and checks every case.
// Throws InvalidInput when the JSON is not a golden file.
std::vector<VerifyCheck> verify_golden(const Qm9Model& model, const std::string& json_text, const VerifyOptions& options);

}  // namespace enf
