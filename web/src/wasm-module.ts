// The surface of the Embind module built from wasm/bindings.cpp (internal to the package).
// Every binding returns either its result or { error: { kind, message } }; none throws.
import type { ErrorRecord } from './errors.js';
import type { CompiledWasm } from './portable-types.js';

export type Fallible<T> = (T & { error?: undefined }) | { error: ErrorRecord };

export type Elements = ReadonlyArray<string | number>;

export interface SampleRecord {
  elements: string[];
  charges: Int32Array;
  positions: Float64Array;
  nfe: number;
  steps: number;
  rejected: number;
}

export interface LikelihoodRecord {
  logLikelihood: number;
  perAtom: number;
  stderr: number;
  logPz: number;
  deltaLogp: number;
  logQ: number;
  logPM: number;
  perSample: Float64Array;
  nfe: number;
  atoms: number;
}

export interface CheckRecord {
  caseName: string;
  quantity: string;
  maxAbsError: number;
  tolerance: number;
  pass: boolean;
}

/**
 * A call's options as one object, read and checked by the core (src/api/options.cpp): unknown keys
 * are refused there with a "did you mean". The package's option types (types.ts) document them.
 */
export type CallOptions = Record<string, unknown>;

export interface WasmModel {
  maxAtoms(): number;
  atomCountProbabilities(): Float64Array;
  /** The element symbols the model knows, in its categorical order. */
  elements(): string[];
  /** options: atoms, seed, rtol, atol, method, steps, rotation, permutation, frames (0: no trajectory). */
  sample(
    options: CallOptions,
    onFrame: ((index: number, t: number, elements: string[], positions: Float64Array) => boolean) | null,
    onStep: ((t: number, nfe: number) => boolean) | null,
  ): Fallible<SampleRecord>;
  /** options: trace, probes, samples, seed, rtol, atol, method, steps. */
  logLikelihood(
    elements: Elements,
    positions: Float64Array,
    options: CallOptions,
    onProgress: ((fraction: number) => boolean) | null,
    /** A part of a split exact trace: pools its diagonal entries with the other parts'; null stops. */
    exchange: ((block: Float64Array, begin: number, n: number) => number | null) | null,
  ): Fallible<LikelihoodRecord>;
  velocity(t: number, state: Float64Array): Fallible<{ value: Float64Array }>;
  drawLatent(atoms: number, seed: number): Fallible<{ value: Float64Array }>;
  /** options: rtol, atol. */
  verify(json: string, options: CallOptions): Fallible<{ checks: CheckRecord[] }>;
  delete(): void;
}

// ---- training mode (wasm/bindings_train.cpp)

/** A system as it crosses into the core: a built-in name, or a tabulated pair energy. */
export interface SystemWire {
  name: string;
  particles?: number;
  dim?: number;
  comSpring?: number;
  /** E(r) on a uniform grid over [rMin, rMax] (absent for the built-in systems). */
  table?: Float64Array;
  rMin?: number;
  rMax?: number;
}

export interface BuiltInSystemRecord {
  name: string;
  label: string;
  description: string;
  particles: number;
  dim: number;
  nTrain: number;
}

/** A row of the paper's Table 1 as the core registers it (fields/methods.hpp). */
export interface TrainingMethodRecord {
  name: string;
  field: string;
  equivariant: boolean;
  augment: boolean;
  lr: number;
  /** The paper's Table 1 test NLL per system and training size. */
  paper: { dw4: Record<string, number>; lj13: Record<string, number> };
}

/** A trainer's settings as the core uses them. */
export interface TrainConfigRecord {
  batch: number;
  lr: number;
  seed: number;
  rk4Steps: number;
  /** The Table 1 row. */
  method: string;
  /** The fixed-step ODE method the loss is differentiated through. */
  solver: string;
  field: string;
  augment: boolean;
  keepTapes: boolean;
}

export interface WasmTrainer {
  step(): Fallible<{ loss: number; gradNorm: number; steps: number; epochs: number }>;
  /** options: seed, samples. */
  validate(options: CallOptions): Fallible<{ nll: number; samples: number }>;
  setLearningRate(lr: number): Fallible<object>;
  model(): Fallible<{ model: WasmParticleModel }>;
  delete(): void;
}

