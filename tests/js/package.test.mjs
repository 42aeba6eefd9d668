// Supply chain: what `npm pack` would publish, the package's size budget, the lock file, and
// `npm audit` over the production dependency tree.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { root } from './helpers.mjs';

const web = join(root, 'web');

// Everything the package may publish; anything else in the tarball is a leak (sources, maps, tests,
// build trees, editor files).
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^bin\/enf\.js$/,
  /^dist\/[a-z0-9_.-]+\.(js|d\.ts)$/,
  /^dist\/enf_wasm\.wasm$/,
  /^dist\/qm9\.safetensors$/,
  /^dist\/WEIGHTS_LICENSE$/,
];
const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'bin/enf.js', 'dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/node.d.ts', 'dist/enf_wasm.js', 'dist/enf_wasm.wasm', 'dist/worker.browser.js', 'dist/worker.node.js'];

function packList() {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: web, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out)[0];
}

test('npm pack --dry-run publishes only what the package needs', () => {
  const pack = packList();
  const files = pack.files.map((f) => f.path);
  const stray = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
  assert.deepEqual(stray, [], `files that should not be published: ${stray.join(', ')}`);
  for (const f of REQUIRED) assert.ok(files.includes(f), `${f} is missing from the package`);
  // Every JS module ships its type declarations.
  for (const f of files.filter((p) => /^dist\/.*\.js$/.test(p) && p !== 'dist/enf_wasm.js'))
    assert.ok(files.includes(f.replace(/\.js$/, '.d.ts')), `${f} has no .d.ts`);
  // The weights travel with their license whenever they are bundled.
  if (files.includes('dist/qm9.safetensors')) assert.ok(files.includes('dist/WEIGHTS_LICENSE'), 'bundled weights without WEIGHTS_LICENSE');
});

test('the package without weights is at most 372 KB gzipped', (t) => {
  // What npm publishes is one gzipped tarball; measure that tarball without the weights (and
  // their license), KB read as 1,000 bytes. The budget was 300 KB (296 KB used) until the
  // self-contained browser worker for Rollup and esbuild (+12 KB: it repeats the glue and the worker
  // code the other files carry) and the SDF reader (+5 KB of wasm): 322 KB with them. The paper's
  // Table 1 baselines (#15) added 27 KB of wasm (GNF's network 7 KB, Köhler et al.'s kernel and
  // simple dynamics 12 KB, methods, options and bindings the rest; Eigen's QR in the trainer, 14 KB,
  // was replaced by a loop) and `enf table1`: 356 KB. #18 added 13 KB: the exact trace split over
  // workers (its binding and core code, the pool's gangs, the shared-memory barrier, also in the
  // self-contained browser worker), the report's records, checkpoints, shards and merge, and their
  // documentation: 369 KB. The wasm kernels (+1 KB) and batched particle sampling (+5 KB: the ODE
  // stepper as a machine, integrate_batch, the batched dynamics) were paid for by compiling the glue
  // around each network evaluation for size (-5 KB, no measurable change in speed): 371 KB.
  const files = packList().files.map((f) => f.path).filter((f) => f !== 'dist/qm9.safetensors' && f !== 'dist/WEIGHTS_LICENSE');
  const tar = execFileSync('tar', ['-c', '--owner=0', '--group=0', '--numeric-owner', '-C', web, ...files], { maxBuffer: 64 << 20 });
  const gz = gzipSync(tar, { level: 9 }).length;
  const wasm = gzipSync(readFileSync(join(web, 'dist', 'enf_wasm.wasm')), { level: 9 }).length;
  t.diagnostic(`package tarball without weights: ${gz} bytes gzipped (enf_wasm.wasm alone: ${wasm})`);
  assert.ok(gz <= 372_000, `${gz} bytes gzipped`);
});

test('the package has no unvetted runtime dependencies and the lock file pins the tree', () => {
  const pkg = JSON.parse(readFileSync(join(web, 'package.json'), 'utf8'));
  // Runtime dependencies run on users' pages; each needs a reason (see web/README.md). Optional
  // peer dependencies are loaded only by the features that name them.
  const deps = Object.keys(pkg.dependencies ?? {});
  assert.deepEqual(deps, [], `runtime dependencies: ${deps.join(', ')}`);
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  assert.ok(lock.lockfileVersion >= 2, 'package-lock.json should be lockfileVersion 2 or 3');
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const name of Object.keys(rootPkg.devDependencies ?? {}))
    assert.ok(lock.packages[`node_modules/${name}`]?.version, `${name} is not pinned in package-lock.json`);
  for (const [path, entry] of Object.entries(lock.packages))
    if (path.startsWith('node_modules/') && !entry.link)
      assert.ok(entry.integrity || entry.resolved === undefined, `${path} has no integrity hash in package-lock.json`);
});

test('npm audit --omit=dev finds no high-severity advisory', (t) => {
  const r = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    // not JSON: no answer from the audit endpoint
  }
  if (!report || report.error) {
    // A registry mirror without the audit endpoint (HTTP 405 here) or no network: say so, loudly.
    const why = (report?.error?.summary || r.stderr || '').trim().split('\n')[0];
    t.skip(`the registry's audit endpoint did not answer (${why || `exit ${r.status}`}); the production tree is checked above`);
    return;
  }
  const v = report.metadata?.vulnerabilities ?? {};
  t.diagnostic(`npm audit --omit=dev: ${JSON.stringify(v)}`);
  assert.equal((v.high ?? 0) + (v.critical ?? 0), 0, `high/critical advisories: ${JSON.stringify(v)}`);
});
