// Training mode in Node: the particle E-NF learns DW4 (the loss falls), exported weights reproduce
// the flow bit for bit, bad input is rejected with errors that say what to fix, and a crashed or
// disposed trainer rejects its callers. Small data sets and batches: a few seconds per test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  AbortError,
  DisposedError,
  EnfError,
  InvalidInputError,
  SolverError,
  WeightsError,
  WorkerCrashedError,
  createTrainer,
  effectiveSampleSize,
  loadParticleFlow,
} from 'enf-wasm';
import { bundledWeights, hasWeights, sameBits, testWorker } from './helpers.mjs';

async function rejects(promise, Type, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Type, `expected ${Type.name}, got ${e?.name}: ${e?.message}`);
    assert.ok(e instanceof EnfError && e instanceof Error);
    assert.match(e.message, pattern);
    return true;
  });
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;

test('DW4: MCMC data with progress, and 16 steps lower the validation NLL and the training loss', async () => {
  const fractions = [];
  const trainer = await createTrainer({
    system: 'dw4',
    nTrain: 128,
    nVal: 64,
    seed: 11,
    batch: 32,
    onProgress: (p) => fractions.push(p.fraction),
  });
  try {
    assert.deepEqual(trainer.system, { name: 'dw4', particles: 4, dim: 2 });
    assert.equal(trainer.data.train.length, 128 * 8);
    assert.equal(trainer.data.val.length, 64 * 8);
    assert.ok(trainer.data.train instanceof Float32Array);
    assert.ok(trainer.data.trainEnergies.every(Number.isFinite));
    assert.ok(trainer.data.acceptance > 0.05 && trainer.data.acceptance < 0.95);
    assert.ok(fractions.length >= 10, `${fractions.length} progress calls`);
    for (let k = 1; k < fractions.length; ++k) assert.ok(fractions[k] >= fractions[k - 1]);
    assert.ok(fractions.at(-1) > 0.95 && fractions.at(-1) <= 1);
    assert.equal(trainer.stepsPerEpoch, 4);

    const before = await trainer.validate();
    const seen = [];
    const fit = await trainer.fit({ epochs: 4, onProgress: (p) => seen.push(p) });
    const after = await trainer.validate();
    assert.equal(fit.steps, 16);
    assert.equal(seen.length, 16);
    assert.equal(fit.validation.length, 4); // once per epoch
    assert.equal(trainer.steps, 16);
    assert.equal(trainer.epochs, 4);
    assert.ok(fit.losses.every(Number.isFinite));
    const first = mean(fit.losses.slice(0, 4));
    const last = mean(fit.losses.slice(-4));
    console.log(`# DW4 validation NLL ${before.toFixed(3)} -> ${after.toFixed(3)}; loss ${first.toFixed(3)} -> ${last.toFixed(3)}; ${mean(seen.map((s) => s.ms)).toFixed(0)} ms/step at batch 32`);
    assert.ok(after < before - 0.5, `validation NLL ${before} -> ${after}`);
    assert.ok(last < first, `training loss ${first} -> ${last}`);
    assert.equal(fit.validation.at(-1).nll, after); // the same probes: the same number
    // The training estimator (double precision, 4 RK4 steps, Rademacher probes) agrees with the
    // trained flow's exact NLL on the float32 inference path (dopri5, exact trace).
    const flow = await trainer.model();
    const exact = await flow.scoreBatch(trainer.data.val, { trace: 'exact' });
    const exactNll = -mean(exact.map((r) => r.logLikelihood));
    console.log(`# validation NLL: training estimator ${after.toFixed(3)}, exact trace ${exactNll.toFixed(3)}`);
    assert.ok(Math.abs(exactNll - after) < 0.5, `${after} vs exact ${exactNll}`);
  } finally {
    trainer.dispose();
  }
});

