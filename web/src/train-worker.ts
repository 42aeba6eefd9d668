// Training mode inside a worker: the trainers and particle flows this worker holds, by handle, and
// the calls train.ts sends them (through the pool's 'train' op). The bindings are in
// wasm/bindings_train.cpp; like every binding they return a result or an error record.
import type { ErrorRecord } from './errors.js';
import type { EnfWasmModule, Fallible } from './wasm-module.js';

/** A system as it crosses into the worker: a built-in name, or a tabulated pair energy. */
export interface SystemWire {
  name: string;
  particles: number;
  dim: number;
  comSpring: number;
  /** E(r) on a uniform grid over [rMin, rMax] (null for the built-in systems). */
  table: Float64Array | null;
  rMin: number;
  rMax: number;
}

export interface McmcWire {
  step?: number;
  thin?: number;
  burnIn?: number;
  initScale?: number;
  temperatures?: Float64Array;
}

export interface TrainConfigWire {
  batch: number;
  lr: number;
  weightDecay: number;
  maxGradNorm: number;
  rk4Steps: number;
  seed: number;
  keepTapes?: boolean;
}

export type TrainCall =
  | {
      fn: 'create';
      system: SystemWire;
      /** Given data (flat rows) or null to generate nTrain / nVal samples by MCMC. */
      train: Float64Array | null;
      val: Float64Array | null;
      nTrain: number;
      nVal: number;
      seed: number;
      mcmc: McmcWire | null;
      config: TrainConfigWire;
      weights: Uint8Array | null;
    }
  | { fn: 'step'; handle: number }
  | { fn: 'validate'; handle: number; seed: number; limit: number }
  | { fn: 'lr'; handle: number; lr: number }
  | { fn: 'snapshot'; handle: number }
  | { fn: 'load'; bytes: Uint8Array }
  | {
      fn: 'sample';
      handle: number;
      count: number;
      seed: number;
      rtol: number;
      atol: number;
      rotation: Float64Array;
      permutation: Float64Array;
    }
  | { fn: 'score'; handle: number; positions: Float64Array; trace: string; seed: number; rtol: number; atol: number }
  | { fn: 'export'; handle: number; metadata: Record<string, string> }
  | { fn: 'energy'; system: SystemWire; positions: Float64Array }
  | { fn: 'release'; handle: number }
  /** For tests: fails the way a WebAssembly trap does (the worker reports a crash and exits). */
  | { fn: 'crash' };

export interface CreateReply {
  handle: number;
  parameters: number;
  train: Float64Array;
  val: Float64Array;
  trainEnergies: Float64Array;
  valEnergies: Float64Array;
  acceptance: number | null;
  ms: number;
}

export interface FlowInfo {
  handle: number;
  system: string;
  particles: number;
  dim: number;
}

// The Embind objects (wasm/bindings_train.cpp).
interface WasmTrainer {
  step(): Fallible<{ loss: number; gradNorm: number; steps: number; epochs: number }>;
  validate(seed: number, limit: number): Fallible<{ nll: number; samples: number }>;
  setLearningRate(lr: number): Fallible<object>;
  model(): Fallible<{ model: WasmParticleModel }>;
  delete(): void;
}

interface WasmParticleModel {
  info(): { system: string; particles: number; dim: number };
  sample(
    count: number,
    seed: number,
    rtol: number,
    atol: number,
    rotation: Float64Array,
    permutation: Float64Array,
    onProgress: ((f: number) => boolean) | null,
  ): Fallible<{ positions: Float64Array }>;
  logLikelihood(
    positions: Float64Array,
    trace: string,
    seed: number,
    rtol: number,
    atol: number,
    onProgress: ((f: number) => boolean) | null,
  ): Fallible<{ logLikelihood: Float64Array; logPz: Float64Array; deltaLogp: Float64Array; nfe: Float64Array }>;
  toSafetensors(metadata: Record<string, string>): Fallible<{ bytes: Uint8Array }>;
  delete(): void;
}

interface TrainModule {
  generateData(
    system: SystemWire,
    count: number,
    seed: number,
    mcmc: McmcWire | null,
    onProgress: ((f: number) => boolean) | null,
  ): Fallible<{ samples: Float64Array; energies: Float64Array; acceptance: number; swapAcceptance: number }>;
  systemEnergies(system: SystemWire, positions: Float64Array): Fallible<{ energies: Float64Array }>;
  checkTrainConfig(system: SystemWire, config: TrainConfigWire): Fallible<{ keepTapes: boolean }>;
  createTrainer(
    system: SystemWire,
    train: Float64Array,
    val: Float64Array | null,
    config: TrainConfigWire,
    init: Uint8Array | null,
  ): Fallible<{ trainer: WasmTrainer; parameters: number }>;
  loadParticleModel(bytes: Uint8Array): Fallible<{ model: WasmParticleModel }>;
}

