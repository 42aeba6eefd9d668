// Stress run of the package in Node (`npm run stress`): many mixed calls with random aborts, bad
// inputs and injected worker crashes, then many load / dispose cycles. Prints one JSON line per
// phase and exits non-zero when a promise settled the wrong way, a rejection went unhandled, the
// pool did not recover, or memory grew.
//   ENF_STRESS_CALLS (default 10000), ENF_STRESS_CYCLES (default 200), ENF_STRESS_SEED (default 1)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const enf = await import(join(root, 'web', 'dist', 'node.js'));
const { AbortError, InvalidInputError, WorkerCrashedError, loadModel, parseSDF, parseXYZ, toSDF, toXYZ } = enf;
const testWorker = new URL('../tests/js/fixtures/worker-with-test-ops.mjs', import.meta.url);
const weights = new Uint8Array(readFileSync(join(root, 'web', 'dist', 'qm9.safetensors')));

const calls = Number(process.env.ENF_STRESS_CALLS ?? 10000);
const cycles = Number(process.env.ENF_STRESS_CYCLES ?? 200);
let state = Number(process.env.ENF_STRESS_SEED ?? 1) >>> 0;
const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const pick = (n) => Math.floor(rand() * n);

const gc = v8.setFlagsFromString('--expose-gc') ?? vm.runInNewContext('gc');
const heapMB = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

let unhandled = 0;
process.on('unhandledRejection', (e) => {
  unhandled += 1;
  console.error('unhandled rejection:', e);
});

const water = { elements: ['O', 'H', 'H'], positions: [0, 0, 0.12, 0, 0.76, -0.48, 0, -0.76, -0.48] };
const fast = { rtol: 1e-2, atol: 1e-2 };

// ---- phase 1: mixed calls
const model = await loadModel(weights, { workers: 2, workerUrl: testWorker });
const wasmHeap = async () => (await Promise.all([model._run({ op: 'heap' }), model._run({ op: 'heap' })])).map((b) => b / 2 ** 20);
const [sampleMolecule] = await model.sample({ atoms: 7, seed: 3, ...fast });
const goodSdf = toSDF(sampleMolecule, 'ok');
const start = { heap: heapMB(), wasm: await wasmHeap() };
let peakHeap = start.heap;
const counts = {};
const outcomes = {};
const unexpected = [];
const t0 = performance.now();

/** One random call: what it is, and what outcomes are right for it. */
function randomCall(k) {
  const r = rand();
  const ac = new AbortController();
  const abortAfter = rand() < 0.2 ? pick(30) : -1;
  if (abortAfter >= 0) setTimeout(() => ac.abort(), abortAfter);
  const allowed = abortAfter >= 0 ? ['ok', 'AbortError'] : ['ok'];
  if (r < 0.3) return ['sample', () => model.sample({ atoms: 3 + pick(7), seed: k, count: 1 + pick(3), signal: ac.signal, ...fast }), allowed];
  if (r < 0.45)
    return ['trajectory', async () => {
      let n = 0;
      for await (const f of model.sampleTrajectory({ atoms: 3 + pick(5), seed: k, frames: 6, signal: ac.signal, ...fast })) if (++n > pick(8) && f) break;
    }, allowed];
  if (r < 0.65) return ['score', () => model.score(rand() < 0.5 ? sampleMolecule : goodSdf, { seed: k, signal: ac.signal, ...fast }), allowed];
  if (r < 0.75) {
    const bad = [
      { elements: ['O', 'H', 'H'], positions: [0, NaN, 0, 0, 0, 1, 0, 1, 0] },
      { elements: ['Cl', 'H'], positions: [0, 0, 0, 0, 0, 1.3] },
      { elements: ['H'], positions: [0, 0, 0] },
      '3\nbroken\nH 0 0\n',
    ][pick(4)];
    return ['bad-input', () => model.score(bad, { signal: ac.signal, ...fast }), ['InvalidInputError', ...(abortAfter >= 0 ? ['AbortError'] : [])]];
  }
  if (r < 0.775) return ['bad-option', () => model.sample({ seed: 1, atom: 5 }), ['InvalidInputError']];
  if (r < 0.78) return ['crash', () => model._run({ op: 'crash' }), ['WorkerCrashedError']];
  // Synchronous parsers on this thread.
  const texts = [toXYZ(water), goodSdf, '2\n\nH 0 0 0\nX 0 0 1\n', goodSdf.replace(' O ', ' Q '), 'not a molecule'];
  const text = texts[pick(texts.length)];
  return ['parse', async () => {
    if (text.includes('V2000')) {
      const recs = parseSDF(text);
      if (recs.some((x) => x.error)) throw new InvalidInputError(recs[0].error);
    } else parseXYZ(text);
  }, ['ok', 'InvalidInputError']];
}

