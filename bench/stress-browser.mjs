// The stress run in headless Chromium (`npm run stress` runs it after bench/stress.mjs): a page
// built with Vite from web/dist makes mixed calls with random aborts, bad inputs and injected worker
// crashes (its workers are the package's worker plus a `crash` operation, bundled into one script as
// the shipped browser worker is), then loads and disposes a model many times. Prints one JSON line per phase; exits non-zero when a promise settled
// the wrong way, a rejection went unhandled, the pool did not recover, workers were left running
// (Playwright lists the page's dedicated workers) or the JS heap grew.
//   ENF_STRESS_CALLS (default 10000), ENF_STRESS_CYCLES (default 200), CHROMIUM (default /usr/bin/chromium)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, statSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const calls = Number(process.env.ENF_STRESS_CALLS ?? 10000);
const cycles = Number(process.env.ENF_STRESS_CYCLES ?? 200);

// The page's worker: the package's own handlers and one more operation, a crash (an exception that
// ends the worker, as a WebAssembly trap does).
const WORKER = `import createEnfModule from '${join(root, 'web', 'dist', 'enf_wasm.js')}';
import { createWorkerHandler } from '${join(root, 'web', 'dist', 'worker-core.js')}';
const scope = globalThis;
const handle = createWorkerHandler(createEnfModule, (reply, transfer) => scope.postMessage(reply, transfer ?? []), () => scope.close(), {
  crash() { throw new Error('worker crash requested by the stress run'); },
});
scope.onmessage = (e) => void handle(e.data);
`;

const PAGE = `import { AbortError, InvalidInputError, WorkerCrashedError, loadModel, parseSDF, parseXYZ, toSDF, toXYZ } from 'enf-wasm';
const calls = ${calls}, cycles = ${cycles};
let state = 1;
const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const pick = (n) => Math.floor(rand() * n);
let unhandled = 0;
addEventListener('unhandledrejection', () => unhandled++);
const heap = () => (performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : NaN);
const fast = { rtol: 1e-2, atol: 1e-2 };
const water = { elements: ['O', 'H', 'H'], positions: [0, 0, 0.12, 0, 0.76, -0.48, 0, -0.76, -0.48] };
(async () => {
  const model = await loadModel('qm9', { workers: 2, workerUrl: new URL('/stress-worker.js', location.href) });
  const [ref] = await model.sample({ atoms: 7, seed: 3, ...fast });
  const sdf = toSDF(ref, 'ok');
  const start = heap();
  let peak = start;
  const outcomes = {};
  const unexpected = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < calls) {
      const k = next++;
      const r = rand();
      const ac = new AbortController();
      const aborted = rand() < 0.2;
      if (aborted) setTimeout(() => ac.abort(), pick(30));
      let kind, run, allowed = aborted ? ['ok', 'AbortError'] : ['ok'];
      if (r < 0.3) [kind, run] = ['sample', () => model.sample({ atoms: 3 + pick(7), seed: k, count: 1 + pick(3), signal: ac.signal, ...fast })];
      else if (r < 0.45) [kind, run] = ['trajectory', async () => { let n = 0; for await (const f of model.sampleTrajectory({ atoms: 3 + pick(5), seed: k, frames: 6, signal: ac.signal, ...fast })) if (++n > pick(8) && f) break; }];
      else if (r < 0.65) [kind, run] = ['score', () => model.score(rand() < 0.5 ? ref : sdf, { seed: k, signal: ac.signal, ...fast })];
      else if (r < 0.655) [kind, run, allowed] = ['crash', () => model._run({ op: 'crash' }), ['WorkerCrashedError']];
      else if (r < 0.78) {
        const bad = [{ elements: ['O', 'H', 'H'], positions: [0, NaN, 0, 0, 0, 1, 0, 1, 0] }, { elements: ['Cl', 'H'], positions: [0, 0, 0, 0, 0, 1.3] }, '3\\nbroken\\nH 0 0\\n'][pick(3)];
        [kind, run] = ['bad-input', () => model.score(bad, { signal: ac.signal, ...fast })];
        allowed = aborted ? ['InvalidInputError', 'AbortError'] : ['InvalidInputError'];
      } else {
        const texts = [toXYZ(water), sdf, '2\\n\\nH 0 0 0\\nX 0 0 1\\n', 'not a molecule'];
        const text = texts[pick(texts.length)];
        [kind, run] = ['parse', async () => { if (text.includes('V2000')) { if (parseSDF(text).some((x) => x.error)) throw new InvalidInputError('record'); } else parseXYZ(text); }];
        allowed = ['ok', 'InvalidInputError'];
      }
      let outcome;
      try { await run(); outcome = 'ok'; } catch (e) { outcome = e instanceof AbortError ? 'AbortError' : e instanceof InvalidInputError ? 'InvalidInputError' : e instanceof WorkerCrashedError ? 'WorkerCrashedError' : 'other: ' + (e && e.name) + ': ' + (e && e.message); }
      outcomes[kind + ':' + outcome] = (outcomes[kind + ':' + outcome] ?? 0) + 1;
      if (!allowed.includes(outcome)) unexpected.push(kind + ' #' + k + ': ' + outcome);
      if (k % 500 === 0) peak = Math.max(peak, heap());
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const [again] = await model.sample({ atoms: 7, seed: 3, ...fast });
  const recovered = again.positions.every((v, i) => v === ref.positions[i]);
  await model.dispose();
  window.__mixed = { phase: 'mixed-calls-chromium', calls, seconds: +seconds.toFixed(1), outcomes, unexpected: unexpected.slice(0, 10), unexpectedCount: unexpected.length, unhandled, recovered, heapMB: { start: +start.toFixed(1), peak: +peak.toFixed(1) } };
  const t1 = performance.now();
  for (let c = 0; c < cycles; c++) {
    const m = await loadModel('qm9', { workers: 1 });
    await m.sample({ atoms: 3, seed: c, ...fast });
    await m.dispose();
  }
  window.__cycles = { phase: 'load-dispose-chromium', cycles, seconds: +((performance.now() - t1) / 1000).toFixed(1), unhandled };
})().catch((e) => { window.__error = String((e && e.stack) || e); });
`;

