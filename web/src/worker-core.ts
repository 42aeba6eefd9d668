// What runs inside each worker: one module instance, at most one loaded QM9 model, the trainers
// and particle flows it holds, one job at a time. Every operation is one entry of a handler table;
// the request and reply types of the protocol (protocol.ts) are derived from it, so an operation is
// added in one place. Shared by worker.browser.ts (Web Worker) and worker.node.ts (worker_threads);
// a worker made for tests or benchmarks passes extra handlers (createWorkerHandler's `extra`).
import { AbortError, InvalidInputError, recordFromError, type ErrorRecord } from './errors.js';
import { hillFormula } from './chem-tables.js';
import type { FrameMessage, InitRequest, JobRequest, Reply, Request, WarmRequest } from './protocol.js';
import type { Bond, ElementSymbol, Molecule, ScoreResult, VerifyCheck } from './types.js';
import {
  instantiate,
  type CallOptions,
  type EnfModuleFactory,
  type EnfWasmModule,
  type Fallible,
  type SampleRecord,
  type SystemWire,
  type TrainConfigRecord,
  type WasmModel,
  type WasmParticleModel,
  type WasmTrainer,
} from './wasm-module.js';
import type { Transfer } from './portable-types.js';

export type Post = (reply: Reply, transfer?: Transfer[]) => void;

class BindingError extends Error {
  constructor(readonly record: ErrorRecord) {
    super(record.message);
  }
}

export function check<T>(r: Fallible<T>): T {
  if (r.error) throw new BindingError(r.error);
  return r as T;
}

/** Builds the API's molecule from the core's arrays (bonds and stability come from the core too). */
export function describeMolecule(mod: EnfWasmModule, r: SampleRecord, seed: number): Molecule {
  const { elements, charges, positions } = r;
  const flat = check(mod.bonds(elements, positions)).bonds;
  const bonds: Bond[] = [];
  for (let k = 0; k + 2 < flat.length; k += 3) bonds.push({ i: flat[k], j: flat[k + 1], order: flat[k + 2] as Bond['order'] });
  const st = check(mod.stability(elements, positions));
  return {
    elements: elements as ElementSymbol[],
    charges: Array.from(charges),
    positions: Float32Array.from(positions),
    bonds,
    stable: st.stable,
    stableAtoms: st.stableAtoms,
    formula: hillFormula(elements),
    seed,
    nfe: r.nfe,
  };
}

/**
 * The meeting point of the parts of an exact trace split over workers, in shared memory: Int32
 * [arrived, round, stop], then two rounds' worth of diagonal entries (a round's buffer is reused two
 * rounds later, when every part has read it). Each part writes its block, the last to arrive opens
 * the round, and every part sums all entries in column order: the unsplit trace, to the last bit.
 * Returns null (stop) when the job was cancelled or another part failed (`stop` set).
 */
export function barrierExchange(buffer: SharedArrayBuffer, parts: number, go: () => boolean) {
  const ctrl = new Int32Array(buffer, 0, 4);
  const entries = new Float64Array(buffer, 16);
  const width = entries.length >> 1;
  return (block: Float64Array, begin: number, n: number): number | null => {
    if (n > width) {
      Atomics.store(ctrl, 2, 1);
      Atomics.notify(ctrl, 1);
      return null;
    }
    const round = Atomics.load(ctrl, 1);
    const base = (round & 1) * width;
    entries.set(block, base + begin);
    if (Atomics.add(ctrl, 0, 1) === parts - 1) {
      Atomics.store(ctrl, 0, 0);
      Atomics.add(ctrl, 1, 1);
      Atomics.notify(ctrl, 1);
    } else {
      while (Atomics.load(ctrl, 1) === round) {
        if (Atomics.load(ctrl, 2) !== 0 || !go()) {
          Atomics.store(ctrl, 2, 1);
          Atomics.notify(ctrl, 1);
          return null;
        }
        Atomics.wait(ctrl, 1, round, 50);
      }
    }
    let sum = 0;
    for (let i = 0; i < n; ++i) sum += entries[base + i]!;
    return sum;
  };
}

