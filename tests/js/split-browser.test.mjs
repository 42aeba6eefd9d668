// The split exact score in headless Chromium, from the shipped browser build (web/dist/index.js and
// its bundled worker): cross-origin isolated, two workers give the one-worker figure to the last
// bit; not isolated (no SharedArrayBuffer), the same call runs on one worker and says so.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { collectProblems, launchChromium, root, skipNoChromium, skipNoWeights } from './helpers.mjs';

const dist = join(root, 'web', 'dist');
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { loadModel } from './index.js';
const ethanol = { elements: ['C', 'C', 'O', 'H', 'H', 'H', 'H', 'H', 'H'], positions: [-0.0046, 1.5234, 0, 0.0031, 0.0134, 0,
  1.3495, -0.4578, 0, -1.02, 1.91, 0, 0.51, 1.91, 0.88, 0.51, 1.91, -0.88, -0.51, -0.36, 0.89, -0.51, -0.36, -0.89, 1.36, -1.42, 0] };
try {
  const model = await loadModel('qm9', { workers: 2 });
  const o = { trace: 'exact', seed: 2, rtol: 1e-3, atol: 1e-3 };
  const whole = await model.score(ethanol, o);
  const split = await model.score(ethanol, { ...o, split: 'pool' });
  model.dispose();
  window.result = { isolated: crossOriginIsolated, whole: whole.logLikelihood, split: split.logLikelihood, parts: split.parts, nfe: [whole.nfe, split.nfe] };
} catch (e) {
  window.result = { error: String((e && e.stack) || e) };
}
</script>`;
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

async function run(isolated) {
  const headers = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') return res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(PAGE);
    if (path === '/favicon.ico') return res.writeHead(204).end();
    const file = normalize(join(dist, path));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems = collectProblems(page);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.result, null, { timeout: 240_000, polling: 250 });
    const r = await page.evaluate(() => window.result);
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(problems, [], problems.join('\n'));
    return r;
  } finally {
    await browser.close();
    server.close();
  }
}

test('Chromium: the split exact score equals one worker\'s, to the last bit (isolated); one worker otherwise', { skip: skipNoWeights || skipNoChromium, timeout: 600_000 }, async () => {
  const on = await run(true);
  assert.equal(on.isolated, true);
  assert.equal(on.parts, 2);
  assert.equal(on.split, on.whole);
  assert.equal(on.nfe[0], on.nfe[1]);
  const off = await run(false);
  assert.equal(off.isolated, false);
  assert.equal(off.parts, undefined);
  assert.equal(off.split, on.whole);
});
