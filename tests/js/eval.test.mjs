// The model report's pieces against molecules and numbers checked by hand: the core's bond orders
// and stability, the molecular graph -> canonical SMILES (RDKit), Wilson intervals, the
// Jensen-Shannon divergence and the histograms; then evaluate()'s bookkeeping on a stand-in model
// that returns those molecules, so every figure of the report can be predicted exactly.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  HISTOGRAMS,
  bonds,
  evaluate,
  histogram,
  jensenShannon,
  loadRDKit,
  meanStderr,
  molBlock,
  pairDistances,
  ready,
  referenceStats,
  reportBody,
  reportFromRecords,
  seededSubset,
  smilesOf,
  stability,
  wilson,
} from 'enf-wasm';
import { skipNoWeights } from './helpers.mjs';

const skip = skipNoWeights;
const near = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

// ---- hand-built molecules (Å)
const t = 1.09 / Math.sqrt(3);
const methane = { elements: ['C', 'H', 'H', 'H', 'H'], positions: [0, 0, 0, t, t, t, -t, -t, t, -t, t, -t, t, -t, -t] };
const water = { elements: ['O', 'H', 'H'], positions: [0, 0, 0.12, 0, 0.76, -0.48, 0, -0.76, -0.48] };
// Acetylene, C#C 1.20 Å (the rule's triple bond: < 1.23 Å), C-H 1.06 Å.
const acetylene = { elements: ['C', 'C', 'H', 'H'], positions: [0, 0, 0.6, 0, 0, -0.6, 0, 0, 1.66, 0, 0, -1.66] };
// Hydrogen cyanide: H-C 1.07, C#N 1.16 (triple: < 1.19 Å).
const hcn = { elements: ['H', 'C', 'N'], positions: [0, 0, -1.07, 0, 0, 0, 0, 0, 1.16] };
// Methyl radical: a fragment whose carbon has three bonds.
const methyl = { elements: ['C', 'H', 'H', 'H'], positions: [0, 0, 0, 1.09, 0, 0, -0.545, 0.944, 0, -0.545, -0.944, 0] };

/** A Kekulé benzene: 120° angles, sides alternating 1.34 Å (double: < 1.39) and 1.48 Å (single), C-H 1.09 Å outward. */
function kekuleBenzene() {
  const sides = [1.34, 1.48, 1.34, 1.48, 1.34, 1.48];
  const c = [[0, 0]];
  for (let k = 0; k < 5; ++k) {
    const [x, y] = c[k];
    const a = (k * Math.PI) / 3;
    c.push([x + sides[k] * Math.cos(a), y + sides[k] * Math.sin(a)]);
  }
  const cx = c.reduce((s, p) => s + p[0], 0) / 6;
  const cy = c.reduce((s, p) => s + p[1], 0) / 6;
  const positions = [];
  for (const [x, y] of c) positions.push(x - cx, y - cy, 0);
  for (const [x, y] of c) {
    const [dx, dy] = [x - cx, y - cy];
    const r = Math.hypot(dx, dy);
    positions.push(x - cx + (1.09 * dx) / r, y - cy + (1.09 * dy) / r, 0);
  }
  return { elements: [...'CCCCCC', ...'HHHHHH'], positions };
}
const benzene = kekuleBenzene();

before(async () => {
  if (!skip) await ready();
});

function graph(m) {
  return { ...m, bonds: bonds(m) };
}

