// The packed tarball, installed into a scratch Vite app made here, builds; loaded in headless
// Chromium under a Content-Security-Policy without 'unsafe-eval', it samples a molecule, bit for bit
// the one Node samples from the same seed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { root, sameBits, skipNoWeights } from './helpers.mjs';

const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = skipNoWeights || (!existsSync(chromium) && `no Chromium at ${chromium}`);

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

function serve(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Content-Security-Policy': CSP,
    });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('npm pack -> scratch Vite app -> headless Chromium samples a molecule', { skip, timeout: 300_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'enf-vite-'));
  try {
    // 1. Pack the package as it would be published.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: join(root, 'web'), encoding: 'utf8' }));
    const tarball = join(work, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/enf_wasm.wasm', 'dist/qm9.safetensors', 'bin/enf.js', 'LICENSE'])
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    assert.ok(!files.some((f) => f.startsWith('src/')), 'sources should not be packed');

    // 2. A scratch app that imports it.
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', join(app, 'src')]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    writeFileSync(
      join(app, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><title>enf</title></head><body><pre id="out">loading</pre><script type="module" src="/src/main.js"></script></body></html>',
    );
    writeFileSync(
      join(app, 'src', 'main.js'),
      `import { loadModel, toXYZ } from 'enf-wasm';
const out = document.getElementById('out');
(async () => {
try {
  const t0 = performance.now();
  const marks = []; const model = await loadModel('qm9', { workers: 2, onProgress: (f, p) => marks.push([p.phase, +f.toFixed(2), Math.round(performance.now() - t0)]) });
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  const [m] = await model.sample({ seed: 1, atoms: 9 });
  const sampleMs = performance.now() - t1;
  const frames = [];
  for await (const f of model.sampleTrajectory({ seed: 1, atoms: 9, frames: 5 })) frames.push(f.t);
  const xyz = toXYZ(m, 'from the browser');
  // Cancelling a running solve (this page is not cross-origin isolated, so the worker is replaced).
  const ac = new AbortController();
  const cancelled = model.sample({ seed: 2, atoms: 19, signal: ac.signal });
  setTimeout(() => ac.abort(), 30);
  const abortName = await cancelled.then(() => 'resolved', (e) => e.name);
  // Aborting a batch of 10^5 molecules settles at once and never freezes the page.
  const big = new AbortController();
  const bigBatch = model.sample({ seed: 0, count: 100000, atoms: 9, rtol: 1e-3, atol: 1e-3, signal: big.signal });
  await new Promise((r) => setTimeout(r, 50));
  let bigLag = 0, last = performance.now();
  const ticker = setInterval(() => { const now = performance.now(); bigLag = Math.max(bigLag, now - last - 5); last = now; }, 5);
  const tb = performance.now();
  big.abort();
  const bigName = await bigBatch.then(() => 'resolved', (e) => e.name);
  const bigAbortMs = performance.now() - tb;
  await new Promise((r) => setTimeout(r, 200));
  clearInterval(ticker);
  const [again] = await model.sample({ seed: 1, atoms: 9 });
  const sameAfterAbort = again.positions.every((v, i) => v === m.positions[i]);
  window.__result = { timings: model.timings, marks, loadMs, sampleMs, workers: model.workers, formula: m.formula, atoms: m.elements.length,
    positions: Array.from(m.positions), frames, abortName, bigName, bigAbortMs, bigLag, sameAfterAbort, xyzLines: xyz.trim().split('\\n').length };
  model.dispose();
  out.textContent = 'done';
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
  out.textContent = 'error';
}
})();
`,
    );
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: app, stdio: 'pipe' });

    // 2b. A TypeScript consumer type-checks against the shipped declarations under the strictest
    // common settings (and without skipLibCheck, so the .d.ts files themselves are checked).
    writeFileSync(
      join(app, 'check.ts'),
      `import { EnfError, NetworkError, loadModel, parseSDF, toSDF, type EnfErrorCode, type ModelSource, type ScoreManyItem } from 'enf-wasm';
const source: ModelSource = 'qm9';
const model = await loadModel(source, { workers: 1, onProgress: (f, p) => console.log(f, p.phase, p.loaded) });
const [m] = await model.sample({ seed: 1, atoms: 9 });
if (m) {
  const order: 1 | 2 | 3 | undefined = m.bonds[0]?.order;
  const r = await model.score(m, { trace: 'hutchinson', probes: 2 });
  const items: ScoreManyItem[] = await model.scoreMany(toSDF(m, 'x'));
  console.log(order, r.logLikelihood, r.stderr ?? 0, items[0]?.score?.perAtom, parseSDF(toSDF(m))[0]?.molecule?.elements);
}
try { await loadModel('https://example.invalid/x.safetensors'); } catch (e) {
  const code: EnfErrorCode | undefined = e instanceof EnfError ? e.code : undefined;
  if (e instanceof NetworkError) console.log(e.url, e.status ?? 'unreachable', code);
}
await model.dispose();
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], strict: true,
          exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, stdio: 'pipe' });
    // The same package from a Node script: the declarations compile without the DOM lib (only
    // ES2022 and @types/node), and `await using` disposes models, trainers and flows.
    writeFileSync(
      join(app, 'check-node.ts'),
      `import { createTrainer, loadModel, loadParticleFlow, parseXYZ, type ParsedMolecule, type TrainingMethod } from 'enf-wasm';
await using model = await loadModel('qm9', { workers: 1 });
const [m] = await model.sample({ seed: 1, atoms: 5 });
const parsed: ParsedMolecule = parseXYZ('1\\n\\nC 0 0 0\\n');
const method: TrainingMethod = 'GNF-att-aug';
await using trainer = await createTrainer({ system: 'dw4', method, nTrain: 10, nVal: 0 });
await using flow = await loadParticleFlow(await trainer.exportWeights());
console.log(m?.positions.length, parsed.positions[0], flow.method, flow.nTrain ?? 0, trainer.method);
`,
    );
    writeFileSync(
      join(app, 'tsconfig.node.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'esnext.disposable'], types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')], strict: true, exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true,
        },
        files: ['check-node.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.node.json')], { cwd: app, stdio: 'pipe' });
    } catch (e) {
      assert.fail(`the Node consumer does not type-check:\n${e.stdout}`);
    }

    // 3. Build with Vite (the repository's copy; no network needed).
    const { build } = await import('vite');
    await build({ root: app, logLevel: 'warn', build: { outDir: join(app, 'dist') }, configFile: false });
    const assets = readdirSync(join(app, 'dist', 'assets'));
    assert.ok(assets.some((f) => f.endsWith('.wasm')), `no .wasm among ${assets}`);
    assert.ok(assets.some((f) => f.endsWith('.safetensors')), `no weights among ${assets}`);

    // 4. Serve it with a strict CSP and load it in headless Chromium.
    const server = await serve(join(app, 'dist'));
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const problems = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
      });
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 120_000 });
      const r = await page.evaluate(() => window.__result);
      assert.equal(r.error, undefined, r.error);
      assert.equal(r.atoms, 9);
      assert.equal(r.positions.length, 27);
      assert.ok(r.positions.every(Number.isFinite));
      assert.match(r.formula, /^[CHNOF0-9]+$/);
      assert.deepEqual(r.frames, [1, 0.75, 0.5, 0.25, 0]);
      assert.equal(r.xyzLines, 11);
      assert.equal(r.abortName, 'AbortError');
      assert.equal(r.bigName, 'AbortError');
      t.diagnostic(`Chromium: abort of a 10^5-molecule batch rejected in ${r.bigAbortMs.toFixed(1)} ms; longest main-thread stall after it ${r.bigLag.toFixed(1)} ms`);
      assert.ok(r.bigAbortMs < 100, `abort of a 10^5-molecule batch took ${r.bigAbortMs.toFixed(0)} ms`);
      assert.equal(r.sameAfterAbort, true);
      assert.deepEqual(problems, []);
      // The same seed in Node (worker_threads) gives the same bits as in Chromium (Web Workers).
      const { loadModel } = await import('enf-wasm');
      const nodeModel = await loadModel('qm9', { workers: 1 });
      try {
        const [m] = await nodeModel.sample({ seed: 1, atoms: 9 });
        assert.ok(sameBits(Float32Array.from(r.positions), m.positions), 'Chromium and Node sampled different positions for seed 1');
        assert.equal(r.formula, m.formula);
      } finally {
        nodeModel.dispose();
      }
      t.diagnostic(`load progress [phase, fraction, ms]: ${JSON.stringify(r.marks)}; first worker: ${JSON.stringify(r.timings)}`);
      t.diagnostic(`Chromium: loadModel ${r.loadMs.toFixed(0)} ms (${r.workers} workers), first 9-atom sample ${r.sampleMs.toFixed(0)} ms`);
    } finally {
      await browser.close();
      server.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
