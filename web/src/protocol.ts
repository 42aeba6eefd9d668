// Messages between the pool (main thread) and its workers (internal to the package).
import type { ErrorRecord } from './errors.js';
import type { TrainCall } from './train-worker.js';

export interface InitRequest {
  op: 'init';
  id: number;
  module: WebAssembly.Module;
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
  module: WebAssembly.Module;
}

export interface SampleRequest {
  op: 'sample';
  id: number;
  atoms: number;
  seed: number;
  rtol: number;
  atol: number;
  /** 9 numbers (row-major orthogonal matrix) or empty. */
  rotation: number[];
  /** The latent atom each output atom comes from, or empty. */
  permutation: number[];
}

export interface TrajectoryRequest {
  op: 'trajectory';
  id: number;
  atoms: number;
  seed: number;
  rtol: number;
  atol: number;
  frames: number;
  rotation: number[];
  permutation: number[];
}

export interface ScoreRequest {
  op: 'score';
  id: number;
  elements: Array<string | number>;
  positions: Float64Array;
  /** XYZ text to parse instead of types/positions (when non-empty). */
  xyz: string;
  trace: 'exact' | 'hutchinson';
  probes: number;
  samples: number;
  seed: number;
  rtol: number;
  atol: number;
  progress: boolean;
}

export interface VerifyRequest {
  op: 'verify';
  id: number;
  json: string;
  rtol: number;
  atol: number;
}

export interface BenchRequest {
  op: 'bench';
  id: number;
  elements: Array<string | number>;
  positions: Float64Array;
  quick: boolean;
  exact: boolean;
}

export interface HeapRequest {
  op: 'heap';
  id: number;
}

/** For tests: makes the worker die the way a real crash would. */
export interface CrashRequest {
  /** crash: an uncaught error; oom: the worker's JS heap runs out (Node: its resourceLimits). */
  op: 'crash' | 'oom';
  id: number;
}

/** Training mode (train.ts): one call on the worker's trainers and particle flows. */
export interface TrainRequest {
  op: 'train';
  id: number;
  call: TrainCall;
  /** Post progress replies. */
  progress: boolean;
}

export type Request =
  | InitRequest
  | WarmRequest
  | SampleRequest
  | TrajectoryRequest
  | ScoreRequest
  | VerifyRequest
  | BenchRequest
  | HeapRequest
  | TrainRequest
  | CrashRequest;

export type JobRequest = Exclude<Request, InitRequest | WarmRequest>;
export type JobOp = JobRequest['op'];
/** A job's request without its id, which the pool assigns. */
export type JobPayload = JobRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

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
