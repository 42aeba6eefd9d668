// Training mode: maximum-likelihood training of the particle E-NF on a built-in system or a user's
// pair energy (the paper's section 5.1), in a dedicated worker, and the trained flow's sample /
// score. The core is src/train/ (energies, MCMC, the differentiable flow, AdamW); the bindings are
// wasm/bindings_train.cpp; the worker side is the train* and flow* operations of worker-core.ts.
// Options the core reads (solver, trainer settings, MCMC overrides) pass through unchanged and are
// checked there (src/api/options.cpp).
import type { Platform } from './api.js';
import { AbortError, DisposedError, InvalidInputError, WorkerCrashedError } from './errors.js';
import { coreOptions, countAndSeed, integer, MAX_SEED, real } from './options.js';
import { WorkerPool, type JobOptions } from './pool.js';
import type { JobPayload, JobResult } from './protocol.js';
import { BUILT_IN_SYSTEMS } from './systems.generated.js';
import type { CreateReply, FlowInfo, Op } from './worker-core.js';
import type { SystemWire } from './wasm-module.js';
import type {
  FitOptions,
  FitProgress,
  FitResult,
  ParticleInput,
  ParticleSample,
  ParticleSampleOptions,
  ParticleScore,
  ParticleScoreOptions,
  ParticleSystemInfo,
  PairEnergySystem,
  TrainerData,
  TrainerOptions,
  TrainingMethod,
  TrainStep,
  ValidateOptions,
} from './types.js';
import type { Transfer } from './portable-types.js';

/** The core's built-in systems (src/train/systems.cpp), by name. */
const BUILT_IN = new Map<string, (typeof BUILT_IN_SYSTEMS)[number]>(BUILT_IN_SYSTEMS.map((s) => [s.name, s]));
const BUILT_IN_NAMES = BUILT_IN_SYSTEMS.map((s) => `'${s.name}'`).join(', ');

/** A system as the trainer uses it: the core's wire form plus its size. */
interface SystemSpec {
  wire: SystemWire;
  name: string;
  particles: number;
  dim: number;
}

/** The system as the worker takes it; a pair energy is tabulated here, on the calling thread. */
export function systemWire(system: TrainerOptions['system']): SystemSpec {
  if (typeof system === 'string') {
    const b = BUILT_IN.get(system);
    if (!b)
      throw new InvalidInputError(
        `unknown system '${system}': use ${BUILT_IN_NAMES} or { particles, dim, pairEnergy: (r) => number }`,
      );
    return { wire: { name: system }, name: system, particles: b.particles, dim: b.dim };
  }
  if (!system || typeof system !== 'object')
    throw new InvalidInputError(`system must be ${BUILT_IN_NAMES} or { particles, dim, pairEnergy: (r) => number }`);
  const s = system as PairEnergySystem;
  if (typeof s.pairEnergy !== 'function')
    throw new InvalidInputError('a custom system needs pairEnergy: a function of the distance r returning the energy');
  const particles = integer('system.particles', s.particles, 2, 1000);
  const dim = integer('system.dim', s.dim, 1, 3);
  const comSpring = real('system.comSpring', s.comSpring, 0, 1e6, 0);
  const range = s.range ?? [0, 10];
  if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new InvalidInputError('system.range must be [rMin, rMax], two finite numbers');
  const [rMin, rMax] = range;
  if (!(rMin >= 0 && rMax > rMin)) throw new InvalidInputError(`system.range needs 0 <= rMin < rMax, got [${rMin}, ${rMax}]`);
  const points = integer('system.points', s.points, 16, 1_000_000, 4001);
  const name = s.name ?? 'custom';
  if (typeof name !== 'string' || BUILT_IN.has(name))
    throw new InvalidInputError(`system.name must be a string other than the built-in ${BUILT_IN_NAMES}`);
  const table = new Float64Array(points);
  for (let k = 0; k < points; ++k) {
    const r = rMin + ((rMax - rMin) * k) / (points - 1);
    const e: unknown = s.pairEnergy(r);
    if (typeof e !== 'number')
      throw new InvalidInputError(`pairEnergy(${r}) returned ${typeof e}; it must return a number (the energy at distance r)`);
    if (Number.isNaN(e) || e === -Infinity)
      throw new InvalidInputError(
        `the pair energy diverges: pairEnergy(${r}) is ${e}; exp(-E) is a density only for energies that are finite ` +
          '(or +Infinity, a hard wall) and bounded below: cap it, or start system.range beyond the divergence',
      );
    table[k] = e;
  }
  return { wire: { name, particles, dim, comSpring, table, rMin, rMax }, name, particles, dim };
}