test('bond orders and stability of hand-checked molecules (the core\'s QM9 rule)', { skip }, () => {
  const orders = (m) => bonds(m).map((b) => `${b.i}-${b.j}:${b.order}`).sort();
  assert.deepEqual(orders(methane), ['0-1:1', '0-2:1', '0-3:1', '0-4:1']);
  assert.deepEqual(orders(water), ['0-1:1', '0-2:1']);
  assert.deepEqual(orders(acetylene), ['0-1:3', '0-2:1', '1-3:1']);
  assert.deepEqual(orders(hcn), ['0-1:1', '1-2:3']);
  const ring = bonds(benzene).filter((b) => b.j < 6);
  assert.deepEqual(ring.map((b) => b.order).sort(), [1, 1, 1, 2, 2, 2]);
  assert.equal(bonds(benzene).length, 12);
  for (const m of [methane, water, acetylene, hcn, benzene]) {
    const s = stability(m);
    assert.equal(s.stable, true, m.elements.join(''));
    assert.equal(s.stableAtoms, m.elements.length);
  }
  const s = stability(methyl);
  assert.equal(s.stable, false);
  assert.deepEqual(s.atomStable, [false, true, true, true]);
  assert.equal(s.stableAtoms, 3);
});

/** 1-fluoroethanol, CH(F)(OH)CH3, built on tetrahedral directions: one chiral centre. */
function fluoroethanol(mirror = false) {
  const d = [[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]].map((v) => v.map((x) => x / Math.sqrt(3)));
  const at = (base, dir, r) => base.map((b, i) => b + r * dir[i]);
  const neg = (v) => v.map((x) => -x);
  const C1 = [0, 0, 0];
  const F = at(C1, d[0], 1.4);
  const O = at(C1, d[1], 1.43);
  const C2 = at(C1, d[2], 1.53);
  const H1 = at(C1, d[3], 1.09);
  const HO = at(O, neg(d[0]), 0.96);
  const H2 = [0, 1, 3].map((k) => at(C2, neg(d[k]), 1.09));
  const rows = [C1, F, O, C2, H1, HO, ...H2].map((p) => (mirror ? [-p[0], p[1], p[2]] : p));
  return { elements: ['C', 'F', 'O', 'C', 'H', 'H', 'H', 'H', 'H'], positions: rows.flat() };
}

test('canonical SMILES from the bond orders (RDKit)', { skip, timeout: 60_000 }, async () => {
  const rdkit = await loadRDKit();
  const plain = (r) => ({ valid: r.valid, smiles: r.smiles, fragments: r.fragments });
  assert.deepEqual(plain(smilesOf(rdkit, graph(methane))), { valid: true, smiles: 'C', fragments: 1 });
  assert.deepEqual(plain(smilesOf(rdkit, graph(water))), { valid: true, smiles: 'O', fragments: 1 });
  assert.deepEqual(plain(smilesOf(rdkit, graph(acetylene))), { valid: true, smiles: 'C#C', fragments: 1 });
  assert.deepEqual(plain(smilesOf(rdkit, graph(hcn))), { valid: true, smiles: 'C#N', fragments: 1 });
  // RDKit perceives the Kekulé ring as aromatic.
  assert.deepEqual(plain(smilesOf(rdkit, graph(benzene))), { valid: true, smiles: 'c1ccccc1', fragments: 1 });
  // Two molecules far apart: one SMILES with two fragments, in canonical order.
  const shifted = water.positions.map((v, i) => (i % 3 === 0 ? v + 6 : v));
  const pair = { elements: [...methane.elements, ...water.elements], positions: [...methane.positions, ...shifted] };
  assert.deepEqual(plain(smilesOf(rdkit, graph(pair))), { valid: true, smiles: 'C.O', fragments: 2 });
  // A pentavalent carbon (and a doubly bonded hydrogen) does not sanitise: invalid, no SMILES.
  const bad = { ...methane, bonds: [...bonds(methane).slice(0, 3), { i: 0, j: 4, order: 2 }] };
  assert.deepEqual(plain(smilesOf(rdkit, bad)), { valid: false, smiles: null, fragments: 0 });
  const ch5 = { elements: [...methane.elements, 'H'], positions: [...methane.positions, 0, 0, 1.1] };
  assert.deepEqual(plain(smilesOf(rdkit, { ...ch5, bonds: [1, 2, 3, 4, 5].map((j) => ({ i: 0, j, order: 1 })) })), { valid: false, smiles: null, fragments: 0 });
  // A chiral centre: the graph's SMILES has no stereochemistry (as the paper's graphs), the
  // isomeric one reads it from the coordinates, and the mirror image flips it.
  const [left, right] = [false, true].map((mirror) => smilesOf(rdkit, graph(fluoroethanol(mirror))));
  assert.equal(stability(fluoroethanol()).stable, true);
  assert.equal(left.smiles, 'CC(O)F');
  assert.equal(right.smiles, 'CC(O)F');
  assert.match(left.isomeric, /^C\[C@@?H\]\(O\)F$/);
  assert.match(right.isomeric, /^C\[C@@?H\]\(O\)F$/);
  assert.notEqual(left.isomeric, right.isomeric);
  // The molfile carries exactly the given bonds (1-based atom indices).
  const mol = molBlock(graph(hcn), 'HCN').split('\n');
  assert.equal(mol[3].slice(0, 6), '  3  2');
  assert.deepEqual(mol.slice(7, 9), ['  1  2  1  0', '  2  3  3  0']);
});

