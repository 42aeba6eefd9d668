// Compares two builds of the WebAssembly module (a kernel change against the code before it) on
// this machine, in one run: one dynamics evaluation, sampling and Hutchinson scoring at 19 atoms,
// each as milliseconds per network evaluation (NFE). Per NFE because a molecule's step count moves
// with float rounding: a change that only reorders a sum can take one 19-atom score from 116 to
// 146 evaluations, which would swamp the kernels' difference in a per-molecule time.
// Each measurement is a fresh Node process, A and B alternating (ABBA...), so neither build gets
// a warmer cache or a later tier-up; it prints the median and the minimum over the processes, as
// one JSON line per operation (the minimum is the steadier figure on a machine with noisy
// neighbours).
//   node bench/wasm-ab.mjs DIST_A DIST_B [--reps 8] [--weights qm9.safetensors]
// where a DIST is a directory holding enf_wasm.js and enf_wasm.wasm (web/dist after
// `npm run build:web`; keep a copy of the old one before rebuilding).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWasmModel } from './wasm-model.mjs';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

if (process.argv[2] === '--child') {
  // One build, one operation: warm up once, then the median of n runs, in ms per NFE.
  const [, , , dist, op, n, weightsPath] = process.argv;
  const m = await loadWasmModel(dist, weightsPath);
  const atoms = 19;
  const z = m.drawLatent(atoms, 1).value;
  const mol = m.sample({ atoms, seed: 1000 }, null, null);
  const work = {
    velocity: () => {
      for (let k = 0; k < 100; ++k) m.velocity(0.5, z);
      return 100;
    },
    sample: () => m.sample({ atoms, seed: 3 }, null, null).nfe,
    hutchinson: () => m.logLikelihood(mol.elements, mol.positions, { trace: 'hutchinson', seed: 1 }, null, null).nfe,
  }[op];
  work();
  const t = [];
  for (let k = 0; k < Number(n); ++k) {
    const t0 = performance.now();
    const nfe = work();
    t.push((performance.now() - t0) / nfe);
  }
  t.sort((a, b) => a - b);
  process.stdout.write(String(t[t.length >> 1]));
  process.exit(0);
}

const [a, b] = process.argv.slice(2, 4).map((d) => resolve(d ?? ''));
for (const d of [a, b])
  if (!existsSync(join(d, 'enf_wasm.wasm'))) {
    console.error(`usage: node bench/wasm-ab.mjs DIST_A DIST_B [--reps N] [--weights FILE]\n  ${d}: no enf_wasm.wasm there`);
    process.exit(2);
  }
const reps = Number(arg('--reps', 8));
const weights = resolve(arg('--weights', join(root, 'build', 'weights', 'qm9.safetensors')));
if (!existsSync(weights)) {
  console.error(`no weights at ${weights} (build them with npm run build:native, or pass --weights)`);
  process.exit(2);
}
const one = (dist, op, n) => Number(execFileSync(process.execPath, [self, '--child', dist, op, String(n), weights], { encoding: 'utf8' }));
const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};
for (const [op, n] of [
  ['velocity', 3],
  ['sample', 5],
  ['hutchinson', 5],
]) {
  const ta = [], tb = [];
  for (let r = 0; r < reps; ++r) {
    if (r % 4 === 0 || r % 4 === 3) {
      ta.push(one(a, op, n));
      tb.push(one(b, op, n));
    } else {
      tb.push(one(b, op, n));
      ta.push(one(a, op, n));
    }
  }
  const round = (x) => Number(x.toFixed(4));
  console.log(
    JSON.stringify({
      runtime: 'wasm-node',
      atoms: 19,
      op,
      unit: 'ms per NFE',
      a: { median: round(median(ta)), min: round(Math.min(...ta)) },
      b: { median: round(median(tb)), min: round(Math.min(...tb)) },
      speedup_median: round(median(ta) / median(tb)),
      speedup_min: round(Math.min(...ta) / Math.min(...tb)),
    }),
  );
}
