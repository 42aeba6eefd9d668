// enf-wasm for Node: the same API as the browser build, on worker_threads.
import { entryPoints } from './entry.js';
import { nodePlatform } from './platform-node.js';

export * from './exports.js';
export const { loadModel, createTrainer, loadParticleFlow, ready, parseXYZ, parseSDF, parseMolecule, toXYZ, toSDF, bonds, stability, formula } =
  entryPoints(nodePlatform);
/** The model report; in Node it reads the test split from `data` and loads @rdkit/rdkit itself. */
export {
  evaluate,
  evaluateCheckpointed,
  mergeRecords,
  readRecords,
  loadRDKit,
  loadTestMolecules,
  writeReport,
  type CheckpointedOptions,
  type NodeEvaluateOptions,
  type RecordsFile,
} from './eval-node.js';
