// What both entry points export besides the functions of entry.ts and the report's evaluate.
export {
  AbortError,
  DisposedError,
  EnfError,
  InvalidInputError,
  NetworkError,
  SolverError,
  WeightsError,
  WorkerCrashedError,
  type EnfErrorCode,
} from './errors.js';
export { EnfModel } from './api.js';
export { Trainer, ParticleFlow, effectiveSampleSize } from './train.js';
export type { LoadOptions, ModelSource } from './api.js';
export type { WeightsInfo } from './weights.js';
export type * from './types.js';
export { BUILT_IN_SYSTEMS, TRAINING_METHODS } from './systems.generated.js';
export { referenceStats, reportFromRecords, settingsDiffer, shardRange, HISTOGRAMS, PAPER } from './eval.js';
export type {
  EvalReport,
  EvaluateOptions,
  EvalProgress,
  EvalRecord,
  EvalSettings,
  EvalShard,
  FromRecordsOptions,
  NllRecord,
  SampleRecord,
  ReferenceStats,
  TestMolecule,
  HistogramComparison,
} from './eval.js';
export { reportBody, reportHtml, histogramSvg, formatProportion } from './eval-report.js';
export { molBlock, smilesOf, type RDKitLike } from './eval-chem.js';
export { wilson, jensenShannon, meanStderr, histogram, pairDistances, seededSubset, type Proportion } from './stats.js';