function isList(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/**
 * Flat rows (count x particles*dim) from a flat array, an array of rows, or samples with
 * `positions`; checks the dimensionality and that every number is finite, naming what to fix.
 */
export function rowsOf(input: unknown, size: number, what: string, describe: string): Float64Array {
  if (!isList(input))
    throw new InvalidInputError(`${what} must be an array: flat (count x ${size} numbers), one row per sample, or samples with positions`);
  const n = input.length;
  if (n === 0) throw new InvalidInputError(`${what} has no samples; pass at least one`);
  const first = input[0];
  let out: Float64Array;
  if (typeof first === 'object' && first !== null) {
    out = new Float64Array(n * size);
    for (let i = 0; i < n; ++i) {
      const item = input[i] as unknown;
      const row = isList(item) ? item : (item as { positions?: unknown } | null)?.positions;
      if (!isList(row)) throw new InvalidInputError(`${what}: sample ${i} is not an array of ${size} numbers`);
      if (row.length !== size)
        throw new InvalidInputError(`${what}: sample ${i} has ${row.length} numbers, but ${describe} needs ${size}`);
      for (let k = 0; k < size; ++k) out[i * size + k] = number(row[k], what, i, k);
    }
  } else {
    if (n % size !== 0)
      throw new InvalidInputError(
        `${what} holds ${n} numbers, not a whole number of samples: ${describe} needs ${size} per sample`,
      );
    out = new Float64Array(n);
    for (let k = 0; k < n; ++k) out[k] = number(input[k], what, Math.floor(k / size), k % size);
  }
  return out;
}

function number(v: unknown, what: string, i: number, k: number): number {
  if (typeof v !== 'number') throw new InvalidInputError(`${what}: sample ${i}, coordinate ${k} is ${typeof v}, not a number`);
  if (!Number.isFinite(v))
    throw new InvalidInputError(`${what} holds ${v} in sample ${i}, coordinate ${k}; remove or fix that sample`);
  return v;
}

function describeSystem(s: SystemSpec): string {
  return `system '${s.name}' (${s.particles} particles x ${s.dim} dimensions)`;
}

/**
 * Log-weights' normalised importance weights, Kish's effective sample size (sum w)^2 / sum w^2,
 * and log(mean w): with log w = -E(x) - log q(x) for x ~ q, the importance-sampling estimate of
 * log Z, the log normaliser of exp(-E).
 */
export function effectiveSampleSize(logWeights: ArrayLike<number>): {
  ess: number;
  fraction: number;
  weights: Float64Array;
  logMeanWeight: number;
} {
  const n = logWeights.length;
  const weights = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; ++i) if (logWeights[i] > max) max = logWeights[i];
  if (n === 0 || !Number.isFinite(max)) return { ess: 0, fraction: 0, weights, logMeanWeight: n === 0 ? NaN : max };
  let sum = 0;
  for (let i = 0; i < n; ++i) sum += weights[i] = Number.isNaN(logWeights[i]) ? 0 : Math.exp(logWeights[i] - max);
  let sq = 0;
  for (let i = 0; i < n; ++i) {
    weights[i] /= sum;
    sq += weights[i] * weights[i];
  }
  const ess = 1 / sq;
  return { ess, fraction: ess / n, weights, logMeanWeight: max + Math.log(sum / n) };
}

/** The worker behind a trainer and its flows: one pool of one worker, cancellation-aware. */
class TrainWorker {
  private pool: WorkerPool | null;
  private crashed: string | null = null;
  constructor(
    pool: WorkerPool,
    private readonly shared: boolean,
  ) {
    this.pool = pool;
  }

  static async start(platform: Platform, workerUrl?: URL | string, wasmUrl?: URL | string): Promise<TrainWorker> {
    const module = await platform.compileWasm(wasmUrl);
    const shared = platform.sharedMemory();
    const pool = new WorkerPool(platform.workerFactory(workerUrl), 1, shared);
    try {
      await pool.start({ module, weights: new Uint8Array(0), checksumVerified: true });
    } catch (e) {
      pool.dispose();
      throw e;
    }
    return new TrainWorker(pool, shared);
  }

