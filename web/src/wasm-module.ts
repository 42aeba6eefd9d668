// The surface of the Embind module built from wasm/bindings.cpp (internal to the package).
// Every binding returns either its result or { error: { kind, message } }; none throws.
import type { ErrorRecord } from './errors.js';

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

export interface WasmModel {
  maxAtoms(): number;
  atomCountProbabilities(): Float64Array;
  sample(
    atoms: number,
    seed: number,
    rtol: number,
    atol: number,
    rotation: number[],
    permutation: number[],
    frames: number,
    onFrame: ((index: number, t: number, elements: string[], positions: Float64Array) => boolean) | null,
    onStep: ((t: number, nfe: number) => boolean) | null,
  ): Fallible<SampleRecord>;
  logLikelihood(
    elements: Elements,
    positions: Float64Array,
    trace: string,
    probes: number,
    samples: number,
    seed: number,
    rtol: number,
    atol: number,
    onProgress: ((fraction: number) => boolean) | null,
  ): Fallible<LikelihoodRecord>;
  velocity(t: number, state: Float64Array): Fallible<{ value: Float64Array }>;
  drawLatent(atoms: number, seed: number): Fallible<{ value: Float64Array }>;
  verify(json: string, rtol: number, atol: number): Fallible<{ checks: CheckRecord[] }>;
  delete(): void;
}

export interface EnfWasmModule {
  /** verifyChecksum false: the caller has checked the SHA-256 of these bytes already. */
  loadModel(bytes: Uint8Array, verifyChecksum: boolean): Fallible<{ model: WasmModel }>;
  parseXyz(text: string, maxAtoms: number): Fallible<{ elements: string[]; positions: Float64Array }>;
  toXyz(elements: Elements, positions: Float64Array, comment: string): Fallible<{ text: string }>;
  toSdf(elements: Elements, positions: Float64Array, title: string): Fallible<{ text: string }>;
  bonds(elements: Elements, positions: Float64Array): Fallible<{ bonds: Int32Array }>;
  stability(
    elements: Elements,
    positions: Float64Array,
  ): Fallible<{ atomStable: Uint8Array; stableAtoms: number; stable: boolean }>;
  heapInUse(): number;
}

export type EnfModuleFactory = (options: {
  instantiateWasm?: (
    imports: WebAssembly.Imports,
    done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
  ) => object;
  print?: (s: string) => void;
  printErr?: (s: string) => void;
  onAbort?: (what: unknown) => void;
}) => Promise<EnfWasmModule>;

/** Instantiates the Embind module from an already compiled WebAssembly.Module. */
export function instantiate(factory: EnfModuleFactory, compiled: WebAssembly.Module): Promise<EnfWasmModule> {
  return new Promise<EnfWasmModule>((resolve, reject) => {
    factory({
      instantiateWasm(imports, done) {
        WebAssembly.instantiate(compiled, imports).then((instance) => done(instance, compiled), reject);
        return {};
      },
      print: () => {},
      printErr: () => {},
      onAbort: (what) => reject(new Error(`the WebAssembly module aborted: ${String(what)}`)),
    }).then(resolve, reject);
  });
}
