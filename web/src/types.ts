// The plain objects the API exchanges. Positions are in Å (flat x, y, z per atom), log-likelihoods
// in nats; element order and symbols follow QM9: H, C, N, O, F.

/** The elements the QM9 model knows. */
export type ElementSymbol = 'H' | 'C' | 'N' | 'O' | 'F';

/** A covalent bond between atoms `i` < `j` (indices into `elements`) of order 1, 2 or 3. */
export interface Bond {
  i: number;
  j: number;
  /** Single, double or triple. */
  order: 1 | 2 | 3;
}

/** A sampled molecule. */
export interface Molecule {
  /** One symbol per atom. */
  elements: ElementSymbol[];
  /** The atomic number decoded from the flow's integer feature, per atom (equals the element's when consistent). */
  charges: number[];
  /** Atom positions, M x 3 flattened (x0, y0, z0, x1, ...), Å, centred at the origin. */
  positions: Float32Array;
  /** Bonds inferred from interatomic distances (the EDM/E-NF bond-length tables). */
  bonds: Bond[];
  /** Whether every atom has a valid valence ("molecule stability" in the paper). */
  stable: boolean;
  /** Number of atoms with a valid valence. */
  stableAtoms: number;
  /** Hill formula, e.g. "C7H10O2". */
  formula: string;
  /** The seed that reproduces this molecule with `sample({ count: 1, seed, atoms })`. */
  seed: number;
  /** ODE function evaluations the sample took. */
  nfe: number;
}

/** A molecule given to `score`, `toXYZ`, `toSDF` or `stability`. */
export interface MoleculeInput {
  /** Element symbols ('H', 'C', 'N', 'O', 'F') or atomic numbers (1, 6, 7, 8, 9), one per atom. */
  elements: ReadonlyArray<string | number>;
  /** Positions in Å: flat (M x 3 numbers) or one [x, y, z] per atom. */
  positions: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;
}

/** One frame of a sampling trajectory (flow time t runs from 1 = noise to 0 = molecule). */
export interface Frame {
  /** Frame number, 0 .. frames - 1. */
  index: number;
  /** Flow time of this frame. */
  t: number;
  /** Argmax element of each atom at this time. */
  elements: ElementSymbol[];
  /** Positions at this time, M x 3 flattened, Å. */
  positions: Float32Array;
}

/** The terms of log p(x, h, M) = logPz + deltaLogp - logQ + logPM (nats). */
export interface LikelihoodTerms {
  /** Prior density of the latent. */
  logPz: number;
  /** ActNorm + ODE log-determinant. */
  deltaLogp: number;
  /** Dequantizer density of the lifted features. */
  logQ: number;
  /** log p(M), the probability of the atom count. */
  logPM: number;
}

/** The result of `score`. */
export interface ScoreResult {
  /** log p(x, h, M) (a variational lower bound), nats. */
  logLikelihood: number;
  /** logLikelihood / M, nats per atom. */
  perAtom: number;
  /** Standard error in nats, or null when one stochastic sample cannot estimate it. */
  stderr: number | null;
  terms: LikelihoodTerms;
  /** The ELBO of each dequantization sample, nats. */
  perSample: number[];
  /** ODE function evaluations. */
  nfe: number;
  /** Wall time of the computation inside the worker, ms. */
  ms: number;
  atoms: number;
  trace: 'exact' | 'hutchinson';
  /** Workers the exact trace was split over (only with the `split` option). */
  parts?: number;
}

/** Per-atom valence check. */
export interface StabilityResult {
  atomStable: boolean[];
  stableAtoms: number;
  stable: boolean;
}

/** One checked quantity of a golden reference case. */
export interface VerifyCheck {
  caseName: string;
  quantity: string;
  maxAbsError: number;
  tolerance: number;
  pass: boolean;
}

/** Loading progress: bytes of the weights file, then the workers starting. */
export interface LoadProgress {
  phase: 'download' | 'compile' | 'workers' | 'ready';
  /** Bytes downloaded, or workers started. */
  loaded: number;
  /** Bytes to download (0 when the server does not say), or workers in the pool. */
  total: number;
}

/** The ODE solvers (src/ode/tableau.cpp): adaptive ones take rtol/atol, fixed-step ones `steps`. */
export type SolverMethod = 'dopri5' | 'bosh3' | 'rk4' | 'midpoint' | 'euler';

