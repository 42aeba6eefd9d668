// The package's API, independent of the platform: loadModel() and the model's methods. The browser
// entry (index.ts) and the Node entry (node.ts) bind it to Web Workers or worker_threads.
import { hillFormula } from './chem-tables.js';
import { AbortError, DisposedError, EnfError, InvalidInputError, WeightsError, errorFromRecord } from './errors.js';
import { checkKeys, coreOptions, countAndSeed, didYouMean, integer, MAX_SEED } from './options.js';
import { inPool, WorkerPool, type JobOptions, type WorkerFactory } from './pool.js';
import type { FrameMessage } from './protocol.js';
import type {
  Bond,
  ElementSymbol,
  Frame,
  LoadProgress,
  Molecule,
  MoleculeInput,
  ParsedMolecule,
  ScoreOptions,
  ScoreResult,
  SampleOptions,
  StabilityResult,
  TrajectoryOptions,
  VerifyCheck,
  VerifyOptions,
  SdfRecord,
  ScoreManyItem,
  ScoreManyOptions,
} from './types.js';
import { parseSafetensorsHeader, readWeightsHeader, type WeightsInfo } from './weights.js';
import { instantiate, type EnfModuleFactory, type EnfWasmModule, type Fallible } from './wasm-module.js';
import type { CompiledWasm } from './portable-types.js';