test('Wilson intervals against textbook values', () => {
  const a = wilson(0, 10);
  assert.equal(a.low, 0);
  near(a.high, 0.2775, 5e-5, '0/10 upper');
  const b = wilson(5, 10);
  near(b.low, 0.2366, 5e-5, '5/10 lower');
  near(b.high, 0.7634, 5e-5, '5/10 upper');
  const c = wilson(10, 10);
  assert.equal(c.high, 1);
  near(c.low, 0.7225, 5e-5, '10/10 lower');
  // The paper's 491 of 10,000: 4.91 % [4.50, 5.35].
  const d = wilson(491, 10000);
  near(d.low, 0.04503, 5e-5, '491/10000 lower');
  near(d.high, 0.05351, 5e-5, '491/10000 upper');
  assert.throws(() => wilson(3, 2), RangeError);
});

test('Jensen-Shannon divergence (nats), histograms, distances, subsets', () => {
  assert.equal(jensenShannon([1, 2, 3], [2, 4, 6]), 0);
  near(jensenShannon([1, 0], [0, 1]), Math.LN2, 1e-15, 'disjoint');
  // P = (1, 0), Q = (½, ½): H(M) - (H(P) + H(Q)) / 2 with M = (¾, ¼).
  const HM = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
  near(jensenShannon([1, 0], [0.5, 0.5]), HM - Math.LN2 / 2, 1e-15, 'half');
  near(jensenShannon([3, 1], [1, 3]), jensenShannon([1, 3], [3, 1]), 1e-15, 'symmetric');
  assert.ok(Number.isNaN(jensenShannon([0, 0], [1, 1])));

  // Methane: four C-H at 1.09 Å, six H-H at 1.09 * sqrt(8/3) = 1.780 Å.
  const d = pairDistances(methane.positions).sort((x, y) => x - y);
  assert.equal(d.length, 10);
  for (const v of d.slice(0, 4)) near(v, 1.09, 1e-12, 'C-H');
  for (const v of d.slice(4)) near(v, 1.09 * Math.sqrt(8 / 3), 1e-12, 'H-H');
  const h = histogram(d, 0, 10, 200);
  assert.equal(h.counts.length, 201);
  assert.equal(h.counts[21], 4); // [1.05, 1.10)
  assert.equal(h.counts[35], 6); // [1.75, 1.80)
  assert.equal(h.counts.reduce((a, b) => a + b), 10);
  assert.equal(histogram([10, 12.5, -1], 0, 10, 4).counts.join(), '1,0,0,0,2');

  const m = meanStderr([1, 2, 3, 4]);
  assert.equal(m.mean, 2.5);
  near(m.sd, Math.sqrt(5 / 3), 1e-15, 'sd');
  near(m.stderr, Math.sqrt(5 / 3) / 2, 1e-15, 'stderr');

  const s = seededSubset(13083, 100, 7);
  assert.equal(new Set(s).size, 100);
  assert.deepEqual(s, seededSubset(13083, 100, 7));
  assert.notDeepEqual(s, seededSubset(13083, 100, 8));
  assert.ok(s.every((i, k) => i >= 0 && i < 13083 && (k === 0 || i > s[k - 1])));
  assert.deepEqual(seededSubset(5, 9, 1), [0, 1, 2, 3, 4]);
});

