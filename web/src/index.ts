// enf-wasm for browsers (and bundlers): E(n) equivariant normalizing flows on QM9, in Web Workers.
//
//   import { loadModel } from 'enf-wasm';
//   const model = await loadModel('qm9', { onProgress: (p) => console.log(p) });
//   const [molecule] = await model.sample({ seed: 1, atoms: 19 });
//   for await (const frame of model.sampleTrajectory({ seed: 1, frames: 50 })) draw(frame);
import { chemHelpers, loadModelWith, type LoadOptions, type ModelSource, type Platform, type EnfModel } from './api.js';
import { createTrainerWith, loadParticleFlowWith, type Trainer, type ParticleFlow } from './train.js';
import type { TrainerOptions } from './types.js';
import { EnfError } from './errors.js';
import type { EnfModuleFactory } from './wasm-module.js';

export * from './exports.js';

let compiled: Promise<WebAssembly.Module> | null = null;

async function fetchOk(url: URL | string, signal?: AbortSignal): Promise<Response> {
  const r = await fetch(url, { signal, credentials: 'same-origin' });
  if (!r.ok) throw new EnfError(`could not download ${String(url)}: HTTP ${r.status} ${r.statusText}`);
  return r;
}

const platform: Platform = {
  workerFactory(onReply, onCrash) {
    const w = new Worker(new URL('./worker.browser.js', import.meta.url), { type: 'module', name: 'enf-wasm' });
    w.onmessage = (e) => onReply(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      onCrash(e.message || 'the worker failed (an error without a message: check that the worker script loads)');
    };
    w.onmessageerror = () => onCrash('a message from the worker could not be deserialised');
    return {
      post: (m, transfer) => w.postMessage(m, transfer ?? []),
      terminate: () => w.terminate(),
      setBusy: () => {},
    };
  },
  compileWasm() {
    compiled ??= (async () => {
      const url = new URL('./enf_wasm.wasm', import.meta.url);
      if (typeof WebAssembly.compileStreaming === 'function') {
        try {
          return await WebAssembly.compileStreaming(fetchOk(url));
        } catch {
          // wrong MIME type on the server, or no streaming: fall back to bytes
        }
      }
      return WebAssembly.compile(await (await fetchOk(url)).arrayBuffer());
    })();
    compiled.catch(() => (compiled = null));
    return compiled;
  },
  async loadFactory() {
    return (await import('./enf_wasm.js')).default as EnfModuleFactory;
  },
  concurrency: () => (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 4,
  sharedMemory: () =>
    typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false,
  async readSource(source, onBytes, signal) {
    const r = await fetchOk(source, signal);
    const total = Number(r.headers.get('content-length')) || 0;
    if (!r.body) return new Uint8Array(await r.arrayBuffer());
    const reader = r.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onBytes(loaded, total); // total 0: the server sent no Content-Length
    }
    const out = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  },
  bundled: {
    qm9: () => new URL('./qm9.safetensors', import.meta.url),
  },
};

/**
 * Loads a model and starts its worker pool.
 * @param source 'qm9' (the bundled pretrained QM9 E-NF), a URL of a .safetensors file, or its bytes.
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
/** Parses XYZ text into `{ elements, positions }` (Å). */
export const parseXYZ = chem.parseXYZ;
/** XYZ text of a molecule. */
export const toXYZ = chem.toXYZ;
/** SDF (V2000) text of a molecule, with bonds inferred from distances. */
export const toSDF = chem.toSDF;
/** Bonds inferred from interatomic distances (the QM9 rule). */
export const bonds = chem.bonds;
/** Per-atom valence check (atom and molecule stability). */
export const stability = chem.stability;
/** Hill formula of element symbols. */
export const formula = chem.formula;
/** The model report (pass `rdkit`, an initialised @rdkit/rdkit module, for SMILES). */
export { evaluate, referenceStats, HISTOGRAMS, PAPER } from './eval.js';
export type { EvalReport, EvaluateOptions, EvalProgress, ReferenceStats, TestMolecule, HistogramComparison } from './eval.js';
export { reportBody, reportHtml, histogramSvg, formatProportion } from './eval-report.js';
export { molBlock, smilesOf, type RDKitLike } from './eval-chem.js';
export { wilson, jensenShannon, meanStderr, histogram, pairDistances, seededSubset, type Proportion } from './stats.js';