/** Where the platform entry points find things. */
export interface Platform {
  /** Workers running `script` (default: the package's own worker). */
  workerFactory(script?: URL | string): WorkerFactory;
  /** Compiles enf_wasm.wasm, the package's own or the copy at `wasmUrl` (once per page or process). */
  compileWasm(wasmUrl?: URL | string): Promise<CompiledWasm>;
  /** The Emscripten factory, for the main-thread helper instance. */
  loadFactory(): Promise<EnfModuleFactory>;
  /** Logical cores. */
  concurrency(): number;
  /** Whether SharedArrayBuffer exists here (Node; cross-origin-isolated pages). */
  sharedMemory(): boolean;
  /** Reads a URL (and, in Node, a file path). */
  readSource(source: string | URL, onBytes: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<Uint8Array>;
  /** Bundled models by name: where the file is. */
  bundled: Record<string, () => URL>;
}

/** 'qm9' (the bundled model; editors complete it), a URL or path string, a URL, bytes or a Blob. */
export type ModelSource = 'qm9' | (string & {}) | URL | ArrayBuffer | ArrayBufferView | Blob;

export interface LoadOptions {
  /**
   * Called as the weights download and the workers start: `fraction` runs from 0 to 1 (the
   * download is most of it); `detail` says which phase and how far.
   */
  onProgress?: (fraction: number, detail: LoadProgress) => void;
  /** Number of workers (default: the machine's logical cores, at most 16). */
  workers?: number;
  /**
   * The worker script to run instead of the package's own (a module worker; in Node a path or
   * file: URL): for bundlers that do not resolve `new URL('./worker…', import.meta.url)`, and for
   * workers that add operations (tests, benchmarks).
   */
  workerUrl?: URL | string;
  /**
   * Where enf_wasm.wasm is, for bundlers that do not copy the package's assets (Rollup, esbuild):
   * copy dist/worker.browser.js (self-contained), dist/enf_wasm.wasm and dist/qm9.safetensors next
   * to your bundle and pass their URLs as workerUrl, wasmUrl and the source. See the README.
   */
  wasmUrl?: URL | string;
  signal?: AbortSignal;
}

/** Elements and flat positions of a molecule given with flat or nested positions (the core checks the rest). */
export function moleculeArrays(m: MoleculeInput): { elements: Array<string | number>; positions: Float64Array } {
  if (!m || typeof m !== 'object' || !isList(m.elements) || !isList(m.positions))
    throw new InvalidInputError('a molecule needs `elements` (symbols or atomic numbers) and `positions` (Å), both arrays');
  const elements = Array.from(m.elements as ArrayLike<string | number>);
  const M = elements.length;
  const p = m.positions as ArrayLike<unknown>;
  // Numbers only: JS would quietly turn null into 0 and '1.0' into 1. NaN and infinities are
  // numbers; the core rejects them with the atom they belong to.
  const coordinate = (v: unknown, where: string): number => {
    if (typeof v !== 'number') throw new InvalidInputError(`${where} is ${describe(v)}; coordinates must be numbers (Å)`);
    return v;
  };
  let positions: Float64Array;
  if (p.length > 0 && typeof p[0] === 'object' && p[0] !== null) {
    if (p.length !== M)
      throw new InvalidInputError(`the molecule has ${M} elements but ${p.length} position rows; give one [x, y, z] per atom`);
    positions = new Float64Array(3 * M);
    for (let i = 0; i < M; ++i) {
      const row = p[i];
      if (!isList(row) || row.length !== 3)
        throw new InvalidInputError(`position row ${i} is ${isList(row) ? `${row.length} numbers` : describe(row)}; give [x, y, z]`);
      for (let d = 0; d < 3; ++d) positions[3 * i + d] = coordinate(row[d], `position row ${i}, entry ${d}`);
    }
  } else {
    if (p.length !== 3 * M)
      throw new InvalidInputError(`positions hold ${p.length} numbers but ${M} atoms need ${3 * M} (x, y, z per atom, Å)`);
    positions = new Float64Array(3 * M); // a copy: the caller's array is never transferred or changed
    if (p instanceof BigInt64Array || p instanceof BigUint64Array)
      throw new InvalidInputError('positions must be numbers (Å), not BigInts');
    if (ArrayBuffer.isView(p)) positions.set(p as ArrayLike<number>);
    else for (let k = 0; k < p.length; ++k) positions[k] = coordinate(p[k], `positions[${k}]`);
  }
  return { elements, positions };
}

function isList(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `the string '${v.length > 20 ? v.slice(0, 20) + '…' : v}'`;
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function frameFromMessage(f: FrameMessage): Frame {
  return { index: f.index, t: f.t, elements: f.elements as ElementSymbol[], positions: f.positions };
}

/** The pretrained QM9 E-NF, running in a pool of workers. */
export class EnfModel {
  /** The largest molecule the model handles (29 atoms for QM9). */
  readonly maxAtoms: number;
  /** The elements the model knows, in its order (QM9: H, C, N, O, F); others are refused. */
  readonly elements: readonly ElementSymbol[];
  /** The weights file's size, SHA-256 and metadata (configuration, license). */
  readonly weights: WeightsInfo;
  private pool: WorkerPool | null;
  /** How long the first worker took to instantiate the module and to load the weights, ms. */
  timings: { workerInstantiateMs: number; workerLoadMs: number } = { workerInstantiateMs: 0, workerLoadMs: 0 };

  /** @internal use loadModel() */
  constructor(pool: WorkerPool, maxAtoms: number, weights: WeightsInfo, elements: readonly string[] = []) {
    this.pool = pool;
    this.maxAtoms = maxAtoms;
    this.elements = Object.freeze([...elements]) as readonly ElementSymbol[];
    this.weights = weights;
  }

  /** Number of workers in the pool. */
  get workers(): number {
    return this.pool?.workers ?? 0;
  }

  private live(): WorkerPool {
    if (!this.pool) throw new DisposedError();
    return this.pool;
  }

  /** Samples `count` molecules (seeds seed, seed + 1, ...), spread over the pool. */
  async sample(options: SampleOptions): Promise<Molecule[]> {
    const pool = this.live();
    const o = options ?? ({} as SampleOptions);
    const { count, seed } = countAndSeed(o);
    const core = coreOptions('sample', o, ['count', 'signal']);
    // One job per molecule, at most two per worker in flight (so a batch of 10^6 neither
    // allocates 10^6 jobs nor blocks the thread to start or abort); the signal or a failure stops it.
    const out = new Array<Molecule>(count);
    await inPool(count, 2 * pool.workers, o.signal, async (k, signal) => {
      out[k] = (await pool.run({ op: 'sample', options: core, seed: seed + k }, { signal })) as Molecule;
    });
    return out;
  }

  /**
   * Streams the sampling trajectory: an async iterable that yields each frame as the solver
   * reaches it (t from 1 to 0). The last frame equals `sample({ seed, atoms })`'s molecule.
   * Leaving the loop early (break) cancels the solve.
   */
  sampleTrajectory(options: TrajectoryOptions): AsyncIterable<Frame> {
    const pool = this.live();
    const o = options ?? ({} as TrajectoryOptions);
    const seed = integer('seed', o.seed, 0, MAX_SEED);
    const frames = integer('frames', o.frames, 2, 10000, 50);
    const core = { ...coreOptions('sampleTrajectory', o, ['signal']), frames };
    let started = false;
    return {
      [Symbol.asyncIterator](): AsyncIterator<Frame> {
        if (started) throw new InvalidInputError('a trajectory can be iterated once; call sampleTrajectory again');
        started = true;
        const inner = new AbortController();
        const forward = () => inner.abort(o.signal?.reason);
        if (o.signal?.aborted) inner.abort(o.signal.reason);
        else o.signal?.addEventListener('abort', forward, { once: true });
        const buffer: Frame[] = [];
        let finished = false;
        let failure: unknown = null;
        let wake: (() => void) | null = null;
        const notify = () => {
          const w = wake;
          wake = null;
          w?.();
        };
        const job = pool.run(
          { op: 'trajectory', options: core, seed },
          {
            signal: inner.signal,
            onFrame: (f) => {
              buffer.push(frameFromMessage(f));
              notify();
            },
          },
        );
        job.then(
          () => {
            finished = true;
            notify();
          },
          (e) => {
            failure = e;
            finished = true;
            notify();
          },
        );
        const cleanup = () => o.signal?.removeEventListener('abort', forward);
        return {
          async next(): Promise<IteratorResult<Frame>> {
            for (;;) {
              if (buffer.length) return { value: buffer.shift()!, done: false };
              if (failure) {
                cleanup();
                throw failure;
              }
              if (finished) {
                cleanup();
                return { value: undefined, done: true };
              }
              await new Promise<void>((r) => (wake = r));
            }
          },
          async return(): Promise<IteratorResult<Frame>> {
            cleanup();
            if (!finished) inner.abort();
            job.catch(() => {});
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  /**
   * log p(x, h, M) in nats, with its terms, of each molecule: an array of molecules (or XYZ / MOL
   * texts), or the text of an SDF with many records. Spread over the pool; a molecule that fails (a
   * record that cannot be read, a solver error) gets its error and the others go on. Progress after
   * each molecule; the signal aborts them all (the promise rejects with AbortError).
   */
  async scoreMany(inputs: ReadonlyArray<MoleculeInput | string> | string, options: ScoreManyOptions = {}): Promise<ScoreManyItem[]> {
    const pool = this.live();
    const o = options ?? {};
    const core = coreOptions('score', o, ['signal', 'onProgress']);
    if (o.signal?.aborted) throw new AbortError();
    type Entry = { title: string; payload: Record<string, unknown> | null; error: Error | null };
    let entries: Entry[];
    if (typeof inputs === 'string') {
      const records = parseSdfText(inputs);
      entries = records.map((r) => ({
        title: r.title,
        payload: r.molecule ? { elements: r.molecule.elements, positions: r.molecule.positions, xyz: '' } : null,
        error: r.error ? new InvalidInputError(r.error) : null,
      }));
    } else if (Array.isArray(inputs)) {
      entries = inputs.map((m) => {
        try {
          if (typeof m === 'string') return { title: '', payload: { elements: [], positions: new Float64Array(0), xyz: m }, error: null };
          const a = moleculeArrays(m);
          return { title: '', payload: { elements: a.elements, positions: a.positions, xyz: '' }, error: null };
        } catch (e) {
          return { title: '', payload: null, error: e instanceof Error ? e : new InvalidInputError(String(e)) };
        }
      });
    } else {
      throw new InvalidInputError('scoreMany takes an array of molecules (or XYZ / MOL texts) or the text of an SDF file');
    }
    let done = 0;
    const tick = () => {
      done += 1;
      try {
        o.onProgress?.(done / entries.length, done);
      } catch {
        // a progress callback must not break the batch
      }
    };
    const out = new Array<ScoreManyItem>(entries.length);
    // At most two molecules per worker in flight, as in sample().
    await inPool(entries.length, 2 * pool.workers, o.signal, async (index, signal) => {
      const e = entries[index]!;
      if (!e.payload) {
        out[index] = { index, title: e.title, score: null, error: e.error };
        tick();
        return;
      }
      try {
        const score = (await pool.run({ op: 'score', ...e.payload, options: core } as never, { signal })) as ScoreResult;
        out[index] = { index, title: e.title, score, error: null };
      } catch (err) {
        if (signal.aborted || err instanceof AbortError || err instanceof DisposedError) throw err;
        out[index] = { index, title: e.title, score: null, error: err instanceof Error ? err : new EnfError(String(err)) };
      }
      tick();
    });
    return out;
  }

  /** log p(x, h, M) of a molecule (or XYZ / SDF / MOL text) in nats, with its terms. */
  async score(input: MoleculeInput | string, options: ScoreOptions = {}): Promise<ScoreResult> {
    const pool = this.live();
    const o = options ?? {};
    const core = coreOptions('score', o, ['signal', 'onProgress', 'split']);
    let arrays: { elements: Array<string | number>; positions: Float64Array } | null = null;
    let xyz = '';
    if (typeof input === 'string') xyz = input;
    else arrays = moleculeArrays(input);
    const onProgress = o.onProgress;
    const payload = { op: 'score' as const, elements: arrays?.elements ?? [], positions: arrays?.positions ?? new Float64Array(0), xyz, options: core };
    const parts = splitParts(o, pool);
    if (parts <= 1) return pool.run(payload, { signal: o.signal, onProgress }) as Promise<ScoreResult>;
    return scoreSplit(pool, payload, parts, xyz ? xyz.length : payload.elements.length, o.signal, onProgress);
  }

  /**
   * Recomputes golden reference cases (../shared/golden/*.json) and reports each quantity's
   * largest absolute error against the core's tolerance.
   */
  async verify(goldenJson: string, options: VerifyOptions = {}): Promise<VerifyCheck[]> {
    const pool = this.live();
    if (typeof goldenJson !== 'string') throw new InvalidInputError('verify takes the text of a golden JSON file');
    return pool.run({ op: 'verify', json: goldenJson, options: coreOptions('verify', options, ['signal']) }, { signal: options?.signal });
  }

  /** Stops the workers and frees their memory; pending calls reject with DisposedError. */
  dispose(): Promise<void> {
    this.pool?.dispose();
    this.pool = null;
    // The workers are terminated synchronously; the promise lets `await model.dispose()` read well.
    return Promise.resolve();
  }

  /** `await using model = await loadModel()` disposes the model when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** @internal for benchmarks and tests */
  _run(payload: { op: string } & Record<string, unknown>, options?: JobOptions): Promise<unknown> {
    return this.live().run(payload, options);
  }
}

/** Workers an exact score is split over (1: not split). */
function splitParts(o: ScoreOptions, pool: WorkerPool): number {
  const split = o.split;
  if (split === undefined || split === null) return 1;
  if (o.trace !== 'exact') throw new InvalidInputError("score: split needs trace 'exact' (Hutchinson's estimate is one pass already)");
  if ((o.samples ?? 1) !== 1) throw new InvalidInputError('score: split needs one dequantization sample (samples: 1)');
  const wanted = split === 'pool' ? pool.workers : integer('split', split, 1, 256);
  return pool.synchronised ? Math.min(wanted, pool.workers) : 1;
}

/**
 * One exact score on `parts` workers at once, each a contiguous run of the Jacobian's columns; they
 * meet at every evaluation in a shared buffer (worker-core's barrierExchange), so every part
 * returns the unsplit result. A part that fails stops the others.
 */
async function scoreSplit(
  pool: WorkerPool,
  payload: { op: 'score'; elements: Array<string | number>; positions: Float64Array; xyz: string; options: Record<string, unknown> },
  parts: number,
  sizeHint: number,
  signal: AbortSignal | undefined,
  onProgress: ((fraction: number) => void) | undefined,
): Promise<ScoreResult> {
  // Two rounds of diagonal entries: at most (3 + features) per atom, features < 32 (an XYZ text has
  // fewer atoms than characters).
  const width = Math.max(1, sizeHint) * 36;
  const barrier = new SharedArrayBuffer(16 + 2 * 8 * width);
  const stop = () => {
    const ctrl = new Int32Array(barrier, 0, 4);
    Atomics.store(ctrl, 2, 1);
    Atomics.notify(ctrl, 1);
  };
  const t0 = performance.now();
  const jobs = pool.runGang(
    Array.from({ length: parts }, (_, k) => ({ ...payload, options: { ...payload.options, tracePart: k, traceParts: parts }, barrier })),
    Array.from({ length: parts }, (_, k) => ({ signal, onProgress: k === 0 ? onProgress : undefined })),
  );
  // The first real failure wins; the others' "aborted" (stopped at the barrier) follows from it.
  let first: unknown = null;
  const results = await Promise.all(
    jobs.map((p) =>
      (p as Promise<ScoreResult>).catch((e: unknown) => {
        first ??= e;
        stop();
        return null;
      }),
    ),
  );
  if (first) throw first;
  const r = results[0]!;
  for (const other of results)
    if (other!.logLikelihood !== r.logLikelihood || other!.nfe !== r.nfe)
      throw new EnfError('the parts of a split exact trace disagree (an internal error); score without split');
  return { ...r, ms: performance.now() - t0, parts };
}

async function sourceBytes(
  platform: Platform,
  source: ModelSource,
  report: (p: LoadProgress) => void,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (typeof source === 'string' && Object.hasOwn(platform.bundled, source)) {
    const url = platform.bundled[source]();
    return platform.readSource(url, (loaded, total) => report({ phase: 'download', loaded, total }), signal);
  }
  // A bare word is a model name, not a relative URL or file (which would 404 or not exist).
  if (typeof source === 'string' && /^[A-Za-z][\w-]*$/.test(source)) {
    const names = Object.keys(platform.bundled);
    const near = didYouMean(source, names);
    throw new InvalidInputError(
      `unknown model '${source}'${near ? ` (did you mean '${near}'?)` : ''}: the bundled models are ${names.map((n) => `'${n}'`).join(', ')}; ` +
        'or pass a URL, a file path (Node), bytes or a Blob of a .safetensors file',
    );
  }
  if (typeof source === 'string' || source instanceof URL) {
    return platform.readSource(source, (loaded, total) => report({ phase: 'download', loaded, total }), signal);
  }
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  throw new InvalidInputError(
    "loadModel's source must be a bundled model name ('qm9'), a URL, a file path (Node), bytes (ArrayBuffer / Uint8Array) or a Blob",
  );
}

/**
 * Checks the SHA-256 recorded in the weights' metadata with WebCrypto. Returns false when it cannot
 * (no digest in the file, or no crypto.subtle outside secure contexts): the core checks then.
 */
async function verifyChecksum(bytes: Uint8Array, info: WeightsInfo): Promise<boolean> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!info.sha256 || !subtle) return false;
  // A truncated or padded file is the core's to diagnose (it names the tensor): hash only a data
  // section whose size matches the header.
  const { dataStart, dataEnd } = parseSafetensorsHeader(bytes);
  if (bytes.length - dataStart !== dataEnd) return false;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes.subarray(dataStart) as Uint8Array<ArrayBuffer>));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== info.sha256)
    throw new WeightsError(
      `weights file checksum mismatch (sha256 ${hex.slice(0, 12)}… expected ${info.sha256.slice(0, 12)}…): the file is corrupt; download or convert it again`,
    );
  return true;
}

/** Loads a model: downloads and checks the weights, then starts the worker pool. */
export async function loadModelWith(platform: Platform, source: ModelSource = 'qm9', options: LoadOptions = {}): Promise<EnfModel> {
  // Overall fraction: download 0 -> 0.8, then the first worker 0.8 -> 0.95, ready = 1.
  const fraction = (p: LoadProgress) => {
    const part = p.total > 0 ? Math.min(1, p.loaded / p.total) : 0;
    if (p.phase === 'download') return 0.8 * part;
    if (p.phase === 'compile') return 0.8;
    if (p.phase === 'workers') return p.loaded >= 1 ? 0.95 : 0.8;
    return 1;
  };
  let last = -1;
  const report = (p: LoadProgress) => {
    const f = fraction(p);
    if (p.phase === 'workers' && last >= 1) return; // background workers after ready: not progress
    last = Math.max(last, f);
    try {
      options.onProgress?.(last, p);
    } catch {
      // a progress callback must not break loading
    }
  };
  checkKeys('loadModel', options, ['onProgress', 'workers', 'workerUrl', 'wasmUrl', 'signal']);
  const workers = integer('workers', options.workers, 1, 256, Math.max(1, Math.min(16, platform.concurrency())));
  // Everything that can overlap does: the wasm compiles, the first worker's script loads and the
  // weights download at the same time.
  const compiled = platform.compileWasm(options.wasmUrl);
  compiled.catch(() => {});
  const helperReady = loadHelper(platform, options.wasmUrl);
  helperReady.catch(() => {});
  const pool = new WorkerPool(platform.workerFactory(options.workerUrl), workers, platform.sharedMemory());
  compiled.then((m) => pool.warm(m), () => {});
  try {
    const bytes = await sourceBytes(platform, source, report, options.signal);
    const info = readWeightsHeader(bytes);
    report({ phase: 'compile', loaded: bytes.length, total: bytes.length });
    // One SHA-256 check here (WebCrypto, native speed) spares every worker its own in WebAssembly.
    const checksumVerified = await verifyChecksum(bytes, info);
    const module = await compiled;
    if (options.signal?.aborted) throw new AbortError();
    const [started] = await Promise.all([
      pool.start({ module, weights: bytes, checksumVerified }, (ready, total) => report({ phase: 'workers', loaded: ready, total })),
      helperReady,
    ]);
    report({ phase: 'ready', loaded: 1, total: 1 });
    const model = new EnfModel(pool, started.maxAtoms, info, started.elements);
    model.timings = { workerInstantiateMs: started.instantiateMs, workerLoadMs: started.loadMs };
    return model;
  } catch (e) {
    pool.dispose();
    throw e;
  }
}

// ---- helpers on a main-thread module instance (light work: parsing, formatting, valence checks)

let helper: EnfWasmModule | null = null;
let helperLoading: Promise<EnfWasmModule> | null = null;

/** Instantiates the main-thread helper module (once); loadModel() does this too. */
export function loadHelper(platform: Platform, wasmUrl?: URL | string): Promise<EnfWasmModule> {
  if (helper) return Promise.resolve(helper);
  if (!helperLoading) {
    helperLoading = Promise.all([platform.loadFactory(), platform.compileWasm(wasmUrl)])
      .then(([f, m]) => instantiate(f, m))
      .then((mod) => (helper = mod));
    helperLoading.catch(() => (helperLoading = null));
  }
  return helperLoading;
}

function helperModule(): EnfWasmModule {
  if (!helper)
    throw new EnfError(
      'the WebAssembly module is not loaded yet: await loadModel() (or ready()) before calling parseXYZ, toXYZ, toSDF or stability',
    );
  return helper;
}

function unwrap<T>(r: Fallible<T>): T {
  if (r.error) throw errorFromRecord(r.error);
  return r as T;
}

/** Every record of an SDF / MOL text (the helper module is loaded by loadModel or ready()). */
function parseSdfText(text: string): SdfRecord[] {
  if (typeof text !== 'string') throw new InvalidInputError('parseSDF takes the text of an SDF or MOL file');
  const r = unwrap(helperModule().parseSdf(text, 100000));
  return r.records.map((x) => ({
    index: x.index,
    line: x.line,
    title: x.title,
    molecule: x.error ? null : { elements: (x.elements ?? []) as ElementSymbol[], positions: x.positions ?? new Float64Array(0) },
    error: x.error || null,
  }));
}

export function chemHelpers(platform: Platform) {
  return {
    /** Resolves when the helpers below can run (loadModel() waits for this too); `wasmUrl` as in loadModel. */
    async ready(options: { wasmUrl?: URL | string } = {}): Promise<void> {
      checkKeys('ready', options, ['wasmUrl']);
      await loadHelper(platform, options?.wasmUrl);
    },
    /** Parses XYZ text (first frame) into elements and flat positions (Å). */
    parseXYZ(text: string): ParsedMolecule {
      if (typeof text !== 'string') throw new InvalidInputError('parseXYZ takes the text of an XYZ file');
      const r = unwrap(helperModule().parseXyz(text, 100000));
      return { elements: r.elements as ElementSymbol[], positions: r.positions };
    },
    /**
     * Every record of an SDF (or the molecule of a MOL file), V2000: each with its atoms and
     * positions, or its error (naming record and line) while the other records still read.
     */
    parseSDF: parseSdfText,
    /** One molecule from XYZ (first frame) or one-record SDF / MOL text, told apart by content. */
    parseMolecule(text: string): ParsedMolecule {
      if (typeof text !== 'string') throw new InvalidInputError('parseMolecule takes the text of an XYZ, SDF or MOL file');
      const r = unwrap(helperModule().parseMolecule(text, 100000));
      return { elements: r.elements as ElementSymbol[], positions: r.positions };
    },
    /** XYZ text of a molecule. */
    toXYZ(molecule: MoleculeInput, comment = ''): string {
      const { elements, positions } = moleculeArrays(molecule);
      return unwrap(helperModule().toXyz(elements, positions, String(comment))).text;
    },
    /** SDF (V2000) text of a molecule, with bonds inferred from distances. */
    toSDF(molecule: MoleculeInput, title = ''): string {
      const { elements, positions } = moleculeArrays(molecule);
      return unwrap(helperModule().toSdf(elements, positions, String(title))).text;
    },
    /** Bonds the QM9 bond-length rule infers from interatomic distances (i < j, order 1 to 3). */
    bonds(molecule: MoleculeInput): Bond[] {
      const { elements, positions } = moleculeArrays(molecule);
      const flat = unwrap(helperModule().bonds(elements, positions)).bonds;
      const out: Bond[] = [];
      for (let k = 0; k + 2 < flat.length; k += 3) out.push({ i: flat[k]!, j: flat[k + 1]!, order: flat[k + 2] as Bond['order'] });
      return out;
    },
    /** Per-atom valence check of a molecule (the paper's atom and molecule stability). */
    stability(molecule: MoleculeInput): StabilityResult {
      const { elements, positions } = moleculeArrays(molecule);
      const r = unwrap(helperModule().stability(elements, positions));
      return { atomStable: Array.from(r.atomStable, (x) => x !== 0), stableAtoms: r.stableAtoms, stable: r.stable };
    },
    /** Hill formula of a list of element symbols. */
    formula(elements: readonly string[]): string {
      return hillFormula(elements);
    },
  };
}