  get alive(): boolean {
    return this.pool !== null;
  }

  /**
   * Runs an operation. A signal cancels it inside the core where shared memory lets the worker
   * see the request; elsewhere (a page that is not cross-origin isolated) the promise rejects at
   * once and the call finishes in the background, since stopping the worker would lose the trainer.
   */
  async run<K extends Op>(
    payload: JobPayload<K>,
    what: string,
    options: { signal?: AbortSignal; onProgress?: (f: number) => void; transfer?: Transfer[] } = {},
  ): Promise<JobResult<K>> {
    return (await this.runAny(payload, what, options)) as JobResult<K>;
  }

  /** @internal any operation, a test worker's included */
  async runAny(payload: { op: string } & Record<string, unknown>, what: string, options: JobOptions = {}): Promise<unknown> {
    if (this.crashed) throw new WorkerCrashedError(this.crashed);
    if (!this.pool) throw new DisposedError(`this ${what} was disposed; create a new one`);
    const { signal, onProgress, transfer } = options;
    if (signal?.aborted) throw new AbortError();
    const job = this.pool.run(payload, { signal: this.shared ? signal : undefined, onProgress, transfer });
    try {
      if (signal && !this.shared) {
        job.catch(() => {});
        return await new Promise<unknown>((resolve, reject) => {
          const stop = () => reject(new AbortError());
          signal.addEventListener('abort', stop, { once: true });
          job.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
        });
      }
      return await job;
    } catch (e) {
      if (e instanceof WorkerCrashedError && !this.crashed) {
        // The pool replaces a crashed worker, but this trainer's state died with the old one.
        this.crashed =
          `the worker running this ${what} crashed, and its state is lost: create a new trainer ` +
          `(export the weights now and then to resume from them). ${e.message}`;
        this.dispose();
      }
      if (this.crashed) throw new WorkerCrashedError(this.crashed, { cause: e });
      if (e instanceof DisposedError) throw new DisposedError(`this ${what} was disposed; create a new one`);
      throw e;
    }
  }

  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }
}

/** A trained particle E-NF: sample and score with the same shapes as the QM9 model. */
export class ParticleFlow {
  readonly system: ParticleSystemInfo;
  /** The velocity field's kind ('egnn': the E-NF; 'gnn', 'kernel', 'simple'). */
  readonly field: string;
  /** The Table 1 row that trained it (from the weights' metadata; files without one: the field's natural row). */
  readonly method: TrainingMethod;
  /** The training-set size, when the weights record it. */
  readonly nTrain: number | null;
  private disposed = false;

  /** @internal use trainer.model() or loadParticleFlow() */
  constructor(
    private readonly worker: TrainWorker,
    private readonly handle: number,
    info: FlowInfo,
    private readonly ownsWorker: boolean,
  ) {
    this.system = { name: info.system, particles: info.particles, dim: info.dim };
    this.field = info.field;
    this.method = info.method as TrainingMethod;
    this.nTrain = info.nTrain > 0 ? info.nTrain : null;
  }

  private get size(): number {
    return this.system.particles * this.system.dim;
  }

  private live(): TrainWorker {
    if (this.disposed || !this.worker.alive)
      throw new DisposedError('this particle flow was disposed (or its trainer was); get a new one');
    return this.worker;
  }

  /** `count` configurations (sample k from seed + k), t: 1 -> 0 (dopri5 unless `method` says otherwise). */
  async sample(options: ParticleSampleOptions): Promise<ParticleSample[]> {
    const worker = this.live();
    const o = options ?? ({} as ParticleSampleOptions);
    const { count, seed } = countAndSeed(o);
    const flat = await worker.run(
      { op: 'flowSample', handle: this.handle, options: coreOptions('sample', o, ['signal', 'onProgress']) },
      'particle flow',
      { signal: o.signal, onProgress: o.onProgress },
    );
    const size = this.size;
    return Array.from({ length: count }, (_, k) => ({
      positions: Float32Array.from(flat.subarray(k * size, (k + 1) * size)),
      seed: seed + k,
    }));
  }

  /** log p(x) of one configuration (centred first), nats. */
  async score(x: ParticleInput, options: ParticleScoreOptions = {}): Promise<ParticleScore> {
    const [r] = await this.scoreRows(rowsOf([toRow(x)], this.size, 'the configuration', this.describe()), options);
    return r;
  }