export class TrainBindingError extends Error {
  constructor(readonly record: ErrorRecord) {
    super(record.message);
  }
}

function check<T>(r: Fallible<T>): T {
  if (r.error) throw new TrainBindingError(r.error);
  return r as T;
}

/**
 * The training calls of one worker. `progress(fraction)` posts a progress reply and returns whether
 * to continue (false once the job was cancelled); it never throws.
 */
export function createTrainRunner(module: EnfWasmModule) {
  const mod = module as unknown as TrainModule;
  const trainers = new Map<number, WasmTrainer>();
  const flows = new Map<number, WasmParticleModel>();
  let next = 1;

  function trainer(h: number): WasmTrainer {
    const t = trainers.get(h);
    if (!t)
      throw new TrainBindingError({ kind: 'Disposed', message: 'this trainer is not in this worker (disposed, or its worker was replaced)' });
    return t;
  }
  function flow(h: number): WasmParticleModel {
    const f = flows.get(h);
    if (!f)
      throw new TrainBindingError({ kind: 'Disposed', message: 'this particle flow is not in this worker (disposed, or its worker was replaced)' });
    return f;
  }
  function addFlow(m: WasmParticleModel): FlowInfo {
    const handle = next++;
    flows.set(handle, m);
    return { handle, ...m.info() };
  }

  return function call(c: TrainCall, progress: (fraction: number) => boolean): { value: unknown; transfer?: Transferable[] } {
    switch (c.fn) {
      case 'create': {
        const t0 = performance.now();
        let train = c.train;
        let val = c.val;
        let trainEnergies: Float64Array;
        let valEnergies: Float64Array;
        let acceptance: number | null = null;
        check(mod.checkTrainConfig(c.system, c.config)); // before the data: a bad batch fails at once
        if (!train) {
          // The validation chain is seeded seed + 1, as the core's make_dataset does.
          const share = c.nTrain / (c.nTrain + c.nVal);
          const d = check(mod.generateData(c.system, c.nTrain, c.seed, c.mcmc, (f) => progress(f * share)));
          train = d.samples;
          trainEnergies = d.energies;
          acceptance = d.acceptance;
          if (c.nVal > 0) {
            const v = check(mod.generateData(c.system, c.nVal, c.seed + 1, c.mcmc, (f) => progress(share + f * (1 - share))));
            val = v.samples;
            valEnergies = v.energies;
          } else {
            val = new Float64Array(0);
            valEnergies = new Float64Array(0);
          }
        } else {
          trainEnergies = check(mod.systemEnergies(c.system, train)).energies;
          val ??= new Float64Array(0);
          valEnergies = val.length ? check(mod.systemEnergies(c.system, val)).energies : new Float64Array(0);
        }
        const r = check(mod.createTrainer(c.system, train, val.length ? val : null, c.config, c.weights));
        const handle = next++;
        trainers.set(handle, r.trainer);
        const value: CreateReply = {
          handle,
          parameters: r.parameters,
          train,
          val,
          trainEnergies,
          valEnergies,
          acceptance,
          ms: performance.now() - t0,
        };
        return { value, transfer: [train.buffer, val.buffer, trainEnergies.buffer, valEnergies.buffer] };
      }
      case 'step': {
        const t0 = performance.now();
        const r = check(trainer(c.handle).step());
        return { value: { ...r, ms: performance.now() - t0 } };
      }
      case 'validate': {
        const t0 = performance.now();
        const r = check(trainer(c.handle).validate(c.seed, c.limit));
        return { value: { ...r, ms: performance.now() - t0 } };
      }
      case 'lr':
        check(trainer(c.handle).setLearningRate(c.lr));
        return { value: null };
      case 'snapshot':
        return { value: addFlow(check(trainer(c.handle).model()).model) };
      case 'load':
        return { value: addFlow(check(mod.loadParticleModel(c.bytes)).model) };
      case 'sample': {
        const r = check(flow(c.handle).sample(c.count, c.seed, c.rtol, c.atol, c.rotation, c.permutation, progress));
        return { value: r.positions, transfer: [r.positions.buffer] };
      }
      case 'score': {
        const t0 = performance.now();
        const r = check(flow(c.handle).logLikelihood(c.positions, c.trace, c.seed, c.rtol, c.atol, progress));
        return { value: { ...r, ms: performance.now() - t0 } };
      }
      case 'export': {
        const r = check(flow(c.handle).toSafetensors(c.metadata));
        return { value: r.bytes, transfer: [r.bytes.buffer] };
      }
      case 'energy': {
        const r = check(mod.systemEnergies(c.system, c.positions));
        return { value: r.energies, transfer: [r.energies.buffer] };
      }
      case 'crash':
        throw new Error('worker crash requested by a test');
      case 'release': {
        trainers.get(c.handle)?.delete();
        trainers.delete(c.handle);
        flows.get(c.handle)?.delete();
        flows.delete(c.handle);
        return { value: null };
      }
    }
  };
}
