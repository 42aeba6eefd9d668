#include "train/systems.hpp"

#include "errors.hpp"

namespace enf::train {

namespace {

McmcOptions chain(double step, std::vector<double> temperatures, int thin, int burn_in, double init_scale) {
  McmcOptions o;
  o.step = step;
  o.temperatures = std::move(temperatures);
  o.thin = thin;
  o.burn_in = burn_in;
  o.init_scale = init_scale;
  return o;
}

std::vector<SystemEntry> make_registry() {
  return {
      // Pair distances hop between the wells at d ~ 2.5 and 5.5 over a barrier of ~4.4 kT: a
      // short temperature ladder lets the target replica cross it often.
      {"dw4", "DW4", "4 particles in 2-D with a double-well pair energy (Köhler et al. 2020)", 1000, dw4,
       chain(0.5, {1.0, 1.6, 2.6, 4.2}, 20, 2000, 2.0)},
      // The doubled pair energy makes a solid-like cluster that rearranges slowly by single moves:
      // small steps and a ladder up to T = 4.5, where it is fluid.
      {"lj13", "LJ13",
       "13 Lennard-Jones particles in 3-D held by a harmonic pull, as the published data define it (each pair "
       "counted twice): the paper's Table 1 system",
       100, lj13, chain(0.2, {1.0, 1.35, 1.82, 2.46, 3.32, 4.48}, 50, 4000, 1.0)},
      // At temperature 1 this cluster is fluid and single-particle moves mix without a ladder; the
      // energy autocorrelation spans ~10 sweeps at this step (measured): thin well beyond it.
      {"lj13-fluid", "LJ13 (fluid)",
       "LJ13 with each pair counted once (an earlier reading of the formula): a fluid at temperature 1 whose "
       "entropy alone, at least 39 nats, exceeds the paper's figures",
       100, lj13_fluid, chain(0.4, {1.0}, 50, 2000, 1.0)},
  };
}

}  // namespace

const std::vector<SystemEntry>& builtin_systems() {
  static const std::vector<SystemEntry> all = make_registry();
  return all;
}

const SystemEntry* find_system(std::string_view name) {
  for (const SystemEntry& e : builtin_systems())
    if (e.name == name) return &e;
  return nullptr;
}

std::string system_names() {
  std::string out;
  const auto& all = builtin_systems();
  for (size_t k = 0; k < all.size(); ++k)
    out += (k == 0 ? "" : k + 1 == all.size() ? " and " : ", ") + ("'" + all[k].name + "'");
  return out;
}

ParticleSystem builtin_system(const std::string& name) {
  const SystemEntry* e = find_system(name);
  if (!e) throw InvalidInput("unknown system '" + name + "': the built-in systems are " + system_names());
  return e->make();
}

McmcOptions default_mcmc_options(const ParticleSystem& sys, uint64_t seed) {
  const SystemEntry* e = find_system(sys.name);
  McmcOptions o = e ? e->mcmc : McmcOptions{};
  o.seed = seed;
  return o;
}

}  // namespace enf::train
