// Messages between the pool (main thread) and its workers (internal to the package). The job
// requests and their results are derived from the workers' handler table (worker-core.ts).
import type { ErrorRecord } from './errors.js';
import type { Handlers, Op } from './worker-core.js';
import type { CompiledWasm } from './portable-types.js';

export interface InitRequest {
  op: 'init';
  id: number;
  module: CompiledWasm;
  /** The QM9 weights; empty for a worker that only trains (train.ts). */
  weights: Uint8Array;
  /** The main thread verified the weights' SHA-256 (WebCrypto); the worker need not. */
  checksumVerified: boolean;
  /** Int32 cell the pool writes a job id into to cancel that job (null where SharedArrayBuffer is unavailable). */
  cancel: SharedArrayBuffer | null;
}

/** Sent to a worker started before the weights arrived: instantiate the module meanwhile. */
export interface WarmRequest {
  op: 'warm';
  module: CompiledWasm;
}

/** A job for operation K, as the caller gives it (the pool adds the id and the progress flag). */
export type JobPayload<K extends Op = Op> = K extends Op ? { op: K } & Parameters<Handlers[K]>[0] : never;
/** What operation K's job resolves with. */
export type JobResult<K extends Op> = ReturnType<Handlers[K]>['value'];

/** A job as it reaches the worker. Extra operations of a test worker travel the same way. */
export type JobRequest = { op: string; id: number; progress: boolean } & Record<string, unknown>;

export type Request = InitRequest | WarmRequest | JobRequest;

export interface FrameMessage {
  index: number;
  t: number;
  elements: string[];
  positions: Float32Array;
}

export type Reply =
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; error: ErrorRecord; fatal?: boolean }
  | { id: number; kind: 'frame'; frame: FrameMessage }
  | { id: number; kind: 'progress'; fraction: number };
