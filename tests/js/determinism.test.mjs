// The same seed gives bit-identical molecules in two runs, in two workers and in two model
// instances; the last trajectory frame equals sample()'s molecule; the native build agrees.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadModel } from 'enf-wasm';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, sameBits, skipNoWeights } from './helpers.mjs';

let model;
const progress = [];
before(async () => {
  if (!skipNoWeights) model = await loadModel('qm9', { workers: 2, onProgress: (f, d) => progress.push([f, d.phase]) });
});

test('loadModel reports progress from 0 to 1', { skip: skipNoWeights }, () => {
  assert.ok(progress.length >= 3);
  for (let k = 1; k < progress.length; ++k) assert.ok(progress[k][0] >= progress[k - 1][0]);
  assert.deepEqual(progress.at(-1), [1, 'ready']);
  assert.ok(model.weights.sha256 && /^[0-9a-f]{64}$/.test(model.weights.sha256));
  assert.equal(model.weights.metadata.model, 'qm9');
  assert.equal(model.maxAtoms, 29);
});
after(() => model?.dispose());

const opts = { atoms: 12, seed: 7 };

test('the same seed is bit-identical across runs and across workers', { skip: skipNoWeights }, async () => {
  assert.equal(model.workers, 2);
  // Two concurrent jobs land on the two idle workers.
  const [[a], [b]] = await Promise.all([model.sample(opts), model.sample(opts)]);
  const [c] = await model.sample(opts);
  for (const m of [b, c]) {
    assert.deepEqual(m.elements, a.elements);
    assert.deepEqual(m.charges, a.charges);
    assert.ok(sameBits(m.positions, a.positions), 'positions differ');
    assert.equal(m.nfe, a.nfe);
  }
  assert.equal(a.elements.length, 12);
  assert.equal(a.positions.length, 36);
  assert.ok(a.positions instanceof Float32Array);
  assert.equal(typeof a.formula, 'string');
  assert.equal(typeof a.stable, 'boolean');
  for (const bond of a.bonds) assert.ok(bond.i < bond.j && bond.j < 12 && bond.order >= 1 && bond.order <= 3);

  // A separate model instance (new workers, new module instances) agrees too.
  const other = await loadModel('qm9', { workers: 1 });
  try {
    const [d] = await other.sample(opts);
    assert.ok(sameBits(d.positions, a.positions));
  } finally {
    other.dispose();
  }
});

test('count > 1 uses seeds seed, seed + 1, ...', { skip: skipNoWeights }, async () => {
  const many = await model.sample({ count: 3, atoms: 9, seed: 100 });
  assert.deepEqual(
    many.map((m) => m.seed),
    [100, 101, 102],
  );
  const [third] = await model.sample({ atoms: 9, seed: 102 });
  assert.ok(sameBits(third.positions, many[2].positions));
});

test('sampled sizes follow p(M) when atoms is absent', { skip: skipNoWeights }, async () => {
  const ms = await model.sample({ count: 4, seed: 3 });
  for (const m of ms) assert.ok(m.elements.length >= 1 && m.elements.length <= model.maxAtoms);
});

test('the last trajectory frame equals sample() for the same seed, frames stream in order', { skip: skipNoWeights }, async () => {
  const [mol] = await model.sample(opts);
  const frames = [];
  const arrival = [];
  const t0 = performance.now();
  for await (const f of model.sampleTrajectory({ ...opts, frames: 20 })) {
    frames.push(f);
    arrival.push(performance.now() - t0);
  }
  assert.equal(frames.length, 20);
  assert.deepEqual(
    frames.map((f) => f.index),
    [...Array(20).keys()],
  );
  assert.equal(frames[0].t, 1);
  assert.equal(frames.at(-1).t, 0);
  for (let k = 1; k < frames.length; ++k) assert.ok(frames[k].t < frames[k - 1].t);
  const last = frames.at(-1);
  assert.deepEqual(last.elements, mol.elements);
  assert.ok(sameBits(last.positions, mol.positions), 'last frame differs from sample()');
  // Streaming: frames arrive spread over the solve, not in one batch at its end.
  const spread = arrival.at(-1) - arrival[0];
  assert.ok(spread > 0.3 * arrival.at(-1), `first frame at ${arrival[0]} ms, last at ${arrival.at(-1)} ms`);
});

test('leaving a trajectory loop early cancels it and the model stays usable', { skip: skipNoWeights }, async () => {
  let n = 0;
  for await (const f of model.sampleTrajectory({ atoms: 19, seed: 1, frames: 100 })) {
    assert.equal(f.index, n);
    if (++n === 3) break;
  }
  assert.equal(n, 3);
  const [m] = await model.sample({ atoms: 5, seed: 1 });
  assert.equal(m.elements.length, 5);
});