/** What a handler gets besides its request. */
export interface JobContext {
  mod: EnfWasmModule;
  /** The loaded QM9 model (throws when this worker has none: a training worker). */
  model(): WasmModel;
  /** Whether to continue: false once the job was cancelled. Never throws. */
  go(): boolean;
  /** Posts progress (at most ~100 replies per job) and returns go(). Never throws. */
  progress(fraction: number): boolean;
  /** Posts a trajectory frame. */
  frame(frame: FrameMessage): void;
}

export interface Handled<T> {
  value: T;
  transfer?: Transfer[];
}

export interface CreateReply {
  handle: number;
  /** The trainer's settings as the core uses them. */
  config: TrainConfigRecord;
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
  field: string;
  method: string;
  nTrain: number;
}

export interface ScoreRowsReply {
  logLikelihood: Float64Array;
  logPz: Float64Array;
  deltaLogp: Float64Array;
  nfe: Float64Array;
  ms: number;
}

/**
 * The operations of one worker. `state` keeps the trainers and particle flows by handle for the
 * worker's lifetime.
 */
export function createHandlers() {
  const trainers = new Map<number, WasmTrainer>();
  const flows = new Map<number, WasmParticleModel>();
  let next = 1;
  const trainer = (h: number): WasmTrainer => {
    const t = trainers.get(h);
    if (!t) throw new BindingError({ kind: 'Disposed', message: 'this trainer is not in this worker (disposed, or its worker was replaced)' });
    return t;
  };
  const flow = (h: number): WasmParticleModel => {
    const f = flows.get(h);
    if (!f)
      throw new BindingError({ kind: 'Disposed', message: 'this particle flow is not in this worker (disposed, or its worker was replaced)' });
    return f;
  };
  const addFlow = (m: WasmParticleModel): FlowInfo => {
    const handle = next++;
    flows.set(handle, m);
    return { handle, ...m.info() };
  };
  const timed = <T extends object>(f: () => T): T & { ms: number } => {
    const t0 = performance.now();
    const r = f();
    return { ...r, ms: performance.now() - t0 };
  };

  return {
    // ---- the QM9 model

    /** One molecule; `options` as api::sample_call reads them (seed already offset per job). */
    sample(req: { options: CallOptions; seed: number }, c: JobContext): Handled<Molecule> {
      const r = check(c.model().sample({ ...req.options, seed: req.seed, frames: 0 }, null, () => c.go()));
      const mol = describeMolecule(c.mod, r, req.seed);
      return { value: mol, transfer: [mol.positions.buffer] };
    },

    /** One molecule's trajectory: each frame posted as the solver passes it. */
    trajectory(req: { options: CallOptions; seed: number }, c: JobContext): Handled<Molecule> {
      const r = check(
        c.model().sample(
          { ...req.options, seed: req.seed },
          guard((index, t, elements, positions) => {
            c.frame({ index, t, elements, positions: Float32Array.from(positions) });
            return c.go();
          }),
          () => c.go(),
        ),
      );
      const mol = describeMolecule(c.mod, r, req.seed);
      return { value: mol, transfer: [mol.positions.buffer] };
    },

    /** log p of a molecule (arrays, or XYZ / SDF / MOL text parsed here); `options` as api::likelihood_call reads them. */
    score(
      req: {
        elements: Array<string | number>;
        positions: Float64Array;
        xyz: string;
        options: CallOptions;
        /** A part of an exact trace split over workers: their shared meeting point (see barrierExchange). */
        barrier?: SharedArrayBuffer | null;
      },
      c: JobContext,
    ): Handled<ScoreResult> {
      const m = c.model();
      const input = req.xyz ? check(c.mod.parseMolecule(req.xyz, m.maxAtoms())) : req;
      const t0 = performance.now();
      const exchange = req.barrier ? barrierExchange(req.barrier, Number(req.options.traceParts), () => c.go()) : null;
      const r = check(m.logLikelihood(input.elements, input.positions, req.options, guard((f) => c.progress(f)), exchange));
      const trace = req.options.trace === 'exact' ? 'exact' : 'hutchinson';
      return {
        value: {
          logLikelihood: r.logLikelihood,
          perAtom: r.perAtom,
          stderr: Number.isFinite(r.stderr) ? r.stderr : null,
          terms: { logPz: r.logPz, deltaLogp: r.deltaLogp, logQ: r.logQ, logPM: r.logPM },
          perSample: Array.from(r.perSample),
          nfe: r.nfe,
          ms: performance.now() - t0,
          atoms: r.atoms,
          trace,
        },
      };
    },

    verify(req: { json: string; options: CallOptions }, c: JobContext): Handled<VerifyCheck[]> {
      return { value: check(c.model().verify(req.json, req.options)).checks.map((x) => ({ ...x })) };
    },

    // ---- training mode: data, trainers, particle flows

    /** MCMC data (or the caller's), energies, and a trainer on them. */
    trainCreate(
      req: {
        system: SystemWire;
        /** Given data (flat rows) or null to generate nTrain / nVal samples by MCMC. */
        train: Float64Array | null;
        val: Float64Array | null;
        nTrain: number;
        nVal: number;
        seed: number;
        mcmc: CallOptions | null;
        config: CallOptions;
        weights: Uint8Array | null;
      },
      c: JobContext,
    ): Handled<CreateReply> {
      const { mod } = c;
      const t0 = performance.now();
      let train = req.train;
      let val = req.val;
      let trainEnergies: Float64Array;
      let valEnergies: Float64Array;
      let acceptance: number | null = null;
      const config = check(mod.checkTrainConfig(req.system, req.config)); // before the data: a bad batch fails at once
      if (!train) {
        // The validation chain is seeded seed + 1, as the core's make_dataset does.
        const share = req.nTrain / (req.nTrain + req.nVal);
        const data = (count: number, seed: number, from: number, part: number) =>
          check(mod.generateData(req.system, { ...req.mcmc, count, seed }, guard((f) => c.progress(from + f * part))));
        const d = data(req.nTrain, req.seed, 0, share);
        train = d.samples;
        trainEnergies = d.energies;
        acceptance = d.acceptance;
        if (req.nVal > 0) {
          const v = data(req.nVal, req.seed + 1, share, 1 - share);
          val = v.samples;
          valEnergies = v.energies;
        } else {
          val = new Float64Array(0);
          valEnergies = new Float64Array(0);
        }
      } else {
        trainEnergies = check(mod.systemEnergies(req.system, train)).energies;
        val ??= new Float64Array(0);
        valEnergies = val.length ? check(mod.systemEnergies(req.system, val)).energies : new Float64Array(0);
      }
      const r = check(mod.createTrainer(req.system, train, val.length ? val : null, req.config, req.weights));
      const handle = next++;
      trainers.set(handle, r.trainer);
      const value: CreateReply = {
        handle,
        config: { ...config },
        parameters: r.parameters,
        train,
        val,
        trainEnergies,
        valEnergies,
        acceptance,
        ms: performance.now() - t0,
      };
      return { value, transfer: [train.buffer, val.buffer, trainEnergies.buffer, valEnergies.buffer] };
    },

    trainStep(req: { handle: number }): Handled<{ loss: number; gradNorm: number; steps: number; epochs: number; ms: number }> {
      return { value: timed(() => check(trainer(req.handle).step())) };
    },

    trainValidate(req: { handle: number; options: CallOptions }): Handled<{ nll: number; samples: number; ms: number }> {
      return { value: timed(() => check(trainer(req.handle).validate(req.options))) };
    },

    trainLearningRate(req: { handle: number; lr: number }): Handled<null> {
      check(trainer(req.handle).setLearningRate(req.lr));
      return { value: null };
    },

    /** The trainer's current weights as a particle flow of this worker. */
    trainSnapshot(req: { handle: number }): Handled<FlowInfo> {
      return { value: addFlow(check(trainer(req.handle).model()).model) };
    },

    flowLoad(req: { bytes: Uint8Array }, c: JobContext): Handled<FlowInfo> {
      return { value: addFlow(check(c.mod.loadParticleModel(req.bytes)).model) };
    },

    flowSample(req: { handle: number; options: CallOptions }, c: JobContext): Handled<Float64Array> {
      const r = check(flow(req.handle).sample(req.options, guard((f) => c.progress(f))));
      return { value: r.positions, transfer: [r.positions.buffer] };
    },

    flowScore(req: { handle: number; positions: Float64Array; options: CallOptions }, c: JobContext): Handled<ScoreRowsReply> {
      return { value: timed(() => check(flow(req.handle).logLikelihood(req.positions, req.options, guard((f) => c.progress(f))))) };
    },

    flowExport(req: { handle: number; metadata: Record<string, string> }): Handled<Uint8Array> {
      const r = check(flow(req.handle).toSafetensors(req.metadata));
      return { value: r.bytes, transfer: [r.bytes.buffer] };
    },

    systemEnergy(req: { system: SystemWire; positions: Float64Array }, c: JobContext): Handled<Float64Array> {
      const r = check(c.mod.systemEnergies(req.system, req.positions));
      return { value: r.energies, transfer: [r.energies.buffer] };
    },

    release(req: { handle: number }): Handled<null> {
      trainers.get(req.handle)?.delete();
      trainers.delete(req.handle);
      flows.get(req.handle)?.delete();
      flows.delete(req.handle);
      return { value: null };
    },
  };
}