export interface SolverOptions {
  /** The solver (default 'dopri5', as the authors sampled and scored). */
  method?: SolverMethod;
  /** Relative tolerance of an adaptive method (default 1e-4). */
  rtol?: number;
  /** Absolute tolerance of an adaptive method (default 1e-4). */
  atol?: number;
  /** Equal steps over t in [0, 1] for a fixed-step method (default 50). */
  steps?: number;
  /** Cancels the call; the promise rejects with AbortError. */
  signal?: AbortSignal;
}

/**
 * A transform of the latent the seed draws, shared by sample() and sampleTrajectory(). By
 * equivariance the result is the same molecule transformed the same way (the demo's check).
 */
export interface LatentTransform {
  /**
   * An orthogonal 3x3 matrix (9 numbers row-major, or 3 rows): a rotation, or with determinant -1
   * a reflection, applied to the latent positions. The molecule comes out rotated (reflected).
   */
  rotation?: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;
  /**
   * A relabelling of the atoms: atom i of the result is atom `permutation[i]` of the untransformed
   * molecule. Lists each of 0 .. atoms-1 once (with atoms drawn from p(M), the drawn size).
   */
  permutation?: ArrayLike<number>;
}
/** @deprecated the same as LatentTransform (which adds `permutation`). */
export type LatentRotation = LatentTransform;

export interface SampleOptions extends SolverOptions, LatentTransform {
  /** How many molecules (default 1); molecule k uses seed + k and they run in parallel on the pool. */
  count?: number;
  /** Atom count; 0 or absent draws it from the model's p(M). */
  atoms?: number;
  /** Integer seed in [0, 2^53]; the same seed gives bit-identical molecules on every worker. */
  seed: number;
}

export interface TrajectoryOptions extends SolverOptions, LatentTransform {
  atoms?: number;
  seed: number;
  /** Frames from t = 1 to t = 0, at least 2 (default 50). The last frame is the sampled molecule. */
  frames?: number;
}

export interface ScoreOptions extends SolverOptions {
  /** Divergence estimator: Hutchinson's (fast, stochastic; default) or the exact trace (slow). */
  trace?: 'exact' | 'hutchinson';
  /** Hutchinson probes per solve (default 1). */
  probes?: number;
  /** Dequantization samples (default 1); more gives the importance-weighted bound and a standard error. */
  samples?: number;
  seed?: number;
  /** Progress in [0, 1] after each ODE step. */
  onProgress?: (fraction: number) => void;
  /**
   * The exact trace split over workers: 'pool' (all of them) or a number of workers. They take
   * contiguous runs of the Jacobian's columns and pool their diagonal entries at every evaluation,
   * so the result is the unsplit one to the last bit, sooner. Needs shared memory (Node, or a
   * cross-origin-isolated page); without it, or with one worker, the trace runs on one worker.
   * Only with trace 'exact' and one dequantization sample.
   */
  split?: number | 'pool';
}

export interface VerifyOptions {
  /** Solver tolerances for the golden ODE solves (default 1e-7, as the native `enf verify`). */
  rtol?: number;
  atol?: number;
  signal?: AbortSignal;
}

// ---- training mode (train.ts): the particle E-NF on DW4, LJ13 or a user's pair energy

/** A system given by its pair energy: E(x) = sum over pairs of pairEnergy(r) + comSpring/2 sum |x_i - mean|^2. */
export interface PairEnergySystem {
  /** Shown in the weights' metadata (default 'custom'). */
  name?: string;
  particles: number;
  /** 1, 2 or 3. */
  dim: number;
  /**
   * The energy of one pair at distance r (temperature 1: the density is exp(-E)). It is evaluated
   * on this thread on a uniform grid over `range` (a function cannot enter a worker); between grid
   * points the core interpolates linearly, below rMin the energy is +Infinity, beyond rMax the last
   * interval is extrapolated. Return +Infinity for a hard wall; NaN and -Infinity are rejected.
   */
  pairEnergy: (r: number) => number;
  /** Harmonic pull of every particle toward the centre of mass (default 0). */
  comSpring?: number;
  /** [rMin, rMax] of the table (default [0, 10]). */
  range?: [number, number];
  /** Grid points (default 4001). */
  points?: number;
}

