// enf-wasm for Node: the same API as the browser build, on worker_threads.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chemHelpers, loadModelWith, type LoadOptions, type ModelSource, type Platform, type EnfModel } from './api.js';
import { createTrainerWith, loadParticleFlowWith, type Trainer, type ParticleFlow } from './train.js';
import type { TrainerOptions } from './types.js';
import { EnfError, InvalidInputError } from './errors.js';
import createEnfModule from './enf_wasm.js';

export * from './exports.js';

let compiled: Promise<WebAssembly.Module> | null = null;

async function readFileOrFail(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new InvalidInputError(`no such file: '${path}'`);
    throw new EnfError(`cannot read '${path}': ${(e as Error).message}`);
  }
}

const platform: Platform = {
  workerFactory(onReply, onCrash) {
    // A worker that runs out of JS heap dies alone (ERR_WORKER_OUT_OF_MEMORY, then replaced)
    // instead of taking the process with it. The model's memory is the wasm heap, outside this
    // limit (at most 2 GB, where an allocation fails with a clear error).
    const w = new Worker(new URL('./worker.node.js', import.meta.url), {
      name: 'enf-wasm',
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    let ended = false;
    w.on('message', onReply);
    w.on('error', (e) => {
      ended = true;
      onCrash(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    });
    w.on('exit', (code) => {
      if (!ended) onCrash(`the worker exited with code ${code}`);
      ended = true;
    });
    return {
      post: (m, transfer) => w.postMessage(m, transfer as never),
      terminate: () => {
        ended = true;
        void w.terminate();
      },
      setBusy: (busy) => (busy ? w.ref() : w.unref()),
    };
  },
  compileWasm() {
    compiled ??= readFile(fileURLToPath(new URL('./enf_wasm.wasm', import.meta.url))).then((b) => WebAssembly.compile(b));
    compiled.catch(() => (compiled = null));
    return compiled;
  },
  loadFactory: async () => createEnfModule,
  concurrency: () => availableParallelism(),
  sharedMemory: () => typeof SharedArrayBuffer === 'function',
  async readSource(source, onBytes, signal) {
    const s = String(source);
    let bytes: Uint8Array;
    if (/^https?:/i.test(s)) {
      const r = await fetch(s, { signal });
      if (!r.ok) throw new EnfError(`could not download ${s}: HTTP ${r.status} ${r.statusText}`);
      bytes = new Uint8Array(await r.arrayBuffer());
    } else {
      bytes = await readFileOrFail(s.startsWith('file:') ? fileURLToPath(s) : s);
    }
    onBytes(bytes.length, bytes.length);
    return bytes;
  },
  bundled: {
    qm9: () => new URL('./qm9.safetensors', import.meta.url),
  },
};

/**
 * Loads a model and starts its worker pool (worker_threads).
 * @param source 'qm9' (the bundled pretrained QM9 E-NF), a file path, a file:/http(s): URL, or bytes.
 */
export function loadModel(source: ModelSource = 'qm9', options: LoadOptions = {}): Promise<EnfModel> {
  return loadModelWith(platform, source, options);
}

/** Trains the particle E-NF on DW4, LJ13 or a pair energy, in a worker of its own (see README, Training). */
export function createTrainer(options: TrainerOptions): Promise<Trainer> {
  return createTrainerWith(platform, options);
}

/** A trained particle flow from exported weights (trainer.exportWeights()), in a worker of its own. */
export function loadParticleFlow(bytes: Uint8Array | ArrayBuffer): Promise<ParticleFlow> {
  return loadParticleFlowWith(platform, bytes);
}

const chem = chemHelpers(platform);
/** Resolves when parseXYZ, toXYZ, toSDF and stability can run (loadModel() waits for this too). */
export const ready = chem.ready;
export const parseXYZ = chem.parseXYZ;
export const toXYZ = chem.toXYZ;
export const toSDF = chem.toSDF;
export const bonds = chem.bonds;
export const stability = chem.stability;
export const formula = chem.formula;
/** The model report; in Node it reads the test split from `data` and loads @rdkit/rdkit itself. */
export { evaluate, loadRDKit, loadTestMolecules, writeReport, type NodeEvaluateOptions } from './eval-node.js';
export { referenceStats, HISTOGRAMS, PAPER } from './eval.js';
export type { EvalReport, EvaluateOptions, EvalProgress, ReferenceStats, TestMolecule, HistogramComparison } from './eval.js';
export { reportBody, reportHtml, histogramSvg, formatProportion } from './eval-report.js';
export { molBlock, smilesOf, type RDKitLike } from './eval-chem.js';
export { wilson, jensenShannon, meanStderr, histogram, pairDistances, seededSubset, type Proportion } from './stats.js';
