// The plain objects the API exchanges. Positions are in Å (flat x, y, z per atom), log-likelihoods
// in nats; element order and symbols follow QM9: H, C, N, O, F.

/** The elements the QM9 model knows. */
export type ElementSymbol = 'H' | 'C' | 'N' | 'O' | 'F';

/** A covalent bond between atoms `i` < `j` (indices into `elements`) of order 1, 2 or 3. */
export interface Bond {
  i: number;
  j: number;
  order: number;
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

export interface SolverOptions {
  /** dopri5 relative tolerance (default 1e-4, as the authors sampled). */
  rtol?: number;
  /** dopri5 absolute tolerance (default 1e-4). */
  atol?: number;
  /** Cancels the call; the promise rejects with AbortError. */
  signal?: AbortSignal;
}

/** Sampling options shared by sample() and sampleTrajectory(). */
export interface LatentRotation {
  /**
   * An orthogonal 3x3 matrix (9 numbers row-major, or 3 rows) applied to the latent positions the
   * seed draws: by equivariance the result is the same molecule, rotated (the demo's check).
   */
  rotation?: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;
}

export interface SampleOptions extends SolverOptions, LatentRotation {
  /** How many molecules (default 1); molecule k uses seed + k and they run in parallel on the pool. */
  count?: number;
  /** Atom count; 0 or absent draws it from the model's p(M). */
  atoms?: number;
  /** Integer seed in [0, 2^53]; the same seed gives bit-identical molecules on every worker. */
  seed: number;
}

export interface TrajectoryOptions extends SolverOptions, LatentRotation {
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
}

export interface VerifyOptions {
  /** Solver tolerances for the golden ODE solves (default 1e-7, as the native `enf verify`). */
  rtol?: number;
  atol?: number;
  signal?: AbortSignal;
}