/**
 * A molecule read from a file (parseXYZ, parseSDF, parseMolecule): the file's numbers in double
 * precision, as written. Generated molecules (Molecule) carry Float32Array positions, the network's
 * precision; every function that takes a molecule takes either (MoleculeInput).
 */
export interface ParsedMolecule {
  elements: ElementSymbol[];
  /** M x 3 flattened, Å, as in the file (not centred). */
  positions: Float64Array;
}

/** Configurations: flat (N x D numbers, particle-major), one row per particle, or a sample with positions. */
export type ParticleInput = ArrayLike<number> | ReadonlyArray<ArrayLike<number>> | { positions: ArrayLike<number> };

export interface TrainerOptions {
  /**
   * A built-in system (BUILT_IN_SYSTEMS: 'dw4', 'lj13' as the published data define it, the system
   * of the paper's Table 1, and 'lj13-fluid', each pair counted once) or your pair energy.
   */
  system: BuiltInSystemName | PairEnergySystem;
  /** MCMC training samples (default 1000 for DW4, 100 for LJ13 and others 1000), chain seeded `seed`. */
  nTrain?: number;
  /** MCMC validation samples (default 200; 0: none), chain seeded `seed + 1`. */
  nVal?: number;
  /** Your own data instead of MCMC: flat arrays (count x N*D) or rows; validated (sizes, NaN). */
  data?: { train: ParticleInput[] | ArrayLike<number>; val?: ParticleInput[] | ArrayLike<number> };
  /** Seeds the data, the initial weights, the minibatch order and the probes (default 0). */
  seed?: number;
  /** Minibatch size (default 100, the paper's). Any size fits the heap: it is processed in slices. */
  batch?: number;
  /**
   * The model: a row of the paper's Table 1 (TRAINING_METHODS; default 'E-NF'). 'GNF', 'GNF-att' and
   * 'GNF-att-aug' are the non-equivariant graph flows (the last trained on randomly rotated and
   * reflected data), 'Simple dynamics' and 'Kernel dynamics' Köhler et al.'s equivariant flows.
   */
  method?: TrainingMethod;
  /** AdamW (amsgrad) learning rate (default: the method's, as the authors trained it: 5e-4 for E-NF, 1e-3 for the others). */
  lr?: number;
  weightDecay?: number;
  /** Global gradient-norm clipping (default 10; 0 disables). */
  maxGradNorm?: number;
  /** Solver steps the loss is differentiated through (default 4). */
  rk4Steps?: number;
  /** The fixed-step solver of training (default 'rk4', the 3/8 rule, as the paper). */
  solver?: 'rk4' | 'midpoint' | 'euler';
  /** Over the method's field settings (E-NF and GNF: n_layers, hidden, attention; E-NF also tanh, coords_range, edge_attr; Kernel dynamics: preset 'dw4' | 'lj13'). */
  fieldSettings?: Record<string, number | boolean | string>;
  /** The worker script to run (see LoadOptions.workerUrl). */
  workerUrl?: URL | string;
  /** Where enf_wasm.wasm is (see LoadOptions.wasmUrl). */
  wasmUrl?: URL | string;
  /** Continue from exported weights (trainer.exportWeights()). */
  weights?: Uint8Array | ArrayBuffer;
  /** Overrides of the core's chain for the system (step, thinning, burn-in, temperature ladder). */
  mcmc?: { step?: number; thin?: number; burnIn?: number; initScale?: number; temperatures?: ArrayLike<number> };
  /** Data generation progress, 0 to 1 (the training chain, then the validation chain). */
  onProgress?: (p: { phase: 'data'; fraction: number }) => void;
  signal?: AbortSignal;
}

/** A row of the paper's Table 1 (TRAINING_METHODS). */
export type TrainingMethod = (typeof import('./systems.generated.js').TRAINING_METHODS)[number]['name'];

/** The names of the core's built-in particle systems. */
export type BuiltInSystemName = (typeof import('./systems.generated.js').BUILT_IN_SYSTEMS)[number]['name'];

export interface ParticleSystemInfo {
  name: string;
  particles: number;
  dim: number;
}

export interface TrainerData {
  /** Training samples, nTrain x (N*D) flattened. */
  train: Float32Array;
  /** Validation samples (empty without a validation set). */
  val: Float32Array;
  /** E(x) of each training / validation sample. */
  trainEnergies: Float64Array;
  valEnergies: Float64Array;
  nTrain: number;
  nVal: number;
  /** Metropolis acceptance of the training chain (null for given data). */
  acceptance: number | null;
  /** Time to generate the data and build the trainer, ms. */
  ms: number;
}

