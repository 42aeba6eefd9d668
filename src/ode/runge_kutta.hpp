// One explicit Runge-Kutta step of any tableau, generic over the state: Eigen vectors for the
// float32 inference solves (ode.cpp), variables on the reverse-mode tape for training
// (train/particle_net.cpp), so both integrate with the same code and the same coefficients.
#pragma once
#include <utility>
#include <vector>

#include "ode/tableau.hpp"

namespace enf::ode {

// A step of size h from (t, y) whose first stage derivative k0 = f(t, y) the caller has (FSAL
// methods and dense output reuse it). f(t, y) returns dy/dt; combine(y, h, w, ks) returns
// y + h * sum_j w[j] ks[j] over the non-zero w[j] (zero weights are not even read, so ks may be
// shorter than w where they are zero). Every stage derivative is left in `ks` (ks[0] = k0).
// Returns y + h * sum_j b[j] ks[j].
template <class State, class F, class Combine>
State rk_step(const Tableau& tab, F&& f, double t, double h, const State& y, State k0, Combine&& combine,
              std::vector<State>& ks) {
  const int s = tab.stages();
  ks.clear();
  ks.reserve(s);
  ks.push_back(std::move(k0));
  for (int i = 1; i < s; ++i) ks.push_back(f(t + tab.c[i] * h, combine(y, h, tab.a[i], ks)));
  return combine(y, h, tab.b, ks);
}

}  // namespace enf::ode