const work = mkdtempSync(join(tmpdir(), 'enf-stress-'));
let server;
let browser;
let code = 0;
try {
  writeFileSync(join(work, 'index.html'), '<!doctype html><meta charset="utf-8"><title>stress</title><script type="module" src="/main.js"></script>');
  writeFileSync(join(work, 'main.js'), PAGE);
  const { build } = await import('vite');
  await build({ root: work, logLevel: 'error', configFile: false, resolve: { alias: { 'enf-wasm': join(root, 'web', 'dist', 'index.js') } }, build: { outDir: join(work, 'dist') } });
  writeFileSync(join(work, 'stress-worker-src.js'), WORKER);
  const { build: esbuild } = await import('esbuild');
  await esbuild({ entryPoints: [join(work, 'stress-worker-src.js')], outfile: join(work, 'dist', 'stress-worker.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error' });
  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(work, 'dist', path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--enable-precise-memory-info', '--js-flags=--expose-gc'] });
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.__mixed || window.__error, null, { timeout: 1_800_000 });
  const mixed = await page.evaluate(() => window.__mixed ?? { error: window.__error });
  console.log(JSON.stringify(mixed));
  await page.waitForFunction(() => window.__cycles || window.__error, null, { timeout: 1_800_000 });
  await page.waitForTimeout(1000);
  const heapEnd = await page.evaluate(() => { globalThis.gc?.(); return performance.memory.usedJSHeapSize / 2 ** 20; });
  const lifecycle = { ...(await page.evaluate(() => window.__cycles ?? { error: window.__error })), heapEndMB: +heapEnd.toFixed(1), liveWorkers: page.workers().length };
  console.log(JSON.stringify(lifecycle));
  const failures = [];
  if (mixed.error || lifecycle.error) failures.push(mixed.error ?? lifecycle.error);
  if (mixed.unexpectedCount) failures.push(`${mixed.unexpectedCount} calls settled the wrong way`);
  if (lifecycle.unhandled) failures.push(`${lifecycle.unhandled} unhandled rejections`);
  if (!mixed.recovered) failures.push('the pool gave another molecule after the run');
  if (lifecycle.liveWorkers) failures.push(`${lifecycle.liveWorkers} workers still running after dispose`);
  if (mixed.heapMB && heapEnd - mixed.heapMB.start > 32) failures.push(`JS heap grew ${(heapEnd - mixed.heapMB.start).toFixed(1)} MB`);
  if (problems.length) failures.push(problems.join('; '));
  if (failures.length) {
    console.error(`stress (Chromium): FAILED: ${failures.join('; ')}`);
    code = 1;
  } else console.error('stress (Chromium): ok');
} finally {
  await browser?.close();
  server?.close();
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
