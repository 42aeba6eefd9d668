// Shared paths and fixtures for the JS tests (node --test tests/js/).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shared = process.env.ENF_SHARED_DIR ?? resolve(root, '..', 'shared');
export const goldenDir = join(shared, 'golden');
export const hasGolden = existsSync(join(goldenDir, 'flow_public.json'));
export const bundledWeights = join(root, 'web', 'dist', 'qm9.safetensors');
export const hasWeights = existsSync(bundledWeights);
export const skipNoWeights = hasWeights ? false : 'no bundled weights (../shared/weights absent at build time)';

/** A QM9 test molecule from the golden flow cases: { elements (atomic numbers), positions [[x,y,z]...] }. */
export function goldenMolecule(index = 0) {
  const doc = JSON.parse(readFileSync(join(goldenDir, 'flow_public.json'), 'utf8'));
  const c = doc.cases[index];
  return { elements: c.atoms, positions: c.x_centered };
}

/** A random rotation matrix (uniform quaternion) from a seeded generator. */
export function randomRotation(seed = 1) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const [u1, u2, u3] = [rand(), rand(), rand()];
  const q = [
    Math.sqrt(1 - u1) * Math.sin(2 * Math.PI * u2),
    Math.sqrt(1 - u1) * Math.cos(2 * Math.PI * u2),
    Math.sqrt(u1) * Math.sin(2 * Math.PI * u3),
    Math.sqrt(u1) * Math.cos(2 * Math.PI * u3),
  ];
  const [x, y, z, w] = q;
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
}

export function rotate(rows, R) {
  return rows.map((p) => [0, 1, 2].map((i) => R[i][0] * p[0] + R[i][1] * p[1] + R[i][2] * p[2]));
}

export function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.every((v, i) => v === y[i]);
}

// ---- Headless Chromium and the demo page (the Playwright tests) ----

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const skipNoChromium = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath}`;
/** Screenshots and other files for people to look at. */
export const artifacts = join(root, 'test-results');
const demoDist = join(root, 'web', 'demo', 'dist');
const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.safetensors': 'application/octet-stream',
};

/** Builds the demo (npm run build:demo) unless ENF_DEMO_BUILT is set, and makes test-results/. */
export function buildDemo() {
  if (!process.env.ENF_DEMO_BUILT) execFileSync('npm', ['run', 'build:demo'], { cwd: root, stdio: 'inherit' });
  mkdirSync(artifacts, { recursive: true });
}

/**
 * Serves web/demo/dist on a free local port with the headers `vite preview` sends (the demo's
 * Content-Security-Policy and cross-origin isolation); returns the server and its URL.
 */
export async function serveDemo() {
  const { HEADERS } = await import(join(root, 'web', 'demo', 'vite.config.js'));
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(demoDist, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...HEADERS });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

/** Headless Chromium through playwright-core, with the flags these sandboxes need. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Collects a page's console errors and uncaught exceptions into the returned array. */
export function collectProblems(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/** The test worker (the package's worker plus crash / oom / heap operations): pass as workerUrl. */
export const testWorker = new URL('./fixtures/worker-with-test-ops.mjs', import.meta.url);
