// Explicit Runge-Kutta methods as data (Butcher tableaus), in the manner of torchdiffeq: a method
// is its nodes c, its coefficients a, its weights b and, for an adaptive method, the weights of
// its embedded error estimate. ode.cpp has one adaptive stepper and one fixed-step stepper that
// run any of them; a new method is a new entry in tableau.cpp's list, reachable by name from the
// CLIs and the JS API with no other change.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace enf::ode {

struct Tableau {
  std::string name;
  int order = 0;                       // of the solution the step propagates
  std::vector<double> c;               // nodes, one per stage
  std::vector<std::vector<double>> a;  // a[i][j] for j < i; a[0] is empty
  std::vector<double> b;               // solution weights, one per stage
  // Adaptive methods: b - b_hat, the embedded estimate's error weights, one per stage plus one for
  // f(t + h, y_new) when the method is FSAL ("first same as last": b is the last row of a, so that
  // evaluation is the next step's first stage). Empty for fixed-step methods.
  std::vector<double> error;
  bool fsal = false;
  // Dense output: Hairer's continuous-extension weights (one per stage plus the FSAL stage), or
  // empty for cubic Hermite interpolation between the step's ends.
  std::vector<double> dense;

  bool adaptive() const { return !error.empty(); }
  int stages() const { return static_cast<int>(b.size()); }
};

// A method: a reference to a registered tableau (cheap to copy, compared by identity).
class Method {
 public:
  Method();  // dopri5
  explicit Method(const Tableau& t) : t_(&t) {}
  const Tableau& tableau() const { return *t_; }
  const std::string& name() const { return t_->name; }
  bool operator==(const Method& o) const { return t_ == o.t_; }
  bool operator!=(const Method& o) const { return t_ != o.t_; }

  // Functions rather than constants: usable during static initialisation in any translation unit.
  static Method dopri5();
  static Method bosh3();
  static Method rk4();
  static Method midpoint();
  static Method euler();

 private:
  const Tableau* t_;
};

// Every registered method, adaptive ones first.
const std::vector<Tableau>& tableaus();
// By name ("dopri5", "bosh3", "rk4", "midpoint", "euler"); throws InvalidInput listing the names.
Method method_from_name(std::string_view name);
// "dopri5, bosh3, rk4, midpoint, euler": for messages and help texts.
std::string method_names();

}  // namespace enf::ode
