// Maximum-likelihood training of the particle E-NF: minibatches of the (centred) training set,
// Rademacher Hutchinson probes, the loss and its exact gradient through fixed-step RK4
// (train/particle_net), gradient-norm clipping and AdamW (amsgrad). Deterministic for a seed.
// The trained weights run in ParticleModel's float32 inference path.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>

#include "models/particle_model.hpp"
#include "tensor/random.hpp"
#include "train/adamw.hpp"
#include "train/energy.hpp"
#include "train/particle_net.hpp"

namespace enf::train {

struct TrainConfig {
  int batch = 100;
  AdamWOptions adam;            // lr 5e-4, amsgrad, weight decay 1e-12 (the paper's setup)
  double max_grad_norm = 10.0;  // global clipping threshold (0: no clipping)
  NllOptions solver{4, true};   // 4 rk4 steps through which the loss is differentiated
  uint64_t seed = 0;            // initial weights, shuffling and probes
  std::string field = "egnn";   // the velocity field's kind (fields/) and its settings (null: the
  json::Value field_settings;   // kind's defaults, for the EGNN the paper's 3 layers of 32)
  std::string method = "E-NF";  // the Table 1 row (fields/methods.hpp) saved with the weights
  bool augment = false;         // each step maps every sample by a fresh Haar-random orthogonal matrix
};

// The configuration of Table 1's `method` for `system`: its field, settings, augmentation and
// learning rate; InvalidInput for an unknown method.
void apply_method(TrainConfig& config, const std::string& method, const ParticleSystem& system);

struct StepReport {
  double loss = 0;       // Hutchinson NLL estimate of the batch, nats
  double regulariser = 0; // value of the optional field regularisers (NllOptions)
  double grad_norm = 0;  // before clipping
};

class Trainer {
 public:
  // Validates the data (InvalidInput: empty, wrong size, NaN) and initialises the configured field
  // with PyTorch-style random parameters from config.seed.
  Trainer(const ParticleSystem& system, Eigen::MatrixXd train_data, TrainConfig config);
  // Continues from given parameters (e.g. a saved model's) instead of a random initialisation.
  Trainer(const ParticleSystem& system, Eigen::MatrixXd train_data, TrainConfig config, fields::FieldParams init);

  // One minibatch (the next of the current shuffled epoch). A step whose loss or gradient is not
  // finite leaves the weights unusable: it throws SolverError saying what to change, and so does
  // every later step.
  StepReport step();
  double epoch();       // the rest of the current epoch; returns its mean loss
  void set_learning_rate(double lr) { opt_.set_learning_rate(lr); }

  long steps() const { return opt_.steps(); }
  int epochs() const { return epochs_; }  // passes completed over the training set
  const FieldParams& params() const { return params_; }
  ParticleModel model() const;  // the current weights in the float32 inference model
  // Mean NLL of the first `limit` rows of `samples` (centred first) with the loss's estimator: the
  // training solver and Rademacher probes drawn from `seed`, so that successive calls compare
  // like with like; in batches of the training batch size.
  double validation_nll(const Eigen::MatrixXd& samples, uint64_t seed, int limit) const;

 private:
  ParticleSystem sys_;
  Eigen::MatrixXd data_;
  TrainConfig cfg_;
  FieldParams params_;
  AdamW opt_;
  Rng rng_;
  std::vector<int> order_;
  size_t cursor_ = 0;
  int epochs_ = 0;
  std::string diverged_;  // why training stopped, once a step went non-finite
  void shuffle();
};

// Fits the training to a memory budget, counted in edge-evaluations kept on the tape (a pass
// holds slice edges x 4 evaluations x the steps whose tapes it keeps). Keeping every step's tape
// is faster; unless `keep_tapes` forces a choice, it is kept when it takes at most two thirds of
// the budget. InvalidInput when even one step at a time does not fit.
// kWasmEdgeEvaluations is what a 2 GB wasm32 heap holds (measured: 31,200 fit, LJ13 with 50
// samples one step at a time; 62,400 do not).
constexpr double kWasmEdgeEvaluations = 31200;
void fit_tape_memory(TrainConfig& config, const ParticleSystem& system, double budget, int keep_tapes = -1);

}  // namespace enf::train