test('reference statistics of hand-checked molecules', { skip }, () => {
  const ref = referenceStats([methane, water, methyl], 'hand', stability);
  assert.equal(ref.molecules, 3);
  // H C N O F
  assert.deepEqual(ref.histograms.atomTypes, [9, 2, 0, 1, 0]);
  const sizes = ref.histograms.atomCounts;
  assert.equal(sizes[HISTOGRAMS.atomCounts.indexOf(5)], 1);
  assert.equal(sizes[HISTOGRAMS.atomCounts.indexOf(3)], 1);
  assert.equal(sizes[HISTOGRAMS.atomCounts.indexOf(4)], 1);
  assert.equal(ref.histograms.distances.reduce((a, b) => a + b), 10 + 3 + 6);
  // 11 of 12 atoms stable (the methyl carbon is not), 2 of 3 molecules.
  assert.equal(ref.stability.atoms.k, 11);
  assert.equal(ref.stability.atoms.n, 12);
  assert.equal(ref.stability.molecules.k, 2);
});

test('evaluate(): the report of a stand-in model that returns hand-checked molecules', { skip, timeout: 60_000 }, async () => {
  // Seeds 0..7 cycle through these; two methanes and two waters make uniqueness 4 of 6.
  const pool = [methane, water, benzene, methyl, acetylene, methane, hcn, water];
  const asSample = (m, seed) => {
    const s = stability(m);
    return { ...m, positions: Float32Array.from(m.positions), bonds: bonds(m), stable: s.stable, stableAtoms: s.stableAtoms,
      formula: m.elements.join(''), seed, nfe: 10, charges: [] };
  };
  const scores = [-40, -50, -60, -70];
  const stub = {
    workers: 2,
    weights: { sha256: 'stub' },
    async sample({ seed, count }) {
      assert.equal(count, 1);
      return [asSample(pool[seed % pool.length], seed)];
    },
    async score(m, o) {
      assert.equal(o.trace, 'hutchinson');
      return { logLikelihood: scores[m.elements.length % 4] };
    },
  };
  const tests = [methane, water, methyl, hcn];
  const progress = [];
  const report = await evaluate(stub, {
    samples: 8,
    testMolecules: tests,
    reference: referenceStats(tests, 'hand', stability),
    nllMolecules: 4,
    rdkit: loadRDKit,
    onProgress: (p) => progress.push(p.phase),
  });
  const atoms = pool.reduce((a, m) => a + m.elements.length, 0);
  assert.equal(report.stability.atoms.n, atoms);
  assert.equal(report.stability.atoms.k, atoms - 1); // only the methyl carbon
  assert.equal(report.stability.molecules.k, 7);
  assert.equal(report.stability.molecules.n, 8);
  assert.deepEqual([report.stability.atoms.low, report.stability.atoms.high], [wilson(atoms - 1, atoms).low, wilson(atoms - 1, atoms).high]);
  const c = report.chemistry;
  assert.equal(c.stable, 7);
  assert.equal(c.valid.k, 7);
  assert.deepEqual(c.unique, { count: 5, of: 7, fraction: 5 / 7 });
  assert.deepEqual(c.top.slice(0, 2), [{ smiles: 'C', count: 2 }, { smiles: 'O', count: 2 }]);
  assert.deepEqual(report.samples.map((s) => s.smiles ?? null), ['C', 'O', 'c1ccccc1', null, 'C#C', 'C', 'C#N', 'O']);
  // NLL: the stand-in's log p by atom count (5, 3, 4, 3 atoms -> 50, 70, 40, 70 nats).
  const expected = [50, 70, 40, 70];
  assert.deepEqual(tests.map((m) => -scores[m.elements.length % 4]), expected);
  const ms = meanStderr(expected);
  near(report.nll.mean, ms.mean, 1e-12, 'NLL mean');
  near(report.nll.stderr, ms.stderr, 1e-12, 'NLL s.e.');
  // Sample histograms against the reference.
  // H C N O F of the references (CH4, H2O, CH3, HCN) and of the eight samples.
  assert.deepEqual(report.histograms.atomTypes.data, [4 + 2 + 3 + 1, 3, 1, 1, 0]);
  const st = report.histograms.atomTypes.samples;
  assert.deepEqual(st, [4 + 2 + 6 + 3 + 2 + 4 + 1 + 2, 1 + 6 + 1 + 2 + 1 + 1, 1, 2, 0]);
  assert.equal(report.histograms.atomTypes.jsd, jensenShannon(st, report.histograms.atomTypes.data));
  for (const phase of ['sample', 'nll', 'done']) assert.ok(progress.includes(phase), phase);
  // The rendered body holds the three plots and the SMILES table.
  const html = reportBody(report);
  assert.equal(html.match(/<svg /g).length, 3);
  assert.match(html, /c1ccccc1/);
  assert.doesNotMatch(html, /style=|<script/);
});