test('a rotated latent gives the same molecule, rotated (equivariance)', { skip: skipNoWeights }, async () => {
  const R = [
    [0, -1, 0],
    [1, 0, 0],
    [0, 0, 1],
  ];
  const o = { atoms: 9, seed: 11, rtol: 1e-6, atol: 1e-6 };
  const [[a], [b]] = await Promise.all([model.sample(o), model.sample({ ...o, rotation: R })]);
  assert.deepEqual(b.elements, a.elements);
  let worst = 0;
  for (let i = 0; i < 9; ++i)
    for (let r = 0; r < 3; ++r) {
      const ra = R[r][0] * a.positions[3 * i] + R[r][1] * a.positions[3 * i + 1] + R[r][2] * a.positions[3 * i + 2];
      worst = Math.max(worst, Math.abs(ra - b.positions[3 * i + r]));
    }
  assert.ok(worst < 1e-3, `max |R x - x_rot| = ${worst} Å`);
  await assert.rejects(model.sample({ ...o, rotation: [1, 2, 3, 4, 5, 6, 7, 8, 9] }), /orthogonal/);
  await assert.rejects(model.sample({ ...o, rotation: [1, 0, 0] }), /9 numbers/);
});

// The native build (Eigen, AVX-512 where the CPU has it, FMA) and WebAssembly (SIMD128, no FMA) round
// the float32 network differently; the adaptive solver carries those last-bit differences forward.
// With the solve converged (rtol = atol = 1e-7) what remains is the network's rounding: the two
// builds agree to 1e-4 Å. (At the default 1e-4 they differ by up to ~1e-3 Å on sensitive
// molecules, while each is 4e-3 to 0.4 Å from its own converged solution: bench/ notes.)
const nativeCli = join(root, 'build', 'enf');
test('the same seed agrees with the native build to 1e-4 Å (converged solve)', { skip: skipNoWeights || (!existsSync(nativeCli) && 'no native build/enf'), timeout: 300_000 }, async (t) => {
  const o = { count: 6, seed: 100, rtol: 1e-7, atol: 1e-7 };
  const wasm = await model.sample(o);
  const args = ['sample', '--count', String(o.count), '--seed', String(o.seed), '--rtol', '1e-7', '--atol', '1e-7', '--format', 'json'];
  const native = JSON.parse(execFileSync(nativeCli, args, { encoding: 'utf8' }));
  assert.equal(native.length, o.count);
  let worst = 0;
  for (let k = 0; k < o.count; ++k) {
    assert.deepEqual(wasm[k].elements, native[k].elements, `molecule ${k}: atom types differ`);
    for (let i = 0; i < wasm[k].positions.length; ++i) worst = Math.max(worst, Math.abs(wasm[k].positions[i] - native[k].positions[i]));
  }
  t.diagnostic(`largest |wasm - native| over ${o.count} molecules: ${worst.toExponential(2)} Å`);
  assert.ok(worst <= 1e-4, `wasm and native differ by ${worst} Å`);
});

// Solvers are data (src/ode/tableau.cpp): each reaches the JS API, the package's CLI and the
// native CLI by name, and the three agree (the same tableau and steps; wasm and native differ only
// in float32 rounding).
test('every ODE method reaches the API and both CLIs, and they agree', { skip: skipNoWeights || (!existsSync(nativeCli) && 'no native build/enf'), timeout: 300_000 }, async (t) => {
  const cases = [
    { method: 'bosh3', rtol: 1e-6, atol: 1e-6 },
    { method: 'rk4', steps: 60 },
    { method: 'midpoint', steps: 200 },
    { method: 'euler', steps: 400 },
  ];
  const flags = (c) => ['--method', c.method, ...(c.steps ? ['--steps', String(c.steps)] : ['--rtol', String(c.rtol), '--atol', String(c.atol)])];
  for (const c of cases) {
    const [m] = await model.sample({ atoms: 7, seed: 4, ...c });
    const args = ['sample', '--atoms', '7', '--seed', '4', '--format', 'json', ...flags(c)];
    const [native] = JSON.parse(execFileSync(nativeCli, args, { encoding: 'utf8' }));
    const [cli] = JSON.parse(execFileSync(process.execPath, [join(root, 'web', 'bin', 'enf.js'), ...args, '--workers', '1'], { encoding: 'utf8' }));
    let worst = 0;
    for (let i = 0; i < m.positions.length; ++i) worst = Math.max(worst, Math.abs(m.positions[i] - native.positions[i]));
    t.diagnostic(`${c.method}: ${m.nfe} evaluations, |wasm - native| ${worst.toExponential(2)} Å`);
    assert.deepEqual(m.elements, native.elements, `${c.method}: elements differ from native`);
    assert.ok(worst < 1e-3, `${c.method}: wasm and native differ by ${worst} Å`);
    assert.ok(Math.max(...cli.positions.map((v, i) => Math.abs(v - m.positions[i]))) < 1e-6, `${c.method}: the package's CLI differs from the API`);
    if (c.steps) assert.equal(m.nfe, 1 + c.steps * ({ rk4: 4, midpoint: 2, euler: 1 })[c.method], `${c.method}: evaluations`);
  }
  await assert.rejects(model.sample({ atoms: 7, seed: 4, method: 'rk45' }), /unknown ODE method 'rk45': use one of dopri5, bosh3, rk4, midpoint, euler/);
});