export type Handlers = ReturnType<typeof createHandlers>;
export type Op = keyof Handlers;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = (req: any, c: JobContext) => Handled<unknown>;
/** Handlers a test or benchmark worker adds (crash injection, heap size, timing loops). */
export type ExtraHandlers = Record<string, AnyHandler>;

// A callback the core calls must not throw: a JS exception would unwind the C++ frames without
// running their destructors. Any failure stops the solve instead (reported as aborted).
function guard<A extends unknown[]>(f: (...args: A) => boolean): (...args: A) => boolean {
  return (...args) => {
    try {
      return f(...args);
    } catch {
      return false;
    }
  };
}

/** Returns the message handler of a worker. `die` ends the worker after a fatal error. */
export function createWorkerHandler(factory: EnfModuleFactory, post: Post, die: () => void, extra: ExtraHandlers = {}) {
  let mod: EnfWasmModule | null = null;
  let model: WasmModel | null = null;
  let warming: Promise<EnfWasmModule> | null = null;
  let cancel: Int32Array | null = null;
  const table: Record<string, AnyHandler> = { ...createHandlers(), ...extra };

  return async function onMessage(req: Request): Promise<void> {
    if (req.op === 'warm') {
      warming = instantiate(factory, (req as WarmRequest).module);
      warming.catch(() => {}); // init reports the failure
      return;
    }
    try {
      if (req.op === 'init') {
        const init = req as InitRequest;
        cancel = init.cancel ? new Int32Array(init.cancel) : null;
        const t0 = performance.now();
        mod = await (warming ?? instantiate(factory, init.module));
        const t1 = performance.now();
        // No weights: a worker for training mode only (train.ts).
        if (init.weights.length > 0) model = check(mod.loadModel(init.weights, !init.checksumVerified)).model;
        const t2 = performance.now();
        post({
          id: init.id,
          kind: 'result',
          value: { maxAtoms: model?.maxAtoms() ?? 0, elements: model?.elements() ?? [], instantiateMs: t1 - t0, loadMs: t2 - t1 },
        });
        return;
      }
      const job = req as JobRequest;
      const handler = Object.hasOwn(table, job.op) ? table[job.op] : undefined;
      if (!handler) throw new InvalidInputError(`unknown worker operation '${job.op}'`);
      if (!mod) throw new InvalidInputError('the worker has no module loaded');
      const id = job.id;
      const go = () => cancel === null || Atomics.load(cancel, 0) !== id;
      let last = -1;
      const context: JobContext = {
        mod,
        model() {
          if (!model) throw new InvalidInputError('the worker has no model loaded');
          return model;
        },
        go,
        progress(fraction) {
          if (job.progress && fraction - last >= 0.01) {
            last = fraction;
            post({ id, kind: 'progress', fraction });
          }
          return go();
        },
        frame(frame) {
          post({ id, kind: 'frame', frame }, [frame.positions.buffer]);
        },
      };
      const r = handler(job, context);
      post({ id, kind: 'result', value: r.value }, r.transfer);
    } catch (e) {
      const id = (req as JobRequest | InitRequest).id;
      if (e instanceof BindingError) {
        post({ id, kind: 'error', error: e.record });
      } else if (e instanceof AbortError || e instanceof InvalidInputError) {
        post({ id, kind: 'error', error: recordFromError(e) });
      } else {
        // A WebAssembly trap or abort (out of memory, unreachable): the instance cannot be trusted.
        const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        post({ id, kind: 'error', error: { kind: 'WorkerCrashed', message }, fatal: true });
        die();
      }
    }
  };
}
