// What a weights file holds, from its metadata "model": the registry the loaders consult, so that
// a file for the other kind of model fails with a message naming both and the call to use.
#pragma once
#include <string>

namespace enf {

class SafeTensors;

enum class ModelFamily {
  Molecule,  // "qm9" (or no "model" entry: the authors' converted checkpoint): Qm9Model, loadModel()
  Particle,  // "particle_enf": ParticleModel, loadParticleFlow()
};

// The family of `file`; WeightsError for a "model" entry no loader knows.
ModelFamily model_family(const SafeTensors& file);
// Throws WeightsError unless `file` holds a model of `family`, saying what it holds instead.
void expect_family(const SafeTensors& file, ModelFamily family);

}  // namespace enf