export interface TrainStep {
  /** Steps taken so far (this one included). */
  step: number;
  /** Epochs completed. */
  epoch: number;
  /** The minibatch's Hutchinson NLL estimate, nats. */
  loss: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Wall time of the step in the worker, ms. */
  ms: number;
}

export interface FitProgress extends TrainStep {
  /** Fraction of this fit() done. */
  fraction: number;
  /** Present right after a validation. */
  validationNll?: number;
}

export interface FitOptions {
  /** Epochs to train (default 1); or give `steps`. */
  epochs?: number;
  steps?: number;
  /** Validate every this many steps (default: each epoch; 0: never). */
  validateEvery?: number;
  /** Validation samples to use (default all). */
  validationSamples?: number;
  onProgress?: (p: FitProgress) => void;
  /** Stops after the step in flight; fit() rejects with AbortError. */
  signal?: AbortSignal;
}

export interface FitResult {
  steps: number;
  losses: number[];
  validation: { step: number; nll: number }[];
  ms: number;
}

export interface ValidateOptions {
  samples?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface ParticleSample {
  /** N x D flattened, particle-major, centred. */
  positions: Float32Array;
  /** Reproduces this sample with sample({ count: 1, seed }). */
  seed: number;
}

export interface ParticleSampleOptions extends SolverOptions {
  count?: number;
  seed: number;
  /**
   * An orthogonal dim x dim matrix (flat row-major, or rows) applied to every latent; by
   * equivariance each configuration comes out rotated (reflected) the same way.
   */
  rotation?: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;
  /** A relabelling of the particles: particle i of each result is particle permutation[i] of the untransformed one. */
  permutation?: ArrayLike<number>;
  /**
   * Samples integrated side by side, one network evaluation for all of them (1 to 4096; default:
   * about 512 edges' worth, 42 for DW4 and 3 for LJ13). Each keeps its own adaptive steps, and the
   * result is bit for bit the same for any batch: it only changes the speed (DW4 1.26x faster than
   * one at a time; LJ13's graphs are already wide, 1.03x).
   */
  batch?: number;
  /** Fraction of the samples done. */
  onProgress?: (fraction: number) => void;
}

export interface ParticleScoreOptions extends SolverOptions {
  /** Divergence: Hutchinson (Rademacher probe, default) or the exact trace. */
  trace?: 'exact' | 'hutchinson';
  /** Probe seed (row k uses seed + k). */
  seed?: number;
  onProgress?: (fraction: number) => void;
}

export interface ParticleScore {
  /** log p(x) on the centre-of-mass-free subspace, nats. */
  logLikelihood: number;
  logPz: number;
  deltaLogp: number;
  nfe: number;
  /** Wall time per configuration in the worker, ms. */
  ms: number;
  trace: 'exact' | 'hutchinson';
}

// ---- SDF / MOL input and batch scoring

/** One record of an SDF (or the molecule of a MOL file), as parseSDF reads it. */
export interface SdfRecord {
  /** 0-based position in the file. */
  index: number;
  /** 1-based line where the record starts. */
  line: number;
  /** The record's title (first header line). */
  title: string;
  /** Its atoms and positions (Å), or null when the record could not be read. */
  molecule: ParsedMolecule | null;
  /** Why the record could not be read (names its record and line), or null. */
  error: string | null;
}

export interface ScoreManyOptions extends ScoreOptions {
  /** Called after each molecule with the fraction done (0..1) and the molecules done so far. */
  onProgress?: (fraction: number, done?: number) => void;
}

/** One molecule's outcome in scoreMany: its score, or the error that stopped it (the others go on). */
export interface ScoreManyItem {
  index: number;
  /** The SDF record's title, or '' for other inputs. */
  title: string;
  score: ScoreResult | null;
  /** An EnfError subclass (InvalidInputError for a record that could not be read), or null. */
  error: Error | null;
}

// `await using model = await loadModel()` (TypeScript 5.2+): EnfModel, Trainer and ParticleFlow have
// [Symbol.asyncDispose]. Declared here as TypeScript's esnext.disposable lib and @types/node do, so
// the declarations compile under lib: ["ES2022", "DOM"] too; the runtimes (Node 20, current
// browsers) define the symbol.
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}