let next = 0;
async function lane() {
  while (next < calls) {
    const k = next++;
    const [kind, run, allowed] = randomCall(k);
    counts[kind] = (counts[kind] ?? 0) + 1;
    let outcome;
    try {
      await run();
      outcome = 'ok';
    } catch (e) {
      outcome = e instanceof AbortError ? 'AbortError' : e instanceof InvalidInputError ? 'InvalidInputError' : e instanceof WorkerCrashedError ? 'WorkerCrashedError' : `other: ${e && e.name}: ${e && e.message}`;
    }
    outcomes[`${kind}:${outcome}`] = (outcomes[`${kind}:${outcome}`] ?? 0) + 1;
    if (!allowed.includes(outcome)) unexpected.push(`${kind} #${k}: ${outcome}`);
    if (k % 500 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed / 2 ** 20);
  }
}
await Promise.all(Array.from({ length: 8 }, lane));
const seconds = (performance.now() - t0) / 1000;
// The pool recovered: both workers answer, and a sample still equals the one before the storm.
const [again] = await model.sample({ atoms: 7, seed: 3, ...fast });
const recovered = again.positions.every((v, i) => v === sampleMolecule.positions[i]);
const end = { heap: heapMB(), wasm: await wasmHeap() };
model.dispose();
const mixed = {
  phase: 'mixed-calls', calls, seconds: +seconds.toFixed(1), counts, outcomes, unexpected: unexpected.slice(0, 10), unexpectedCount: unexpected.length,
  unhandled, recovered,
  heapMB: { start: +start.heap.toFixed(1), peak: +peakHeap.toFixed(1), end: +end.heap.toFixed(1) },
  wasmMBPerWorker: { start: start.wasm.map((v) => +v.toFixed(1)), end: end.wasm.map((v) => +v.toFixed(1)) },
};
console.log(JSON.stringify(mixed));

// ---- phase 2: load and dispose
const before = { heap: heapMB(), rss: process.memoryUsage().rss / 2 ** 20 };
const t1 = performance.now();
for (let c = 0; c < cycles; c++) {
  const m = await loadModel(weights, { workers: 1 });
  await m.sample({ atoms: 3, seed: c, ...fast });
  await m.dispose();
}
await new Promise((r) => setTimeout(r, 500)); // terminated workers finish exiting
const after = { heap: heapMB(), rss: process.memoryUsage().rss / 2 ** 20 };
const workers = process.getActiveResourcesInfo().filter((x) => /Worker/i.test(x)).length;
const lifecycle = {
  phase: 'load-dispose', cycles, seconds: +((performance.now() - t1) / 1000).toFixed(1),
  heapMB: { start: +before.heap.toFixed(1), end: +after.heap.toFixed(1) }, rssMB: { start: +before.rss.toFixed(0), end: +after.rss.toFixed(0) },
  liveWorkerHandles: workers, unhandled,
};
console.log(JSON.stringify(lifecycle));

const failures = [];
if (unexpected.length) failures.push(`${unexpected.length} calls settled the wrong way`);
if (unhandled) failures.push(`${unhandled} unhandled rejections`);
if (!recovered) failures.push('the pool gave another molecule after the run');
if (end.heap - start.heap > 32) failures.push(`JS heap grew ${(end.heap - start.heap).toFixed(1)} MB`);
if (end.wasm.some((v, i) => v - (start.wasm[i] ?? 0) > 16)) failures.push('wasm heap grew more than 16 MB');
if (after.heap - before.heap > 32) failures.push(`JS heap grew ${(after.heap - before.heap).toFixed(1)} MB over ${cycles} load/dispose cycles`);
if (workers) failures.push(`${workers} worker handles still alive`);
if (failures.length) {
  console.error(`stress: FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.error('stress: ok');
process.exit(0);