test('evaluate(): shards merged and a resumed run give the one-run report exactly', { skip, timeout: 60_000 }, async () => {
  // A stand-in whose samples and scores are deterministic functions of the seed, like the model's.
  const pool = [methane, water, benzene, methyl, acetylene, hcn];
  let calls = 0;
  const stub = {
    workers: 2,
    weights: { sha256: 'stub' },
    async sample({ seed }) {
      calls += 1;
      const m = pool[seed % pool.length];
      const s = stability(m);
      // Positions moved by the seed, so that every sample's distances differ.
      const positions = Float32Array.from(m.positions, (v, i) => v * (1 + 0.01 * ((seed * 7 + i) % 5)));
      return [{ ...m, positions, bonds: bonds({ ...m, positions }), stable: s.stable, stableAtoms: s.stableAtoms, formula: m.elements.join(''), seed, nfe: seed, charges: [] }];
    },
    async score(m, o) {
      calls += 1;
      // A figure from the molecule, the seed and the estimator, to 17 digits.
      return { logLikelihood: -(m.elements.length * 10.123456789 + o.seed * 0.987654321 + (o.trace === 'exact' ? 0.5 : 0)), nfe: 1 };
    },
  };
  const tests = [methane, water, methyl, hcn, benzene, acetylene, water];
  const reference = referenceStats(tests, 'hand', stability);
  const settings = { samples: 11, testMolecules: tests, reference, nllMolecules: 5, exactMolecules: 3, rdkit: loadRDKit };
  const strip = (r) => ({ ...r, created: null, timing: null, shard: null, runtime: null });
  const whole = await evaluate(stub, settings);
  assert.equal(whole.nllExact.molecules, 3);
  near(whole.nllExact.difference.mean, -0.5, 1e-9, 'estimator minus exact'); // the stand-in's exact NLL is 0.5 higher
  // Two shards, each with its records; their union gives the same report.
  const records = [];
  let startSettings = null;
  for (const index of [1, 0]) {
    const part = await evaluate(stub, { ...settings, shard: { index, count: 2 }, onRecord: (r) => records.push(r), onStart: (s) => (startSettings = s) });
    assert.deepEqual(part.shard, { index, count: 2 });
    assert.ok(part.stability.molecules.n === 5 || part.stability.molecules.n === 6);
  }
  assert.equal(records.filter((r) => r.kind === 'sample').length, 11);
  const merged = reportFromRecords(startSettings, JSON.parse(JSON.stringify(records)), { reference, shard: null, runtime: 'x', workers: 2 });
  assert.deepEqual(strip(merged), strip(whole));
  // A run given half the records as a checkpoint does only the rest, and reports the same.
  const half = records.filter((_, i) => i % 2 === 0);
  calls = 0;
  const resumed = await evaluate(stub, { ...settings, resume: { settings: startSettings, records: half } });
  assert.equal(calls, records.length - half.length);
  assert.deepEqual(strip(resumed), strip(whole));
  // Records missing for a shard, or other settings, are refused.
  assert.throws(() => reportFromRecords(startSettings, half, { reference, shard: null, runtime: 'x', workers: 2 }), /lack/);
  await assert.rejects(evaluate(stub, { ...settings, samples: 12, resume: { settings: startSettings, records: half } }), /other settings \(samples: 11 vs 12\)/);
  await assert.rejects(evaluate(stub, { ...settings, shard: { index: 2, count: 2 } }), /shard must be/);
});