test('export -> import: the loaded flow samples and scores bit-identically; training resumes from the weights', async () => {
  const trainer = await createTrainer({ system: 'dw4', nTrain: 40, nVal: 20, seed: 5, batch: 20 });
  try {
    await trainer.fit({ steps: 3, validateEvery: 0 });
    const flow = await trainer.model();
    const samples = await flow.sample({ count: 4, seed: 9 });
    assert.equal(samples.length, 4);
    for (const [k, s] of samples.entries()) {
      assert.ok(s.positions instanceof Float32Array && s.positions.length === 8);
      assert.equal(s.seed, 9 + k);
      // centred: the centre of mass is 0
      for (let d = 0; d < 2; ++d) assert.ok(Math.abs(s.positions[d] + s.positions[2 + d] + s.positions[4 + d] + s.positions[6 + d]) < 1e-5);
    }
    const [alone] = await flow.sample({ count: 1, seed: 11 });
    assert.ok(sameBits(alone.positions, samples[2].positions), 'sample k is seed + k');
    const scores = await flow.scoreBatch(samples, { trace: 'exact' });

    const bytes = await trainer.exportWeights({ note: 'test' });
    assert.ok(bytes instanceof Uint8Array);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))).__metadata__;
    assert.equal(meta.model, 'particle_enf');
    assert.equal(meta.trained_steps, '3');
    assert.equal(meta.note, 'test');
    assert.equal(JSON.parse(meta.config).system, 'dw4');

    const loaded = await loadParticleFlow(bytes);
    try {
      assert.deepEqual(loaded.system, flow.system);
      const again = await loaded.sample({ count: 4, seed: 9 });
      again.forEach((s, k) => assert.ok(sameBits(s.positions, samples[k].positions), `sample ${k} differs`));
      const rescored = await loaded.scoreBatch(samples, { trace: 'exact' });
      rescored.forEach((r, k) => assert.equal(r.logLikelihood, scores[k].logLikelihood));
      const one = await loaded.score(samples[1], { trace: 'exact' });
      assert.equal(one.logLikelihood, scores[1].logLikelihood);
      assert.ok(Number.isFinite(one.logLikelihood) && one.trace === 'exact' && one.nfe > 0);
    } finally {
      loaded.dispose();
    }

    // A trainer started from the weights continues from them (float32 copies: close, not equal).
    const resumed = await createTrainer({ system: 'dw4', nTrain: 40, nVal: 20, seed: 5, batch: 20, weights: bytes });
    try {
      const a = await trainer.validate();
      const b = await resumed.validate();
      assert.ok(Math.abs(a - b) < 1e-3, `${a} vs ${b}`);
    } finally {
      resumed.dispose();
    }
  } finally {
    trainer.dispose();
  }
});

