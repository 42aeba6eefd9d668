// A pool of workers, each with its own WebAssembly instance and its own copy of the model.
// Jobs queue until a worker is idle; an AbortSignal cancels a queued job at once and a running one
// at the solver's next step; a worker that dies rejects its job and is replaced.
import {
  AbortError,
  DisposedError,
  EnfError,
  WorkerCrashedError,
  errorFromRecord,
  type ErrorRecord,
} from './errors.js';
import type { FrameMessage, JobPayload, JobResult, Reply, Request } from './protocol.js';
import type { Op } from './worker-core.js';
import type { CompiledWasm, Transfer } from './portable-types.js';

/** What the pool needs from a worker (a Web Worker or a worker_threads Worker). */
export interface WorkerPort {
  post(message: Request, transfer?: Transfer[]): void;
  terminate(): void;
  /** Node: let an idle worker not keep the process alive. */
  setBusy(busy: boolean): void;
}

export type WorkerFactory = (onReply: (reply: Reply) => void, onCrash: (message: string) => void) => WorkerPort;

export interface JobOptions {
  signal?: AbortSignal;
  transfer?: Transfer[];
  onFrame?: (frame: FrameMessage) => void;
  onProgress?: (fraction: number) => void;
}

interface Job {
  id: number;
  payload: { op: string } & Record<string, unknown>;
  options: JobOptions;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  settled: boolean;
  /** Its signal's entry: once `aborted`, no worker takes the job (abortAll rejects it in slices). */
  watch?: Watch;
  slot: Slot | null;
  /** Jobs that must run at the same time on different workers (they wait for each other). */
  gang?: Job[];
}

interface Watch {
  jobs: Set<Job>;
  listener: () => void;
  aborted: boolean;
}

/** A crash loop: this many worker crashes (plus 2 per worker) within the window. */
const CRASH_LOOP = 20;
const CRASH_WINDOW_MS = 10_000;

/** Queued jobs an abort settles per task: the rest follow in later tasks, so the thread never blocks for long. */
const ABORT_SLICE = 2000;

interface Slot {
  port: WorkerPort;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  job: Job | null;
  initId: number;
  cancel: Int32Array | null;
  cancelBuffer: SharedArrayBuffer | null;
}

/** What a started worker reports: its model's size limit and elements, and how long it took. */
export interface WorkerInfo {
  maxAtoms: number;
  elements: string[];
  instantiateMs: number;
  loadMs: number;
}

export interface PoolInit {
  module: CompiledWasm;
  weights: Uint8Array;
  /** The weights' SHA-256 was checked on the main thread. */
  checksumVerified: boolean;
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  const detail = r instanceof Error && r.name !== 'AbortError' ? `: ${r.message}` : '';
  return new AbortError(`the operation was aborted${detail}`, { cause: r });
}

export class WorkerPool {
  private slots: Slot[] = [];
  /**
   * Jobs waiting for a worker, oldest first from `head`. An aborted job is only marked settled and
   * skipped later, so aborting a batch of n queued jobs costs O(n), not O(n²).
   */
  private queue: Job[] = [];
  private head = 0;
  /**
   * The unsettled jobs of each signal, with one abort listener per signal: a batch of a million
   * jobs under one signal adds one listener, and its abort settles them all in one pass.
   */
  private watched = new Map<AbortSignal, Watch>();
  private nextId = 1;
  private disposed = false;
  private readonly size: number;
  /**
   * When recent crash replacements happened: more than CRASH_LOOP of them within CRASH_WINDOW_MS is
   * a crash loop, and the pool gives up instead of spinning. Only crashes count: a worker stopped
   * to abort its call (pages without shared memory) is not one, and a long-lived page that sees
   * the odd crash never runs out of replacements (a lifetime cap once killed a page after 120 aborts).
   */
  private crashTimes: number[] = [];

  private init: PoolInit | null = null;
  /** Workers created before the module and weights are ready, so their scripts load meanwhile. */
  private early: Slot[] = [];

  constructor(
    private readonly factory: WorkerFactory,
    size: number,
    private readonly sharedMemory: boolean,
  ) {
    this.size = Math.max(1, Math.floor(size));
    this.early.push(this.createSlot());
  }

  get workers(): number {
    return this.size;
  }