export interface WasmParticleModel {
  info(): { system: string; particles: number; dim: number; field: string; method: string; nTrain: number };
  /** options: count, seed, rtol, atol, method, steps, rotation, permutation. */
  sample(options: CallOptions, onProgress: ((f: number) => boolean) | null): Fallible<{ positions: Float64Array }>;
  /** options: trace, seed, rtol, atol, method, steps. */
  logLikelihood(
    positions: Float64Array,
    options: CallOptions,
    onProgress: ((f: number) => boolean) | null,
  ): Fallible<{ logLikelihood: Float64Array; logPz: Float64Array; deltaLogp: Float64Array; nfe: Float64Array }>;
  toSafetensors(metadata: Record<string, string>): Fallible<{ bytes: Uint8Array }>;
  delete(): void;
}

export interface EnfWasmModule {
  /** verifyChecksum false: the caller has checked the SHA-256 of these bytes already. */
  loadModel(bytes: Uint8Array, verifyChecksum: boolean): Fallible<{ model: WasmModel }>;
  parseXyz(text: string, maxAtoms: number): Fallible<{ elements: string[]; positions: Float64Array }>;
  /** XYZ, or a one-record SDF / MOL, by content. */
  parseMolecule(text: string, maxAtoms: number): Fallible<{ elements: string[]; positions: Float64Array }>;
  parseSdf(
    text: string,
    maxAtoms: number,
  ): Fallible<{ records: Array<{ index: number; line: number; title: string; error: string; elements?: string[]; positions?: Float64Array }> }>;
  toXyz(elements: Elements, positions: Float64Array, comment: string): Fallible<{ text: string }>;
  toSdf(elements: Elements, positions: Float64Array, title: string): Fallible<{ text: string }>;
  bonds(elements: Elements, positions: Float64Array): Fallible<{ bonds: Int32Array }>;
  stability(
    elements: Elements,
    positions: Float64Array,
  ): Fallible<{ atomStable: Uint8Array; stableAtoms: number; stable: boolean }>;
  heapInUse(): number;
  builtinSystems(): Fallible<{ systems: BuiltInSystemRecord[]; methods: TrainingMethodRecord[] }>;
  /** options: count, seed and MCMC overrides (step, thin, burnIn, initScale, temperatures). */
  generateData(
    system: SystemWire,
    options: CallOptions,
    onProgress: ((f: number) => boolean) | null,
  ): Fallible<{ samples: Float64Array; energies: Float64Array; acceptance: number; swapAcceptance: number }>;
  systemEnergies(system: SystemWire, positions: Float64Array): Fallible<{ energies: Float64Array }>;
  /** config: batch, lr, weightDecay, maxGradNorm, rk4Steps, method, seed, field, fieldSettings, keepTapes. */
  checkTrainConfig(system: SystemWire, config: CallOptions): Fallible<TrainConfigRecord>;
  createTrainer(
    system: SystemWire,
    train: Float64Array,
    val: Float64Array | null,
    config: CallOptions,
    init: Uint8Array | null,
  ): Fallible<{ trainer: WasmTrainer; parameters: number }>;
  loadParticleModel(bytes: Uint8Array): Fallible<{ model: WasmParticleModel }>;
}

export type EnfModuleFactory = (options: {
  instantiateWasm?: (
    imports: object,
    done: (instance: object, module: CompiledWasm) => void,
  ) => object;
  print?: (s: string) => void;
  printErr?: (s: string) => void;
  onAbort?: (what: unknown) => void;
}) => Promise<EnfWasmModule>;

/** Instantiates the Embind module from an already compiled WebAssembly.Module. */
export function instantiate(factory: EnfModuleFactory, compiled: CompiledWasm): Promise<EnfWasmModule> {
  return new Promise<EnfWasmModule>((resolve, reject) => {
    factory({
      instantiateWasm(imports, done) {
        WebAssembly.instantiate(compiled as WebAssembly.Module, imports as WebAssembly.Imports).then((instance) => done(instance, compiled), reject);
        return {};
      },
      print: () => {},
      printErr: () => {},
      onAbort: (what) => reject(new Error(`the WebAssembly module aborted: ${String(what)}`)),
    }).then(resolve, reject);
  });
}