test('evaluate(): cancellation rejects with AbortError', { skip }, async () => {
  let calls = 0;
  const stub = {
    workers: 1,
    weights: {},
    sample: ({ signal }) =>
      new Promise((resolve, reject) => {
        calls += 1;
        signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
      }),
  };
  const ac = new AbortController();
  const run = evaluate(stub, { samples: 50, rdkit: null, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(run, { name: 'AbortError' });
  assert.ok(calls <= 2, `${calls} sample calls were started with a concurrency of 2`);
});

test("the demo's RDKit patch: no run-time code generation, same SMILES", { timeout: 120_000 }, async () => {
  // web/demo/scripts/rdkit-csp.js rewrites RDKit_minimal.js for the demo's CSP. Run the patched
  // copy in a Node process that forbids eval/new Function (as the CSP does) and compare its answers
  // with the unpatched module's.
  const { execFileSync } = await import('node:child_process');
  const { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { root } = await import('./helpers.mjs');
  const { patchRDKit } = await import('../../web/demo/scripts/rdkit-csp.js');
  const require = createRequire(import.meta.url);
  const dist = join(root, 'node_modules', '@rdkit', 'rdkit', 'dist');
  const dir = mkdtempSync(join(tmpdir(), 'enf-rdkit-'));
  try {
    writeFileSync(join(dir, 'RDKit_minimal.cjs'), patchRDKit(readFileSync(join(dist, 'RDKit_minimal.js'), 'utf8')));
    copyFileSync(join(dist, 'RDKit_minimal.wasm'), join(dir, 'RDKit_minimal.wasm'));
    const smiles = ['c1ccccc1O', 'C#N', 'CC(=O)O', 'C1CC1N', 'OCC(F)(F)F', 'C(C)(C)(C)(C)C', 'N#CC(=O)c1cocn1'];
    const probe = (file) => `
      const init = require(${JSON.stringify(file)});
      init().then((R) => {
        let generated = 'allowed';
        try { new Function('return 1'); } catch (e) { generated = e.name; }
        const out = ${JSON.stringify(smiles)}.map((s) => { const m = R.get_mol(s); if (!m) return null; const r = [m.get_smiles(), m.get_json().length, m.get_num_atoms()]; m.delete(); return r; });
        console.log(JSON.stringify({ version: R.version(), generated, out }));
      });`;
    const run = (file, flags) => JSON.parse(execFileSync(process.execPath, [...flags, '-e', probe(file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    const patched = run(join(dir, 'RDKit_minimal.cjs'), ['--disallow-code-generation-from-strings']);
    const original = run(require.resolve('@rdkit/rdkit'), []);
    assert.equal(patched.generated, 'EvalError');
    assert.deepEqual(patched.out, original.out);
    assert.equal(patched.out[5], null); // pentavalent carbon
    assert.equal(patched.out[0][0], 'Oc1ccccc1');
    // The unpatched module cannot start without code generation.
    assert.throws(() => run(require.resolve('@rdkit/rdkit'), ['--disallow-code-generation-from-strings']));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