test('bad input is rejected with errors that say what to fix', async () => {
  await rejects(createTrainer({ system: 'dw5' }), InvalidInputError, /unknown system 'dw5'.*'dw4', 'lj13', 'lj13-fluid'/);
  await rejects(createTrainer(), InvalidInputError, /options object|system/);
  await rejects(createTrainer({ system: 'dw4', data: { train: [] } }), InvalidInputError, /training set has no samples/);
  await rejects(
    createTrainer({ system: 'dw4', data: { train: new Float32Array(12) } }),
    InvalidInputError,
    /12 numbers.*needs 8 per sample/,
  );
  await rejects(
    createTrainer({ system: 'dw4', data: { train: [[0, 1, 2, 3, 4, 5, 6]] } }),
    InvalidInputError,
    /sample 0 has 7 numbers.*needs 8/,
  );
  await rejects(
    createTrainer({ system: 'lj13', data: { train: new Float64Array(8) } }),
    InvalidInputError,
    /needs 39 per sample/,
  );
  const good = [0, 0, 3, 0, 0, 3, 3, 3];
  await rejects(
    createTrainer({ system: 'dw4', data: { train: [good, [0, 0, 3, NaN, 0, 3, 3, 3]] } }),
    InvalidInputError,
    /NaN in sample 1, coordinate 3; remove or fix/,
  );
  await rejects(
    createTrainer({ system: 'dw4', data: { train: [good], val: [good.map((x, k) => (k === 2 ? Infinity : x))] } }),
    InvalidInputError,
    /validation set holds Infinity in sample 0, coordinate 2/,
  );
  // An energy that falls without bound: at short range (-1/r) or at long range (-r^2).
  await rejects(
    createTrainer({ system: { particles: 3, dim: 2, pairEnergy: (r) => -1 / r } }),
    InvalidInputError,
    /pair energy diverges: pairEnergy\(0\) is -Infinity/,
  );
  await rejects(
    createTrainer({ system: { particles: 3, dim: 2, pairEnergy: (r) => -r * r, range: [0.5, 10] }, nTrain: 50, nVal: 0 }),
    InvalidInputError,
    /MCMC chain diverged.*confine the particles/,
  );
  await rejects(
    createTrainer({ system: { particles: 3, dim: 2, pairEnergy: () => 'x' } }),
    InvalidInputError,
    /returned string; it must return a number/,
  );
  await rejects(createTrainer({ system: { particles: 3, dim: 4, pairEnergy: (r) => r } }), InvalidInputError, /system.dim/);
  await rejects(createTrainer({ system: 'dw4', lr: 0 }), InvalidInputError, /lr must be a number in \(0, 1\]/);
  await rejects(createTrainer({ system: 'dw4', batch: 0 }), InvalidInputError, /batch must be an integer/);
  await rejects(
    createTrainer({ system: { particles: 100, dim: 3, pairEnergy: (r) => (r - 1) ** 2 } }),
    InvalidInputError,
    /100 particles need more tape memory per sample than a WebAssembly heap has/,
  );
  await rejects(createTrainer({ system: 'dw4', weights: new Uint8Array(10) }), WeightsError, /./);
  // Training that diverges (a non-finite loss: here coordinates of 1e150, whose squares overflow
  // the network) fails that step and every later one, saying what to change.
  const far = await createTrainer({ system: 'dw4', data: { train: [[0, 0, 1e150, 0, 0, 1e150, 1e150, 1e150]] }, batch: 1 });
  await rejects(far.step(), SolverError, /training diverged at step 1 \(loss .*\); .*lower lr.*scale/);
  await rejects(far.step(), SolverError, /training diverged at step 1/);
  far.dispose();
  await rejects(loadParticleFlow(new Uint8Array([1, 2, 3])), WeightsError, /./);
  await rejects(loadParticleFlow('weights.safetensors'), InvalidInputError, /bytes of an exported/);
  if (hasWeights)
    await rejects(loadParticleFlow(readFileSync(bundledWeights)), WeightsError, /a molecule E-NF .*not a particle flow/);

  const trainer = await createTrainer({ system: 'dw4', nTrain: 20, nVal: 0, seed: 1, batch: 10 });
  const flow = await trainer.model();
  await rejects(trainer.validate(), InvalidInputError, /no validation set/);
  await rejects(flow.score([1, 2, 3]), InvalidInputError, /3 numbers.*needs 8/);
  await rejects(flow.score([0, 0, 1, 0, 0, 1, NaN, 1]), InvalidInputError, /NaN in sample 0, coordinate 6/);
  await rejects(flow.sample({ count: 2 }), InvalidInputError, /seed is required/);
  await rejects(flow.sample({ seed: 1, rtol: 2 }), InvalidInputError, /rtol must be a number in \(0, 1\)/);
  await rejects(trainer.energy([[1, 2]]), InvalidInputError, /2 numbers.*needs 8/);
  // A wrong system for the weights.
  const bytes = await trainer.exportWeights();
  await rejects(createTrainer({ system: 'lj13', nTrain: 5, nVal: 0, batch: 5, weights: bytes }), WeightsError, /4 particles in 2-D.*13 in 3-D/);
  // Still usable after all that.
  assert.ok(Number.isFinite((await trainer.step()).loss));
  trainer.dispose();
  await rejects(trainer.step(), DisposedError, /trainer was disposed; create a new one/);
  await rejects(trainer.fit({ steps: 1 }), DisposedError, /disposed/);
  await rejects(flow.sample({ seed: 1 }), DisposedError, /particle flow was disposed/);
  await rejects(trainer.exportWeights(), DisposedError, /disposed/);
});

test('a crashed worker rejects the call in flight and every later call; an abort leaves the trainer usable', async () => {
  const trainer = await createTrainer({ system: 'dw4', nTrain: 20, nVal: 10, seed: 2, batch: 10, workerUrl: testWorker });
  try {
    const controller = new AbortController();
    let calls = 0;
    await rejects(
      trainer.fit({
        steps: 50,
        signal: controller.signal,
        onProgress: () => {
          if (++calls === 2) controller.abort();
        },
      }),
      AbortError,
      /aborted/,
    );
    assert.equal(calls, 2);
    assert.ok(Number.isFinite((await trainer.step()).loss), 'usable after an abort');
    // Abort during data generation (in the core, through shared memory).
    const c2 = new AbortController();
    await rejects(
      createTrainer({ system: 'lj13', nTrain: 5000, seed: 1, batch: 10, signal: c2.signal, onProgress: (p) => p.fraction > 0.02 && c2.abort() }),
      AbortError,
      /aborted/,
    );

    // The test worker's crash operation fails the way a WebAssembly trap does.
    await rejects(trainer._run({ op: 'crash' }), WorkerCrashedError, /crashed, and its state is lost: create a new trainer/);
    await rejects(trainer.step(), WorkerCrashedError, /create a new trainer/);
  } finally {
    trainer.dispose();
  }
});

