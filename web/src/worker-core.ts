// What runs inside each worker: one module instance, one loaded model, one job at a time.
// Shared by worker.browser.ts (Web Worker) and worker.node.ts (worker_threads).
import { AbortError, InvalidInputError, recordFromError, type ErrorRecord } from './errors.js';
import { hillFormula } from './chem-tables.js';
import type { FrameMessage, Reply, Request } from './protocol.js';
import { TrainBindingError, createTrainRunner } from './train-worker.js';
import type { Bond, ElementSymbol, Molecule, ScoreResult, VerifyCheck } from './types.js';
import {
  instantiate,
  type EnfModuleFactory,
  type EnfWasmModule,
  type Fallible,
  type SampleRecord,
  type WasmModel,
} from './wasm-module.js';

export type Post = (reply: Reply, transfer?: Transferable[]) => void;

class BindingError extends Error {
  constructor(readonly record: ErrorRecord) {
    super(record.message);
  }
}

function check<T>(r: Fallible<T>): T {
  if (r.error) throw new BindingError(r.error);
  return r as T;
}

/** Builds the API's molecule from the core's arrays (bonds and stability come from the core too). */
export function describeMolecule(mod: EnfWasmModule, r: SampleRecord, seed: number): Molecule {
  const { elements, charges, positions } = r;
  const flat = check(mod.bonds(elements, positions)).bonds;
  const bonds: Bond[] = [];
  for (let k = 0; k + 2 < flat.length; k += 3) bonds.push({ i: flat[k], j: flat[k + 1], order: flat[k + 2] });
  const st = check(mod.stability(elements, positions));
  return {
    elements: elements as ElementSymbol[],
    charges: Array.from(charges),
    positions: Float32Array.from(positions),
    bonds,
    stable: st.stable,
    stableAtoms: st.stableAtoms,
    formula: hillFormula(elements),
    seed,
    nfe: r.nfe,
  };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Returns the message handler of a worker. `die` ends the worker after a fatal error. */
export function createWorkerHandler(factory: EnfModuleFactory, post: Post, die: () => void) {
  let mod: EnfWasmModule | null = null;
  let model: WasmModel | null = null;
  let warming: Promise<EnfWasmModule> | null = null;
  let cancel: Int32Array | null = null;
  let train: ReturnType<typeof createTrainRunner> | null = null;

  const keepGoing = (id: number) => () => cancel === null || Atomics.load(cancel, 0) !== id;
  // A callback the core calls must not throw: a JS exception would unwind the C++ frames without
  // running their destructors. Any failure stops the solve instead (reported as aborted).
  function guard<A extends unknown[]>(f: (...args: A) => boolean): (...args: A) => boolean {
    return (...args) => {
      try {
        return f(...args);
      } catch {
        return false;
      }
    };
  }

  function run(req: Exclude<Request, { op: 'init' } | { op: 'warm' }>): { value: unknown; transfer?: Transferable[] } | null {
    if (req.op === 'train') {
      if (!mod) throw new InvalidInputError('the worker has no module loaded');
      train ??= createTrainRunner(mod);
      const go = keepGoing(req.id);
      let last = -1;
      return train(
        req.call,
        guard((fraction: number) => {
          if (req.progress && fraction - last >= 0.01) {
            last = fraction;
            post({ id: req.id, kind: 'progress', fraction });
          }
          return go();
        }),
      );
    }
    if (!mod || !model) throw new InvalidInputError('the worker has no model loaded');
    const m = model;
    switch (req.op) {
      case 'sample': {
        const r = check(m.sample(req.atoms, req.seed, req.rtol, req.atol, req.rotation, req.permutation, 0, null, keepGoing(req.id)));
        const mol = describeMolecule(mod, r, req.seed);
        return { value: mol, transfer: [mol.positions.buffer] };
      }
      case 'trajectory': {
        const go = keepGoing(req.id);
        const r = check(
          m.sample(
            req.atoms,
            req.seed,
            req.rtol,
            req.atol,
            req.rotation,
            req.permutation,
            req.frames,
            guard((index, t, elements, positions) => {
              const frame: FrameMessage = { index, t, elements, positions: Float32Array.from(positions) };
              post({ id: req.id, kind: 'frame', frame }, [frame.positions.buffer]);
              return go();
            }),
            go,
          ),
        );
        const mol = describeMolecule(mod, r, req.seed);
        return { value: mol, transfer: [mol.positions.buffer] };
      }
      case 'score': {
        const go = keepGoing(req.id);
        let last = -1;
        const input = req.xyz ? check(mod.parseXyz(req.xyz, m.maxAtoms())) : req;
        const t0 = performance.now();
        const r = check(
          m.logLikelihood(
            input.elements,
            input.positions,
            req.trace,
            req.probes,
            req.samples,
            req.seed,
            req.rtol,
            req.atol,
            guard((fraction) => {
              // At most ~100 progress messages per call.
              if (req.progress && fraction - last >= 0.01) {
                last = fraction;
                post({ id: req.id, kind: 'progress', fraction });
              }
              return go();
            }),
          ),
        );
        const ms = performance.now() - t0;
        const result: ScoreResult = {
          logLikelihood: r.logLikelihood,
          perAtom: r.perAtom,
          stderr: Number.isFinite(r.stderr) ? r.stderr : null,
          terms: { logPz: r.logPz, deltaLogp: r.deltaLogp, logQ: r.logQ, logPM: r.logPM },
          perSample: Array.from(r.perSample),
          nfe: r.nfe,
          ms,
          atoms: r.atoms,
          trace: req.trace,
        };
        return { value: result };
      }
      case 'verify': {
        const r = check(m.verify(req.json, req.rtol, req.atol));
        const checks: VerifyCheck[] = r.checks.map((c) => ({ ...c }));
        return { value: checks };
      }
      case 'bench': {
        // The same measurements, in the same order, as bench/bench_native.cpp.
        const atoms = req.elements.length;
        const z = check(m.drawLatent(atoms, 1)).value;
        const evalMs: number[] = [];
        for (let k = 0; k < (req.quick ? 20 : 200); ++k) {
          const t0 = performance.now();
          check(m.velocity(0.5, z));
          evalMs.push(performance.now() - t0);
        }
        const sampleMs: number[] = [];
        const sampleNfe: number[] = [];
        for (let k = 0; k < (req.quick ? 2 : 7); ++k) {
          const t0 = performance.now();
          const s = check(m.sample(atoms, k, 1e-4, 1e-4, [], [], 0, null, null));
          sampleMs.push(performance.now() - t0);
          sampleNfe.push(s.nfe);
        }
        const hutchMs: number[] = [];
        const hutchNfe: number[] = [];
        for (let k = 0; k < (req.quick ? 1 : 3); ++k) {
          const t0 = performance.now();
          const r = check(m.logLikelihood(req.elements, req.positions, 'hutchinson', 1, 1, k, 1e-4, 1e-4, null));
          hutchMs.push(performance.now() - t0);
          hutchNfe.push(r.nfe);
        }
        let exact: { ms: number; nfe: number; ll: number } | null = null;
        if (req.exact) {
          const t0 = performance.now();
          const r = check(m.logLikelihood(req.elements, req.positions, 'exact', 1, 1, 0, 1e-4, 1e-4, null));
          exact = { ms: performance.now() - t0, nfe: r.nfe, ll: r.logLikelihood };
        }
        return {
          value: {
            atoms,
            nfe_ms: median(evalMs),
            sample_ms: median(sampleMs),
            sample_nfe: median(sampleNfe),
            score_hutch_ms: median(hutchMs),
            score_hutch_nfe: median(hutchNfe),
            exact,
          },
        };
      }
      case 'heap':
        return { value: mod.heapInUse() };
      case 'crash':
        // Die as a real crash would, with the job still running: an uncaught error, no reply.
        setTimeout(() => {
          throw new Error('worker crash requested by a test');
        });
        return null;
      case 'oom': {
        // Run out of memory as a runaway allocation would (tests only).
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array(1 << 20).fill(hoard.length));
      }
    }
  }

  return async function onMessage(req: Request): Promise<void> {
    if (req.op === 'warm') {
      warming = instantiate(factory, req.module);
      warming.catch(() => {}); // init reports the failure
      return;
    }
    try {
      if (req.op === 'init') {
        cancel = req.cancel ? new Int32Array(req.cancel) : null;
        const t0 = performance.now();
        mod = await (warming ?? instantiate(factory, req.module));
        const t1 = performance.now();
        // No weights: a worker for training mode only (train.ts).
        if (req.weights.length > 0) model = check(mod.loadModel(req.weights, !req.checksumVerified)).model;
        const t2 = performance.now();
        post({ id: req.id, kind: 'result', value: { maxAtoms: model?.maxAtoms() ?? 0, instantiateMs: t1 - t0, loadMs: t2 - t1 } });
        return;
      }
      const r = run(req);
      if (r) post({ id: req.id, kind: 'result', value: r.value }, r.transfer);
    } catch (e) {
      if (e instanceof BindingError || e instanceof TrainBindingError) {
        post({ id: req.id, kind: 'error', error: e.record });
      } else if (e instanceof AbortError || e instanceof InvalidInputError) {
        post({ id: req.id, kind: 'error', error: recordFromError(e) });
      } else {
        // A WebAssembly trap or abort (out of memory, unreachable): the instance cannot be trusted.
        const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        post({ id: req.id, kind: 'error', error: { kind: 'WorkerCrashed', message }, fatal: true });
        die();
      }
    }
  };
}
