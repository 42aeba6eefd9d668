// The exact score of the first 19-atom QM9 test molecule in headless Chromium, on one worker and
// split over two (model.score(..., { split: 'pool' })), in a cross-origin-isolated page (the split
// needs SharedArrayBuffer). Runs one, split, split, one and prints the means as one JSON line, like
// `enf bench --exact-split`.
//   node bench/exact-split-browser.mjs [QM9_TEST.npz]     CHROMIUM (default /usr/bin/chromium)
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'web', 'dist');
const data = process.argv[2] ?? join(root, '..', 'shared', 'data', 'qm9_test.npz');
const { firstTestMolecule } = await import(join(dist, 'npz.js'));
const m = firstTestMolecule(data, 19);
const molecule = { elements: m.elements, positions: Array.from(m.positions) };

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { loadModel } from './index.js';
const molecule = ${JSON.stringify(molecule)};
try {
  const model = await loadModel('qm9', { workers: 2 });
  await model.sample({ count: 2, atoms: 19, seed: 1000 });
  const ms = [0, 0], ll = new Set(), parts = [1, 1];
  for (const k of [0, 1, 1, 0]) {
    const t0 = performance.now();
    const r = await model.score(molecule, { trace: 'exact', seed: 0, split: k ? 'pool' : undefined });
    ms[k] += (performance.now() - t0) / 2;
    ll.add(r.logLikelihood);
    parts[k] = r.parts ?? 1;
  }
  model.dispose();
  window.result = { isolated: crossOriginIsolated, ms, same: ll.size === 1, parts };
} catch (e) {
  window.result = { error: String((e && e.stack) || e) };
}
</script>`;

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') return res.writeHead(200, { ...isolated, 'Content-Type': 'text/html' }).end(PAGE);
  const file = normalize(join(dist, path));
  if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
  res.writeHead(200, { ...isolated, 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.result, null, { timeout: 900_000, polling: 1000 });
  const r = await page.evaluate(() => window.result);
  if (r.error) throw new Error(r.error);
  if (!r.isolated || r.parts[1] !== 2) throw new Error(`the page did not split the trace (isolated ${r.isolated}, parts ${r.parts})`);
  const f = (v) => v.toFixed(1);
  process.stdout.write(
    `{"runtime":"chromium","atoms":19,"exact_split":[1,2],"score_exact_ms":[${r.ms.map(f).join(',')}],"speedup":${(r.ms[0] / r.ms[1]).toFixed(3)},"same_result":${r.same}}\n`,
  );
} finally {
  await browser.close();
  server.close();
}
