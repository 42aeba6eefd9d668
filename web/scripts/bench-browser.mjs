// Measures, in headless Chromium, how long loadModel('qm9') takes (median of several fresh page
// loads) and how many 19-atom molecules per second pools of 1 and 2 workers sample.
// usage: node web/scripts/bench-browser.mjs [--loads N] [--molecules N] [--warmup N per worker]
// (after npm run build:web); CHROMIUM_FLAGS adds browser flags (e.g. --js-flags=--no-liftoff).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const loads = Number(process.argv[process.argv.indexOf('--loads') + 1]) || 7;
const molecules = Number(process.argv[process.argv.indexOf('--molecules') + 1]) || 12;
const warmup = Number(process.argv[process.argv.indexOf('--warmup') + 1]) || 2;
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'enf-bench-browser-'));
try {
  const app = join(work, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  mkdirSync(join(app, 'node_modules', 'enf-wasm'), { recursive: true });
  for (const f of ['package.json', 'dist']) cpSync(join(web, f), join(app, 'node_modules', 'enf-wasm', f), { recursive: true });
  writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="/src/main.js"></script>');
  writeFileSync(
    join(app, 'src', 'main.js'),
    `import { loadModel } from 'enf-wasm';
const q = new URLSearchParams(location.search);
(async () => {
  const t0 = performance.now();
  const model = await loadModel('qm9', { workers: Number(q.get('workers') || 1) });
  const loadMs = performance.now() - t0;
  let rate = null;
  if (q.get('throughput')) {
    // The same batch for every pool size (the solver's work varies from seed to seed), timed after
    // a warm-up that lets every worker's code reach the optimising tier.
    const n = Number(q.get('throughput'));
    await model.sample({ count: Number(q.get('warmup') ?? 2) * model.workers, atoms: 19, seed: 1000 });
    const t1 = performance.now();
    await model.sample({ count: n, atoms: 19, seed: 0 });
    rate = n / ((performance.now() - t1) / 1000);
  }
  model.dispose();
  window.__result = { loadMs, rate };
})().catch((e) => (window.__result = { error: String(e) }));
`,
  );
  const { build } = await import('vite');
  await build({ root: app, logLevel: 'warn', build: { outDir: join(app, 'dist') }, configFile: false });
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    let file = join(app, 'dist', normalize(new URL(req.url, 'http://x').pathname));
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return void res.writeHead(404).end();
    const body = readFileSync(file);
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({
    executablePath: chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(process.env.CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean)],
  });
  const run = async (query) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/?${query}`);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 300_000 });
    const r = await page.evaluate(() => window.__result);
    await context.close();
    if (r.error) throw new Error(r.error);
    return r;
  };
  const loadMs = [];
  for (let k = 0; k < loads; ++k) loadMs.push((await run('workers=1')).loadMs);
  loadMs.sort((a, b) => a - b);
  const rates = [];
  for (const w of [1, 2]) rates.push((await run(`workers=${w}&throughput=${molecules}&warmup=${warmup}`)).rate);
  await browser.close();
  server.close();
  console.log(
    JSON.stringify({
      runtime: 'wasm-chromium',
      load_ms_median: +loadMs[loadMs.length >> 1].toFixed(1),
      load_ms_min: +loadMs[0].toFixed(1),
      loads,
      pool: [1, 2],
      molecules,
      molecules_per_s: rates.map((r) => +r.toFixed(3)),
      speedup: +(rates[1] / rates[0]).toFixed(3),
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
