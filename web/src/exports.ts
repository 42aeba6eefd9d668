// What both entry points export besides loadModel and the helpers.
export {
  AbortError,
  DisposedError,
  EnfError,
  InvalidInputError,
  SolverError,
  WeightsError,
  WorkerCrashedError,
} from './errors.js';
export { EnfModel } from './api.js';
export { Trainer, ParticleFlow, effectiveSampleSize } from './train.js';
export type { LoadOptions, ModelSource } from './api.js';
export type { WeightsInfo } from './weights.js';
export type * from './types.js';
