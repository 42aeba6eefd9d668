// The paper's Table 1 rows in WebAssembly: every method trains through createTrainer({ method }),
// its weights say which method, system and training size they are, and the symmetry that defines
// the table holds where it should: samples of rotated, reflected and relabelled latents are the
// transformed samples and log-likelihoods are invariant for E-NF, Simple and Kernel dynamics, while
// GNF and GNF-att detectably break both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnfError, InvalidInputError, TRAINING_METHODS, createTrainer, loadParticleFlow } from 'enf-wasm';

const TOL = 1e-4; // Å and relative nats, at rtol = atol = 1e-7 (as the QM9 equivariance tests)
const SOLVE = { rtol: 1e-7, atol: 1e-7 };

/** The safetensors header's __metadata__. */
function metadataOf(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))).__metadata__;
}

function rotation(dim, reflect) {
  const R =
    dim === 2
      ? [[0.6, -0.8], [0.8, 0.6]]
      : [[0.36, 0.48, -0.8], [-0.8, 0.6, 0], [0.48, 0.64, 0.6]];
  return reflect ? R.map((row) => row.map((v, c) => (c === 0 ? -v : v))) : R;
}

/** Particle i of the result is R x[perm[i]]. */
function act(x, dim, R, perm) {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length / dim; ++i)
    for (let r = 0; r < dim; ++r) {
      let v = 0;
      for (let c = 0; c < dim; ++c) v += R[r][c] * x[perm[i] * dim + c];
      out[i * dim + r] = v;
    }
  return out;
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('TRAINING_METHODS is the paper\'s six rows; method and solver are checked with errors that say what to fix', async () => {
  assert.deepEqual(
    TRAINING_METHODS.map((m) => m.name),
    ['E-NF', 'GNF', 'GNF-att', 'GNF-att-aug', 'Simple dynamics', 'Kernel dynamics'],
  );
  assert.deepEqual(TRAINING_METHODS.filter((m) => !m.equivariant).map((m) => m.name), ['GNF', 'GNF-att', 'GNF-att-aug']);
  assert.deepEqual(TRAINING_METHODS.filter((m) => m.augment).map((m) => m.name), ['GNF-att-aug']);
  const check = async (options, pattern) =>
    assert.rejects(createTrainer({ system: 'dw4', nTrain: 10, nVal: 0, ...options }), (e) => {
      assert.ok(e instanceof InvalidInputError && e instanceof EnfError, `${e?.name}: ${e?.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  await check({ method: 'rk4' }, /method is the model \(one of E-NF, .*\); the ODE solver 'rk4' goes in `solver`/);
  await check({ method: 'GNF-aug' }, /unknown method 'GNF-aug': use one of E-NF, GNF, GNF-att, GNF-att-aug, Simple dynamics, Kernel dynamics/);
  await check({ solver: 'dopri5' }, /solver must be a fixed-step method/);
  await check({ method: 'Kernel dynamics', fieldSettings: { preset: 'lj7' } }, /unknown kernel dynamics preset 'lj7'/);
});

test('every method trains on DW4; its weights carry method, system and n_train and load back as that method', { timeout: 300_000 }, async () => {
  for (const { name, lr } of TRAINING_METHODS) {
    const trainer = await createTrainer({ system: 'dw4', method: name, nTrain: 40, nVal: 20, seed: 7, batch: 20 });
    try {
      assert.equal(trainer.method, name);
      const before = await trainer.validate();
      await trainer.fit({ epochs: 6, validateEvery: 0 });
      const after = await trainer.validate();
      assert.ok(after < before, `${name}: validation NLL ${before} -> ${after}`);
      const bytes = await trainer.exportWeights();
      const meta = metadataOf(bytes);
      assert.equal(meta.method, name);
      assert.equal(meta.system, 'dw4');
      assert.equal(meta.n_train, '40');
      assert.equal(Number(meta.lr), lr, `${name}: the authors' learning rate`);
      const flow = await loadParticleFlow(bytes);
      try {
        assert.equal(flow.method, name);
        assert.equal(flow.nTrain, 40);
        const x = trainer.data.val.subarray(0, 8);
        const [a] = await flow.scoreBatch([x], { trace: 'exact' });
        const snapshot = await trainer.model();
        const [b] = await snapshot.scoreBatch([x], { trace: 'exact' });
        snapshot.dispose();
        assert.equal(a.logLikelihood, b.logLikelihood, `${name}: the exported weights are the trainer's`);
      } finally {
        flow.dispose();
      }
    } finally {
      trainer.dispose();
    }
  }
});

test('GNF-att-aug trains GNF-att\'s network on rotated and reflected data', { timeout: 120_000 }, async () => {
  const losses = {};
  for (const method of ['GNF-att', 'GNF-att-aug']) {
    const trainer = await createTrainer({ system: 'dw4', method, nTrain: 20, nVal: 0, seed: 2, batch: 20 });
    losses[method] = (await trainer.step()).loss;
    trainer.dispose();
  }
  assert.notEqual(losses['GNF-att'], losses['GNF-att-aug']);
});

for (const system of ['dw4', 'lj13']) {
  test(`${system}: samples and likelihoods are E(n) equivariant for E-NF, Simple and Kernel dynamics, and not for GNF`, { timeout: 300_000 }, async () => {
    for (const { name, equivariant } of TRAINING_METHODS) {
      if (name === 'GNF-att-aug') continue; // GNF-att's network: only its data differ
      // A few steps at a high learning rate, so that every field (the E-NF's starts near zero) matters.
      const trainer = await createTrainer({ system, method: name, nTrain: 20, nVal: 4, seed: 3, batch: 10, lr: 5e-3 });
      try {
        await trainer.fit({ epochs: 2, validateEvery: 0 });
        const model = await trainer.model();
        const { particles: n, dim } = model.system;
        const o = { count: 2, seed: 5, ...SOLVE };
        const a = await model.sample(o);
        const x = Float64Array.from(trainer.data.val.subarray(0, n * dim));
        const [base] = await model.scoreBatch([x], { trace: 'exact', ...SOLVE });
        for (const [what, R, perm] of [
          ['rotation', rotation(dim, false), [...Array(n).keys()]],
          ['reflection+permutation', rotation(dim, true), [...Array(n).keys()].reverse()],
        ]) {
          const b = await model.sample({ ...o, rotation: R, permutation: perm });
          const err = Math.max(...a.map((s, k) => maxAbsDiff(act(s.positions, dim, R, perm), b[k].positions)));
          const [moved] = await model.scoreBatch([act(x, dim, R, perm)], { trace: 'exact', ...SOLVE });
          const dlogp = Math.abs(moved.logLikelihood - base.logLikelihood);
          const label = `${system} ${name} ${what}: sample ${err.toExponential(2)} Å, log p moved ${dlogp.toExponential(2)}`;
          if (equivariant) {
            assert.ok(err <= TOL, label);
            assert.ok(dlogp <= TOL * (1 + Math.abs(base.logLikelihood)), label);
          } else {
            assert.ok(err > 100 * TOL, label);
            assert.ok(dlogp > 1e-2, label);
          }
        }
        model.dispose();
      } finally {
        trainer.dispose();
      }
    }
  });
}

test('enf table1 runs a grid, resumes it, and agrees with the native enf_train_bench --table1', { timeout: 300_000 }, async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { existsSync, mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { root } = await import('./helpers.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'enf-table1-'));
  const args = ['table1', '--methods', 'Kernel dynamics,GNF', '--systems', 'dw4', '--sizes', 'dw4=100', '--epochs', '2', '--runs', '1', '--out-dir', dir];
  const enf = () => spawnSync(process.execPath, [join(root, 'web', 'bin', 'enf.js'), ...args], { encoding: 'utf8', timeout: 240_000 });
  try {
    const first = enf();
    assert.equal(first.status, 0, first.stderr);
    const { cells } = JSON.parse(readFileSync(join(dir, 'table1.json'), 'utf8'));
    assert.deepEqual(cells.map((c) => c.method), ['Kernel dynamics', 'GNF']);
    for (const c of cells) {
      assert.equal(c.n_train, 100);
      assert.ok(Number.isFinite(c.test_nll_mean) && c.test_nll_mean > 5 && c.test_nll_mean < 40, JSON.stringify(c));
    }
    assert.equal(cells[0].paper, 8.74);
    assert.match(readFileSync(join(dir, 'table1.md'), 'utf8'), /\| Kernel dynamics \| dw4 \| 100 \| 1 \| \d+\.\d\d ± 0\.00 \| 8\.74 \|/);
    assert.ok(existsSync(join(dir, 'runs', 'dw4-n100-gnf-run1.safetensors')));
    // Interrupted or finished: a second run takes the finished cells as they are.
    const again = enf();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /done before/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'table1.json'), 'utf8')).cells, cells);
    // The native grid on the same data and seeds: the same test NLL (wasm and native agree to 1e-4 Å).
    const native = join(root, 'build', 'enf_train_bench');
    if (!existsSync(native)) return t.diagnostic('no native build/enf_train_bench: the comparison is skipped');
    const nativeDir = join(dir, 'native');
    const r = spawnSync(native, ['--table1', nativeDir, '--methods', 'Kernel dynamics', '--systems', 'dw4', '--sizes', 'dw4=100', '--epochs', '2', '--runs', '1'], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, r.stderr);
    const n = JSON.parse(readFileSync(join(nativeDir, 'table1.json'), 'utf8')).cells[0];
    t.diagnostic(`Kernel dynamics, DW4 n = 100, 2 epochs: wasm ${cells[0].test_nll_mean.toFixed(5)}, native ${n.test_nll_mean.toFixed(5)}`);
    assert.ok(Math.abs(n.test_nll_mean - cells[0].test_nll_mean) < 1e-3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