  /** log p(x) of many configurations (rows, a flat array, or samples); probes seeded seed + row. */
  scoreBatch(xs: ParticleInput[] | ArrayLike<number>, options: ParticleScoreOptions = {}): Promise<ParticleScore[]> {
    try {
      return this.scoreRows(rowsOf(xs, this.size, 'the configurations', this.describe()), options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private describe(): string {
    return `the model of '${this.system.name}' (${this.system.particles} particles x ${this.system.dim} dimensions)`;
  }

  private async scoreRows(positions: Float64Array, o: ParticleScoreOptions): Promise<ParticleScore[]> {
    const worker = this.live();
    const options = coreOptions('score', o, ['signal', 'onProgress']);
    const r = await worker.run(
      { op: 'flowScore', handle: this.handle, positions, options },
      'particle flow',
      { signal: o?.signal, onProgress: o?.onProgress, transfer: [positions.buffer] },
    );
    const trace = options.trace === 'exact' ? 'exact' : 'hutchinson';
    const n = r.logLikelihood.length;
    return Array.from({ length: n }, (_, i) => ({
      logLikelihood: r.logLikelihood[i],
      logPz: r.logPz[i],
      deltaLogp: r.deltaLogp[i],
      nfe: r.nfe[i],
      ms: r.ms / n,
      trace,
    }));
  }

  /** The weights as a .safetensors file (metadata: system, configuration, SHA-256, `metadata`). */
  async exportWeights(metadata: Record<string, string> = {}): Promise<Uint8Array> {
    const worker = this.live();
    if (!metadata || typeof metadata !== 'object' || Object.values(metadata).some((v) => typeof v !== 'string'))
      throw new InvalidInputError('metadata must be an object of strings');
    return worker.run({ op: 'flowExport', handle: this.handle, metadata: { ...metadata } }, 'particle flow');
  }

  /** Frees the flow (and its worker when it has its own); later calls reject with DisposedError. */
  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.disposed = true;
    if (this.ownsWorker) this.worker.dispose();
    else if (this.worker.alive) this.worker.run({ op: 'release', handle: this.handle }, 'particle flow').catch(() => {});
    return Promise.resolve();
  }

  /** `await using flow = await loadParticleFlow(bytes)` disposes the flow when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

function toRow(x: ParticleInput): unknown {
  if (x && typeof x === 'object' && !isList(x) && 'positions' in x) return (x as { positions: unknown }).positions;
  if (isList(x) && x.length > 0 && isList(x[0])) return Array.from(x as ArrayLike<ArrayLike<number>>, (r) => Array.from(r)).flat();
  return x;
}

/** Maximum-likelihood training of the particle E-NF in a dedicated worker. */
export class Trainer {
  readonly system: ParticleSystemInfo;
  /** Trainable parameters of the network. */
  readonly parameters: number;
  /** The training and validation samples (centred by the core before training) and their energies. */
  readonly data: TrainerData;
  readonly batch: number;
  /** The Table 1 row it trains. */
  readonly method: TrainingMethod;
  /** Steps per epoch: ceil(nTrain / batch). */
  readonly stepsPerEpoch: number;
  /** Steps taken and the epochs they completed. */
  steps = 0;
  epochs = 0;
  private lr: number;
  private readonly config: CreateReply['config'];

  /** @internal use createTrainer() */
  constructor(
    private readonly worker: TrainWorker,
    private readonly handle: number,
    private readonly spec: SystemSpec,
    reply: CreateReply,
  ) {
    this.system = { name: spec.name, particles: spec.particles, dim: spec.dim };
    this.parameters = reply.parameters;
    const size = spec.particles * spec.dim;
    this.data = {
      train: Float32Array.from(reply.train),
      val: Float32Array.from(reply.val),
      trainEnergies: reply.trainEnergies,
      valEnergies: reply.valEnergies,
      nTrain: reply.train.length / size,
      nVal: reply.val.length / size,
      acceptance: reply.acceptance,
      ms: reply.ms,
    };
    this.config = reply.config;
    this.batch = reply.config.batch;
    this.method = reply.config.method as TrainingMethod;
    this.stepsPerEpoch = Math.ceil(this.data.nTrain / reply.config.batch);
    this.lr = reply.config.lr;
  }

  /** One AdamW step on the next minibatch; loss is the batch's Hutchinson NLL estimate (nats). */
  async step(): Promise<TrainStep> {
    const r = await this.worker.run({ op: 'trainStep', handle: this.handle }, 'trainer');
    this.steps = r.steps;
    this.epochs = Math.floor(r.steps / this.stepsPerEpoch);
    return { step: r.steps, epoch: this.epochs, loss: r.loss, gradNorm: r.gradNorm, ms: r.ms };
  }

  /**
   * Trains for `epochs` epochs (default 1) or `steps` steps; validates after each epoch (or every
   * `validateEvery` steps) when there is a validation set. Aborting stops after the step in flight.
   */
  async fit(options: FitOptions = {}): Promise<FitResult> {
    const o = options ?? {};
    const steps =
      o.steps !== undefined
        ? integer('steps', o.steps, 1, 1e9)
        : integer('epochs', o.epochs, 1, 1e6, 1) * this.stepsPerEpoch;
    const every = integer('validateEvery', o.validateEvery, 0, 1e9, this.stepsPerEpoch);
    const validate = every > 0 && this.data.nVal > 0;
    const result: FitResult = { steps: 0, losses: [], validation: [], ms: 0 };
    const t0 = performance.now();
    for (let k = 0; k < steps; ++k) {
      if (o.signal?.aborted) throw new AbortError(undefined, { cause: o.signal.reason });
      const s = await this.step();
      result.steps++;
      result.losses.push(s.loss);
      const progress: FitProgress = { ...s, fraction: (k + 1) / steps };
      if (validate && ((k + 1) % every === 0 || k + 1 === steps)) {
        if (o.signal?.aborted) throw new AbortError(undefined, { cause: o.signal.reason });
        const nll = await this.validate({ samples: o.validationSamples });
        result.validation.push({ step: s.step, nll });
        progress.validationNll = nll;
      }
      try {
        o.onProgress?.(progress);
      } catch {
        // a progress callback must not stop training
      }
    }
    result.ms = performance.now() - t0;
    return result;
  }

  /**
   * Mean validation NLL (nats) with the training estimator: the loss's RK4 steps and Rademacher
   * probes, the probes fixed by `seed` so that successive calls compare like with like.
   */
  async validate(options: ValidateOptions = {}): Promise<number> {
    const o = coreOptions('validate', options, ['signal']);
    if (this.data.nVal === 0)
      throw new InvalidInputError('this trainer has no validation set: create it with nVal > 0 or data.val');
    const r = await this.worker.run({ op: 'trainValidate', handle: this.handle, options: o }, 'trainer', { signal: options?.signal });
    return r.nll;
  }

  /** Changes AdamW's learning rate from the next step on. */
  async setLearningRate(lr: number): Promise<void> {
    if (typeof lr !== 'number') throw new InvalidInputError('lr must be a number in (0, 1]');
    await this.worker.run({ op: 'trainLearningRate', handle: this.handle, lr }, 'trainer');
    this.lr = lr;
  }

  /** The current weights as a flow (a snapshot; it lives in this trainer's worker). */
  async model(): Promise<ParticleFlow> {
    const info = await this.worker.run({ op: 'trainSnapshot', handle: this.handle }, 'trainer');
    return new ParticleFlow(this.worker, info.handle, info, false);
  }

  /** The current weights as .safetensors bytes, with the training settings in the metadata. */
  async exportWeights(metadata: Record<string, string> = {}): Promise<Uint8Array> {
    const flow = await this.model();
    try {
      return await flow.exportWeights({
        trained_steps: String(this.steps),
        batch: String(this.batch),
        lr: String(this.lr),
        seed: String(this.config.seed),
        rk4_steps: String(this.config.rk4Steps),
        train_solver: this.config.solver,
        n_train: String(this.data.nTrain),
        ...metadata,
      });
    } finally {
      flow.dispose();
    }
  }

  /** E(x) of configurations under this trainer's system (+Infinity on a hard wall). */
  energy(xs: ParticleInput[] | ArrayLike<number>): Promise<Float64Array> {
    try {
      const positions = rowsOf(xs, this.spec.particles * this.spec.dim, 'the configurations', describeSystem(this.spec));
      return this.worker.run({ op: 'systemEnergy', system: this.spec.wire, positions }, 'trainer', { transfer: [positions.buffer] });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Stops the worker; later calls (and flows from model()) reject with DisposedError. */
  dispose(): Promise<void> {
    this.worker.dispose(); // terminated synchronously; the promise reads well as `await trainer.dispose()`
    return Promise.resolve();
  }

  /** `await using trainer = await createTrainer(…)` disposes the trainer when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** @internal for tests: an operation of a test worker (createTrainer's workerUrl). */
  _run(payload: { op: string } & Record<string, unknown>): Promise<unknown> {
    return this.worker.runAny(payload, 'trainer');
  }
}

/** createTrainer() for a platform (index.ts, node.ts). */
export async function createTrainerWith(platform: Platform, options: TrainerOptions): Promise<Trainer> {
  const o = options ?? ({} as TrainerOptions);
  if (!o || typeof o !== 'object')
    throw new InvalidInputError(`createTrainer takes an options object: { system: ${BUILT_IN_NAMES} or {...} }`);
  const spec = systemWire(o.system);
  const size = spec.particles * spec.dim;
  const seed = integer('seed', o.seed, 0, MAX_SEED - 2, 0);
  // The trainer's settings (batch, lr, rk4Steps, method, field, ...) are the core's to read.
  const config = coreOptions('createTrainer', o, ['system', 'nTrain', 'nVal', 'data', 'weights', 'mcmc', 'onProgress', 'signal', 'workerUrl', 'wasmUrl']);
  let train: Float64Array | null = null;
  let val: Float64Array | null = null;
  let nTrain = 0;
  let nVal = 0;
  if (o.data !== undefined) {
    if (!o.data || typeof o.data !== 'object' || !('train' in o.data))
      throw new InvalidInputError('data must be { train, val? }: configurations as flat arrays or rows');
    const what = describeSystem(spec);
    train = rowsOf(o.data.train, size, 'the training set', what);
    val = o.data.val === undefined ? null : rowsOf(o.data.val, size, 'the validation set', what);
  } else {
    nTrain = integer('nTrain', o.nTrain, 1, 10_000_000, BUILT_IN.get(spec.name)?.nTrain ?? 1000);
    nVal = integer('nVal', o.nVal, 0, 10_000_000, 200);
  }
  const mcmc = o.mcmc === undefined ? null : coreOptions('mcmc', o.mcmc, []);
  let weights: Uint8Array | null = null;
  if (o.weights !== undefined) {
    if (!(o.weights instanceof Uint8Array) && !(o.weights instanceof ArrayBuffer))
      throw new InvalidInputError('weights must be the bytes of an exported .safetensors file (Uint8Array or ArrayBuffer)');
    weights = new Uint8Array(o.weights instanceof ArrayBuffer ? o.weights.slice(0) : o.weights.slice());
  }
  if (o.signal?.aborted) throw new AbortError();
  const worker = await TrainWorker.start(platform, o.workerUrl, o.wasmUrl);
  try {
    const reply = await worker.run(
      { op: 'trainCreate', system: spec.wire, train, val, nTrain, nVal, seed, mcmc, config, weights },
      'trainer',
      {
        signal: o.signal,
        transfer: [train?.buffer, val?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer),
        onProgress: o.onProgress
          ? (fraction) => {
              try {
                o.onProgress!({ phase: 'data', fraction });
              } catch {
                // a progress callback must not break creation
              }
            }
          : undefined,
      },
    );
    return new Trainer(worker, reply.handle, spec, reply);
  } catch (e) {
    worker.dispose();
    throw e;
  }
}

/** loadParticleFlow() for a platform: exported weights in a worker of their own. */
export async function loadParticleFlowWith(platform: Platform, bytes: Uint8Array | ArrayBuffer): Promise<ParticleFlow> {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer))
    throw new InvalidInputError('loadParticleFlow takes the bytes of an exported .safetensors file (Uint8Array or ArrayBuffer)');
  const copy = new Uint8Array(bytes instanceof ArrayBuffer ? bytes.slice(0) : bytes.slice());
  const worker = await TrainWorker.start(platform);
  try {
    const info = await worker.run({ op: 'flowLoad', bytes: copy }, 'particle flow', { transfer: [copy.buffer] });
    return new ParticleFlow(worker, info.handle, info, true);
  } catch (e) {
    worker.dispose();
    throw e;
  }
}