  /** Whether workers can wait for each other (shared memory: Node, cross-origin-isolated pages). */
  get synchronised(): boolean {
    return this.sharedMemory;
  }

  /** Lets the worker started early instantiate the module while the weights still download. */
  warm(module: CompiledWasm): void {
    for (const slot of this.early) slot.port.post({ op: 'warm', module });
  }

  /** Starts one worker and resolves with its init result; then starts the others in the background. */
  async start(
    init: PoolInit,
    onWorkerReady?: (ready: number, total: number) => void,
  ): Promise<WorkerInfo> {
    this.init = init;
    const first = this.spawn();
    const info = (await this.waitReady(first)) as WorkerInfo;
    let ready = 1;
    onWorkerReady?.(ready, this.size);
    for (let k = 1; k < this.size; ++k) {
      const slot = this.spawn();
      this.waitReady(slot).then(
        () => onWorkerReady?.(++ready, this.size),
        () => {},
      );
    }
    return info;
  }

  run<K extends Op>(payload: JobPayload<K>, options?: JobOptions): Promise<JobResult<K>>;
  /** An operation of a test or benchmark worker (createWorkerHandler's extra handlers). */
  run(payload: { op: string } & Record<string, unknown>, options?: JobOptions): Promise<unknown>;
  run(payload: { op: string } & Record<string, unknown>, options: JobOptions = {}): Promise<unknown> {
    if (this.disposed) return Promise.reject(new DisposedError());
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, payload, options, resolve, reject, settled: false, slot: null };
      if (options.signal) this.watch(job, options.signal);
      this.queue.push(job);
      this.pump();
    });
  }

  /**
   * Jobs that run side by side, one per worker, starting together (they synchronise with each other,
   * so none may wait in the queue while another runs). The gang waits at the head of the queue
   * until enough workers are idle. Resolves with each job's result, in order.
   */
  runGang(payloads: Array<{ op: string } & Record<string, unknown>>, options: JobOptions[]): Array<Promise<unknown>> {
    if (this.disposed) return payloads.map(() => Promise.reject(new DisposedError()));
    if (payloads.length > this.size) throw new EnfError(`a gang of ${payloads.length} jobs needs as many workers (the pool has ${this.size})`);
    const gang: Job[] = [];
    const promises = payloads.map(
      (payload, k) =>
        new Promise((resolve, reject) => {
          const o = options[k] ?? {};
          const job: Job = { id: this.nextId++, payload, options: o, resolve, reject, settled: false, slot: null, gang };
          if (o.signal?.aborted) job.settled = true;
          else if (o.signal) this.watch(job, o.signal);
          gang.push(job);
          if (job.settled) reject(abortReason(o.signal!));
        }),
    );
    for (const job of gang) this.queue.push(job);
    this.pump();
    return promises;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const slot of this.early) slot.port.terminate();
    this.early = [];
    for (const job of this.takeQueue()) this.settle(job, new DisposedError());
    for (const slot of this.slots) {
      if (slot.job) this.settle(slot.job, new DisposedError());
      slot.state = 'dead';
      slot.port.terminate();
    }
    this.slots = [];
  }

  private pendingInits = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  private waitReady(slot: Slot): Promise<unknown> {
    return new Promise((resolve, reject) => this.pendingInits.set(slot.initId, { resolve, reject }));
  }

  private createSlot(): Slot {
    const cancelBuffer = this.sharedMemory ? new SharedArrayBuffer(4) : null;
    const slot: Slot = {
      port: undefined as unknown as WorkerPort,
      state: 'starting',
      job: null,
      initId: this.nextId++,
      cancel: cancelBuffer ? new Int32Array(cancelBuffer) : null,
      cancelBuffer,
    };
    slot.port = this.factory(
      (reply) => this.onReply(slot, reply),
      (message) => this.onCrash(slot, message),
    );
    slot.port.setBusy(true);
    return slot;
  }

  /** A started worker; `later` posts its init in a later task (off an abort's path: copying the weights can take tens of ms on a busy page). */
  private spawn(later = false): Slot {
    const slot = this.early.shift() ?? this.createSlot();
    this.slots.push(slot);
    const init = this.init!;
    const post = () => {
      if (slot.state === 'dead') return;
      // Each worker gets its own copy of the weights (1.2 MB), moved rather than cloned again; the compiled module is shared.
      const weights = init.weights.slice();
      slot.port.post(
        { op: 'init', id: slot.initId, module: init.module, weights, checksumVerified: init.checksumVerified, cancel: slot.cancelBuffer },
        [weights.buffer],
      );
    };
    if (later) setTimeout(post, 0);
    else post();
    return slot;
  }

  private onReply(slot: Slot, reply: Reply): void {
    if (slot.state === 'dead') return;
    if (reply.id === slot.initId) {
      const waiter = this.pendingInits.get(reply.id);
      this.pendingInits.delete(reply.id);
      if (reply.kind === 'result') {
        slot.state = 'idle';
        slot.port.setBusy(false);
        waiter?.resolve(reply.value);
        this.pump();
      } else if (reply.kind === 'error') {
        this.retire(slot);
        waiter?.reject(errorFromRecord(reply.error));
        if (this.slots.every((s) => s.state === 'dead')) this.failQueue(reply.error);
      }
      return;
    }
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    switch (reply.kind) {
      case 'frame':
        if (!job.settled) job.options.onFrame?.(reply.frame);
        return;
      case 'progress':
        if (!job.settled) job.options.onProgress?.(reply.fraction);
        return;
      case 'result':
        this.finish(slot);
        this.settle(job, null, reply.value);
        this.pump();
        return;
      case 'error':
        if (reply.fatal) {
          this.settle(job, new WorkerCrashedError(this.crashMessage(reply.error.message)));
          this.replace(slot);
        } else {
          this.finish(slot);
          this.settle(job, errorFromRecord(reply.error));
        }
        this.pump();
        return;
    }
  }

  private crashMessage(detail: string): string {
    return `the worker running this call crashed (${detail}); it has been replaced, so the model is still usable: retry the call, with fewer atoms or a looser tolerance if it ran out of memory`;
  }

  private onCrash(slot: Slot, message: string): void {
    if (slot.state === 'dead' || this.disposed) return;
    const waiter = this.pendingInits.get(slot.initId);
    if (waiter) {
      // Died while starting: do not respawn (it would most likely die again).
      this.pendingInits.delete(slot.initId);
      this.retire(slot);
      waiter.reject(new WorkerCrashedError(`a worker failed to start: ${message}`));
      if (this.slots.every((s) => s.state === 'dead'))
        this.failQueue({ kind: 'WorkerCrashed', message: `no worker could start: ${message}` });
      return;
    }
    if (slot.job) this.settle(slot.job, new WorkerCrashedError(this.crashMessage(message)));
    this.replace(slot);
    this.pump();
  }

  private retire(slot: Slot): void {
    slot.state = 'dead';
    slot.job = null;
    slot.port.terminate();
    this.slots = this.slots.filter((s) => s !== slot);
  }

  private replace(slot: Slot, crashed = true): void {
    this.retire(slot);
    if (this.disposed) return;
    if (crashed) {
      const now = Date.now();
      this.crashTimes = this.crashTimes.filter((t) => now - t < CRASH_WINDOW_MS);
      this.crashTimes.push(now);
      if (this.crashTimes.length > CRASH_LOOP + 2 * this.size) {
        if (this.slots.length === 0) this.failQueue({ kind: 'WorkerCrashed', message: 'workers keep crashing; giving up' });
        return;
      }
    }
    const fresh = this.spawn(!crashed);
    this.waitReady(fresh).catch(() => {});
  }

  private failQueue(error: ErrorRecord): void {
    for (const job of this.takeQueue()) this.settle(job, errorFromRecord(error));
  }

  /** Empties the queue; returns the jobs still waiting. */
  private takeQueue(): Job[] {
    const waiting = this.queue.slice(this.head).filter((j) => !j.settled);  // aborted ones too
    this.queue = [];
    this.head = 0;
    return waiting;
  }

  /** The next queued job still waiting for a worker (unsettled, not started), or null; the head stays on it. */
  private nextQueued(): Job | null {
    while (this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      if (!job.settled && !job.watch?.aborted && !job.slot) {
        // Drop the consumed prefix now and then so a long-lived pool does not hold old jobs.
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        return job;
      }
      this.head++;
    }
    this.queue = [];
    this.head = 0;
    return null;
  }

  private watch(job: Job, signal: AbortSignal): void {
    let entry = this.watched.get(signal);
    if (!entry) {
      const created: Watch = { jobs: new Set<Job>(), listener: () => this.abortAll(signal, created), aborted: false };
      entry = created;
      this.watched.set(signal, entry);
      signal.addEventListener('abort', entry.listener, { once: true });
    }
    entry.jobs.add(job);
    job.watch = entry;
  }

  private unwatch(job: Job): void {
    const signal = job.options.signal;
    const entry = job.watch;
    if (!signal || !entry || entry.aborted) return;  // an aborted entry is being walked by abortAll
    entry.jobs.delete(job);
    if (entry.jobs.size === 0) {
      this.watched.delete(signal);
      signal.removeEventListener('abort', entry.listener);
    }
  }

  private finish(slot: Slot): void {
    slot.job = null;
    slot.state = 'idle';
    slot.port.setBusy(false);
  }

  private pump(): void {
    if (this.disposed) return;
    while (this.head < this.queue.length) {
      const idle = this.slots.filter((s) => s.state === 'idle');
      if (idle.length === 0) {
        if (this.slots.length === 0) this.failQueue({ kind: 'WorkerCrashed', message: 'no worker is running' });
        return;
      }
      const job = this.nextQueued();
      if (!job) return;
      const gang = job.gang ?? [job];
      if (gang.some((j) => j.settled || j.watch?.aborted)) {
        // A member was aborted before the gang started: the others cannot run without it.
        for (const j of gang) if (!j.slot) this.settle(j, new AbortError('the operation was aborted'));
        continue;
      }
      if (idle.length < gang.length) return; // a gang starts all at once, at the head of the queue
      gang.forEach((j, k) => this.dispatch(idle[k]!, j));
    }
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.state = 'busy';
    slot.job = job;
    job.slot = slot;
    slot.port.setBusy(true);
    slot.port.post({ ...job.payload, id: job.id, progress: !!job.options.onProgress } as Request, job.options.transfer);
  }

  /**
   * A signal fired: every job under it rejects with one shared AbortError. The entry is marked
   * aborted at once, so no worker takes any of its queued jobs (O(1) however big the batch); the
   * running ones stop now; the queued ones reject ABORT_SLICE per task. Aborting a million-job batch
   * thus rejects the caller's Promise.all within the first slice and never blocks the thread for
   * more than a few milliseconds. Queued jobs stay in the queue, and pump() skips them.
   */
  private abortAll(signal: AbortSignal, entry: Watch): void {
    this.watched.delete(signal);
    entry.aborted = true;
    const reason = abortReason(signal);
    let replaced = false;
    for (const slot of [...this.slots]) {
      const job = slot.job;
      if (!job || job.settled || job.watch !== entry) continue;
      if (slot.cancel) {
        // The worker sees this at its next ODE step and stops; the slot frees when it replies.
        Atomics.store(slot.cancel, 0, job.id);
        this.settle(job, reason);
      } else {
        // No shared memory (a page that is not cross-origin isolated): stop the worker itself.
        this.settle(job, reason);
        this.replace(slot, false);
        replaced = true;
      }
    }
    const waiting = entry.jobs.values();
    const slice = () => {
      for (let k = 0; k < ABORT_SLICE; ++k) {
        const next = waiting.next();
        if (next.done) return;
        this.settle(next.value, reason);
      }
      setTimeout(slice, 0);
    };
    slice();
    if (replaced) this.pump();
  }

  private settle(job: Job, error: unknown, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    this.unwatch(job);
    if (error) job.reject(error instanceof Error ? error : new EnfError(String(error)));
    else job.resolve(value);
  }
}

/**
 * Runs `fn(k)` for k = 0 .. n-1 with at most `limit` calls in flight, in order of k; the first
 * failure (or the signal) cancels the rest and is thrown. A batch of n molecules thus holds
 * `limit` jobs, not n: starting or aborting 10^6 of them allocates and settles almost nothing.
 */
export async function inPool(
  n: number,
  limit: number,
  signal: AbortSignal | undefined,
  fn: (k: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  if (signal?.aborted) throw abortReason(signal);
  if (n === 0) return;
  const inner = new AbortController();
  const forward = () => inner.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (next < n && !failure) {
      const k = next++;
      try {
        await fn(k, inner.signal);
      } catch (e) {
        if (!failure) failure = e;
        inner.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, lane));
  } finally {
    signal?.removeEventListener('abort', forward);
  }
  if (failure) throw failure;
}
