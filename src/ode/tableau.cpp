#include "ode/tableau.hpp"

#include "errors.hpp"

namespace enf::ode {

namespace {

std::vector<Tableau> make_tableaus() {
  std::vector<Tableau> t;
  // Dormand-Prince 5(4), FSAL, with Hairer's continuous extension (as torchdiffeq's dopri5).
  t.push_back({"dopri5",
               5,
               {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1},
               {{},
                {1.0 / 5},
                {3.0 / 40, 9.0 / 40},
                {44.0 / 45, -56.0 / 15, 32.0 / 9},
                {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656}},
               {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
               {71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40},
               true,
               {-12715105075.0 / 11282082432.0, 0, 87487479700.0 / 32700410799.0, -10690763975.0 / 1880347072.0,
                701980252875.0 / 199316789632.0, -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0}});
  // Bogacki-Shampine 3(2), FSAL (torchdiffeq's bosh3); cubic Hermite dense output.
  t.push_back({"bosh3",
               3,
               {0, 1.0 / 2, 3.0 / 4},
               {{}, {1.0 / 2}, {0, 3.0 / 4}},
               {2.0 / 9, 1.0 / 3, 4.0 / 9},
               {2.0 / 9 - 7.0 / 24, 1.0 / 3 - 1.0 / 4, 4.0 / 9 - 1.0 / 3, -1.0 / 8},
               true,
               {}});
  // Kutta's 3/8 rule (torchdiffeq's "rk4").
  t.push_back({"rk4", 4, {0, 1.0 / 3, 2.0 / 3, 1}, {{}, {1.0 / 3}, {-1.0 / 3, 1}, {1, -1, 1}},
               {1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8}, {}, false, {}});
  t.push_back({"midpoint", 2, {0, 1.0 / 2}, {{}, {1.0 / 2}}, {0, 1}, {}, false, {}});
  t.push_back({"euler", 1, {0}, {{}}, {1}, {}, false, {}});
  return t;
}

Method named(const char* name) { return method_from_name(name); }

}  // namespace

const std::vector<Tableau>& tableaus() {
  static const std::vector<Tableau> all = make_tableaus();
  return all;
}

Method::Method() : t_(&tableaus().front()) {}
Method Method::dopri5() { return named("dopri5"); }
Method Method::bosh3() { return named("bosh3"); }
Method Method::rk4() { return named("rk4"); }
Method Method::midpoint() { return named("midpoint"); }
Method Method::euler() { return named("euler"); }

std::string method_names() {
  std::string out;
  for (const Tableau& t : tableaus()) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

Method method_from_name(std::string_view name) {
  for (const Tableau& t : tableaus())
    if (t.name == name) return Method(t);
  throw InvalidInput("unknown ODE method '" + std::string(name) + "': use one of " + method_names());
}

}  // namespace enf::ode
