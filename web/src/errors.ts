// Errors the package throws. Every one is an `Error` subclass whose message says what was wrong
// and what to do about it; `instanceof` tells them apart, and `code` is a stable string for logs.

/** The stable identifiers of the error classes below (EnfError.code). */
export type EnfErrorCode =
  | 'invalid-input'
  | 'weights'
  | 'solver'
  | 'aborted'
  | 'worker-crashed'
  | 'disposed'
  | 'network'
  | 'internal';

/** Base class: anything the library rejects or cannot finish. */
export class EnfError extends Error {
  /** A stable identifier for logs and switches; 'internal' only for what no subclass describes. */
  readonly code: EnfErrorCode;
  constructor(message: string, code: EnfErrorCode = 'internal', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EnfError';
    this.code = code;
  }
}

/** The caller's data is unusable: NaN coordinates, unknown element, wrong sizes, malformed XYZ, bad option. */
export class InvalidInputError extends EnfError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'invalid-input', options);
    this.name = 'InvalidInputError';
  }
}

/** A weights file is corrupt, truncated, fails its checksum, or is not the QM9 E-NF. */
export class WeightsError extends EnfError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'weights', options);
    this.name = 'WeightsError';
  }
}

/** The ODE solver could not finish (too many steps, step size underflow, non-finite state). */
export class SolverError extends EnfError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'solver', options);
    this.name = 'SolverError';
  }
}

/** The call was cancelled through its AbortSignal (or the trajectory loop was left early). */
export class AbortError extends EnfError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, 'aborted', options);
    this.name = 'AbortError';
  }
}

/** The worker running the call died (out of memory, a WebAssembly trap); it has been replaced. */
export class WorkerCrashedError extends EnfError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'worker-crashed', options);
    this.name = 'WorkerCrashedError';
  }
}

/**
 * A download failed: the server could not be reached (`status` null) or answered with an HTTP
 * error (`status` its code). `url` is the address that was requested.
 */
export class NetworkError extends EnfError {
  readonly url: string;
  readonly status: number | null;
  constructor(message: string, details: { url: string; status: number | null }, options?: { cause?: unknown }) {
    super(message, 'network', options);
    this.name = 'NetworkError';
    this.url = details.url;
    this.status = details.status;
  }
}

/** The model was disposed; load it again with loadModel(). */
export class DisposedError extends EnfError {
  constructor(message = 'this model was disposed; call loadModel() again to get a new one') {
    super(message, 'disposed');
    this.name = 'DisposedError';
  }
}

/** The plain description of an error that crosses a worker boundary. */
export interface ErrorRecord {
  kind: string;
  message: string;
}

/** Rebuilds a typed error from its record (the binding's kinds are the C++ exception classes). */
export function errorFromRecord(r: ErrorRecord): EnfError {
  switch (r.kind) {
    case 'InvalidInput':
      return new InvalidInputError(r.message);
    case 'WeightsError':
      return new WeightsError(r.message);
    case 'SolverError':
      return new SolverError(r.message);
    case 'Aborted':
      return new AbortError(r.message);
    case 'WorkerCrashed':
      return new WorkerCrashedError(r.message);
    case 'Disposed':
      return new DisposedError(r.message);
    default:
      return new EnfError(r.message);
  }
}

/** The record of any thrown value, for posting across a worker boundary. */
export function recordFromError(e: unknown): ErrorRecord {
  if (e instanceof EnfError) {
    const kinds: Record<string, string> = {
      'invalid-input': 'InvalidInput',
      weights: 'WeightsError',
      solver: 'SolverError',
      aborted: 'Aborted',
      'worker-crashed': 'WorkerCrashed',
      disposed: 'Disposed',
    };
    return { kind: kinds[e.code] ?? 'Error', message: e.message };
  }
  if (e instanceof Error) return { kind: 'Error', message: e.message };
  return { kind: 'Error', message: String(e) };
}