test("'lj13': the published data's LJ13 (pairs counted twice) is a bound cluster, 'lj13-fluid' a fluid", async () => {
  // Equilibrium mean energies (native chains): about -43 for lj13, +0.9 for lj13-fluid (sd ~7).
  const paper = await createTrainer({ system: 'lj13', nTrain: 10, nVal: 20, seed: 5, batch: 5 });
  const spec = await createTrainer({ system: 'lj13-fluid', nTrain: 10, nVal: 20, seed: 5, batch: 5 });
  try {
    assert.deepEqual(paper.system, { name: 'lj13', particles: 13, dim: 3 });
    const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
    const ePaper = mean(paper.data.valEnergies), eSpec = mean(spec.data.valEnergies);
    assert.ok(ePaper < -35 && ePaper > -50, `lj13 validation mean energy ${ePaper}`);
    assert.ok(eSpec > -8 && eSpec < 10, `lj13-fluid validation mean energy ${eSpec}`);
    // The same configurations: lj13's energy is lj13-fluid's plus the pair sum once more, so the
    // difference is the pair sum, negative for a bound cluster.
    const [a] = await paper.energy([paper.data.val.slice(0, 39)]);
    const [b] = await spec.energy([paper.data.val.slice(0, 39)]);
    assert.ok(a < b, `${a} vs ${b}`);
    assert.ok(Number.isFinite((await paper.step()).loss));
  } finally {
    paper.dispose();
    spec.dispose();
  }
  await rejects(createTrainer({ system: 'toString' }), InvalidInputError, /unknown system 'toString'/);
  await rejects(
    createTrainer({ system: { name: 'lj13', particles: 3, dim: 2, pairEnergy: (r) => r } }),
    InvalidInputError,
    /other than the built-in/,
  );
});

test('LJ13 and a custom pair energy train; energies and the effective sample size', async () => {
  // The paper's LJ13 batch of 100 fits the 2 GB wasm heap because the batch goes through the
  // graph one slice at a time (gradient accumulation).
  const lj = await createTrainer({ system: 'lj13', nTrain: 100, nVal: 6, seed: 4 });
  try {
    assert.equal(lj.batch, 100);
    assert.equal(lj.data.train.length, 100 * 39);
    const s = await lj.step();
    assert.ok(Number.isFinite(s.loss) && s.gradNorm > 0);
    console.log(`# LJ13 step at batch 100: ${s.ms.toFixed(0)} ms`);
    const flow = await lj.model();
    const [x] = await flow.sample({ seed: 1 });
    assert.equal(x.positions.length, 39);
    const e = await lj.energy([x]);
    assert.equal(e.length, 1);
    // The data energies the chain recorded are E(x) of its samples.
    const again = await lj.energy(lj.data.val);
    again.forEach((v, k) => assert.ok(Math.abs(v - lj.data.valEnergies[k]) < 1e-3 * Math.max(1, Math.abs(v))));
  } finally {
    lj.dispose();
  }

  // Harmonic springs at rest length 1.5, three particles in 2-D.
  const custom = await createTrainer({
    system: { name: 'springs', particles: 3, dim: 2, pairEnergy: (r) => 2 * (r - 1.5) ** 2, range: [0, 8] },
    nTrain: 30,
    nVal: 10,
    seed: 3,
    batch: 10,
  });
  try {
    assert.deepEqual(custom.system, { name: 'springs', particles: 3, dim: 2 });
    const e = await custom.energy([[0, 0, 1.5, 0, 0.75, 1.5 * Math.sqrt(0.75)]]);
    assert.ok(Math.abs(e[0]) < 1e-4, `equilateral triangle at rest: E = ${e[0]}`);
    assert.ok(Number.isFinite((await custom.step()).loss));
    const bytes = await custom.exportWeights();
    const flow = await loadParticleFlow(bytes);
    assert.deepEqual(flow.system, { name: 'springs', particles: 3, dim: 2 });
    flow.dispose();
  } finally {
    custom.dispose();
  }

  const even = effectiveSampleSize([3, 3, 3, 3]);
  assert.ok(Math.abs(even.ess - 4) < 1e-12 && Math.abs(even.fraction - 1) < 1e-12);
  const one = effectiveSampleSize([0, -1000, -1000]);
  assert.ok(Math.abs(one.ess - 1) < 1e-9);
  assert.ok(Math.abs(one.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // log mean w, stable far from 0: weights 1 and 3 times e^-800 average 2 e^-800.
  assert.ok(Math.abs(effectiveSampleSize([-800, -800 + Math.log(3)]).logMeanWeight - (Math.log(2) - 800)) < 1e-12);
  assert.equal(effectiveSampleSize([-Infinity, -Infinity]).logMeanWeight, -Infinity);
});
