// The built-in particle systems, in one registry: each one's energy, size, default MCMC chain,
// the paper's training-set size and the words a user sees. The JS API, the demo and
// enf_train_bench read this list (the JS side through the module's builtinSystems()), so a new
// system is one entry in systems.cpp.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "train/energy.hpp"
#include "train/mcmc.hpp"

namespace enf::train {

struct SystemEntry {
  std::string name;         // "dw4": what createTrainer({ system }) and --system take
  std::string label;        // "DW4": for headings
  std::string description;  // one sentence for a user choosing a system
  int n_train = 1000;       // the paper's Table 1 training-set size we default to
  ParticleSystem (*make)() = nullptr;
  McmcOptions mcmc;         // the chain that generates its data (seeded per use)
};

const std::vector<SystemEntry>& builtin_systems();
// The entry for `name`, or nullptr.
const SystemEntry* find_system(std::string_view name);
// "'dw4', 'lj13' and 'lj13-fluid'": for messages.
std::string system_names();

}  // namespace enf::train
