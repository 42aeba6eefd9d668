// The packed tarball bundled by each of Vite, webpack 5, Rollup 4 and esbuild, as the README says
// (Vite and webpack follow the package's `new URL(..., import.meta.url)` assets; for Rollup and
// esbuild the app copies three files and passes their URLs), then loaded in headless Chromium
// under a CSP: each samples the same molecule, bit for bit, with no failed request.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, root, skipNoChromium, skipNoWeights } from './helpers.mjs';

const skip = skipNoWeights || skipNoChromium;
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

// The app: the same in every bundler. `window.ENF_ASSETS` (set by index.html for Rollup and esbuild)
// holds the URLs of the three copied files.
const MAIN = `import { loadModel } from 'enf-wasm';
const assets = window.ENF_ASSETS;
const base = document.baseURI;
(async () => {
  try {
    const model = assets
      ? await loadModel(new URL(assets.weights, base), { workers: 1, workerUrl: new URL(assets.worker, base), wasmUrl: new URL(assets.wasm, base) })
      : await loadModel('qm9', { workers: 1 });
    const [m] = await model.sample({ seed: 1, atoms: 9 });
    window.__result = { formula: m.formula, positions: Array.from(m.positions) };
    model.dispose();
  } catch (e) {
    window.__result = { error: String((e && e.stack) || e) };
  }
})();
`;

let work;
let app;
before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'enf-bundlers-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: join(root, 'web'), encoding: 'utf8' }));
  app = join(work, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  writeFileSync(join(app, 'src', 'main.js'), MAIN);
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', join(work, packed[0].filename)], { cwd: app, stdio: 'pipe' });
  // The worker the package ships is one module without imports (what copying needs).
  const worker = readFileSync(join(app, 'node_modules', 'enf-wasm', 'dist', 'worker.browser.js'), 'utf8');
  assert.doesNotMatch(worker, /^\s*import\s|from\s*["']\.\.?\//m, 'worker.browser.js has relative imports');
});
after(() => work && rmSync(work, { recursive: true, force: true }));

function html(assets) {
  const config = assets ? `<script src="./enf-assets.js"></script>` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>enf</title>${config}</head><body><script type="module" src="./main.js"></script></body></html>`;
}

/** Copies the three files for bundlers that do not follow the package's asset URLs. */
function copyAssets(out) {
  const dist = join(app, 'node_modules', 'enf-wasm', 'dist');
  mkdirSync(join(out, 'enf'), { recursive: true });
  for (const f of ['worker.browser.js', 'enf_wasm.wasm', 'qm9.safetensors']) cpSync(join(dist, f), join(out, 'enf', f));
  writeFileSync(join(out, 'enf-assets.js'), 'window.ENF_ASSETS = { worker: "enf/worker.browser.js", wasm: "enf/enf_wasm.wasm", weights: "enf/qm9.safetensors" };\n');
}

const BUNDLERS = {
  async vite(out) {
    const { build } = await import('vite');
    writeFileSync(join(app, 'index.html'), html(false).replace('./main.js', '/src/main.js'));
    await build({ root: app, logLevel: 'error', configFile: false, build: { outDir: out } });
  },
  async webpack(out) {
    const { default: webpack } = await import('webpack');
    const compiler = webpack({ mode: 'production', context: app, entry: './src/main.js', output: { path: out, filename: 'main.js', publicPath: 'auto' },
      experiments: { outputModule: false }, performance: { hints: false } });
    const stats = await new Promise((resolve, reject) => compiler.run((e, s) => (e ? reject(e) : compiler.close(() => resolve(s)))));
    assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
    writeFileSync(join(out, 'index.html'), html(false).replace(' type="module"', ''));
  },
  async rollup(out) {
    const { rollup } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    const bundle = await rollup({ input: join(app, 'src', 'main.js'), plugins: [nodeResolve({ browser: true, rootDir: app })], logLevel: 'silent' });
    await bundle.write({ dir: out, format: 'es', entryFileNames: 'main.js' });
    await bundle.close();
    copyAssets(out);
    writeFileSync(join(out, 'index.html'), html(true));
  },
  async esbuild(out) {
    const { build } = await import('esbuild');
    await build({ entryPoints: [join(app, 'src', 'main.js')], bundle: true, format: 'esm', outfile: join(out, 'main.js'), absWorkingDir: app, logLevel: 'error' });
    copyAssets(out);
    writeFileSync(join(out, 'index.html'), html(true));
  },
};

function serve(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (path === '/favicon.ico') return res.writeHead(204).end();
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('the packed package bundles with Vite, webpack, Rollup and esbuild and samples in Chromium', { skip, timeout: 600_000 }, async (t) => {
  const browser = await launchChromium();
  const results = {};
  try {
    for (const [name, bundle] of Object.entries(BUNDLERS)) {
      const out = join(work, `out-${name}`);
      const t0 = performance.now();
      await bundle(out);
      const server = await serve(out);
      try {
        const page = await browser.newPage();
        const problems = [];
        page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
        page.on('pageerror', (e) => problems.push(String(e)));
        page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} for ${r.url()}`));
        await page.goto(`http://127.0.0.1:${server.address().port}/`);
        await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 120_000 });
        const r = await page.evaluate(() => window.__result);
        assert.equal(r.error, undefined, `${name}: ${r.error}`);
        assert.deepEqual(problems, [], `${name}: ${problems.join('\n')}`);
        results[name] = r;
        t.diagnostic(`${name}: ${r.formula} in ${((performance.now() - t0) / 1000).toFixed(1)} s (bundle + load + sample)`);
        await page.close();
      } finally {
        server.close();
      }
    }
  } finally {
    await browser.close();
  }
  for (const name of Object.keys(BUNDLERS)) assert.deepEqual(results[name].positions, results.vite.positions, `${name} sampled another molecule`);
});
