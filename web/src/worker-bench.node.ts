// The worker `enf bench` runs (Node): the package's worker plus a `bench` operation that times the
// core inside the worker, with the same measurements, in the same order, as bench/bench_native.cpp.
import { parentPort } from 'node:worker_threads';
import createEnfModule from './enf_wasm.js';
import { check, createWorkerHandler, type JobContext } from './worker-core.js';

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

export interface BenchValue {
  atoms: number;
  nfe_ms: number;
  sample_ms: number;
  sample_nfe: number;
  score_hutch_ms: number;
  score_hutch_nfe: number;
  exact: { ms: number; nfe: number; ll: number } | null;
}

function bench(
  req: { elements: Array<string | number>; positions: Float64Array; quick: boolean; exact: boolean },
  c: JobContext,
): { value: BenchValue } {
  const m = c.model();
  const atoms = req.elements.length;
  const z = check(m.drawLatent(atoms, 1)).value;
  const time = <T>(f: () => T): [T, number] => {
    const t0 = performance.now();
    const r = f();
    return [r, performance.now() - t0];
  };
  const evalMs = Array.from({ length: req.quick ? 20 : 200 }, () => time(() => check(m.velocity(0.5, z)))[1]);
  const samples = Array.from({ length: req.quick ? 2 : 7 }, (_, k) => time(() => check(m.sample({ atoms, seed: k }, null, null))));
  const hutch = Array.from({ length: req.quick ? 1 : 3 }, (_, k) =>
    time(() => check(m.logLikelihood(req.elements, req.positions, { trace: 'hutchinson', seed: k }, null, null))),
  );
  let exact: BenchValue['exact'] = null;
  if (req.exact) {
    const [r, ms] = time(() => check(m.logLikelihood(req.elements, req.positions, { trace: 'exact' }, null, null)));
    exact = { ms, nfe: r.nfe, ll: r.logLikelihood };
  }
  return {
    value: {
      atoms,
      nfe_ms: median(evalMs),
      sample_ms: median(samples.map(([, ms]) => ms)),
      sample_nfe: median(samples.map(([s]) => s.nfe)),
      score_hutch_ms: median(hutch.map(([, ms]) => ms)),
      score_hutch_nfe: median(hutch.map(([r]) => r.nfe)),
      exact,
    },
  };
}

const port = parentPort!;
const handle = createWorkerHandler(
  createEnfModule,
  (reply, transfer) => port.postMessage(reply, transfer as never),
  () => process.exit(70),
  { bench },
);
port.on('message', (m) => void handle(m));
