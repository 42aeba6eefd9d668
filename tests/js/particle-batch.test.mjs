// Particle flows sample in batches: one network evaluation carries up to `batch` samples, each
// with its own adaptive steps. In WebAssembly a sample is bit for bit the same whatever the batch
// (1 is one sample at a time, as before batching), for the shipped DW4 and LJ13 flows and for
// systems of other sizes and dimensions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { InvalidInputError, createTrainer, loadParticleFlow } from 'enf-wasm';
import { root, sameBits } from './helpers.mjs';

async function expectBatchInvariant(flow, label, count, seed) {
  const solo = await flow.sample({ count, seed, batch: 1 });
  for (const batch of [2, 5, 32]) {
    const batched = await flow.sample({ count, seed, batch });
    assert.equal(batched.length, count);
    for (let k = 0; k < count; ++k) {
      assert.equal(batched[k].seed, seed + k);
      assert.ok(sameBits(batched[k].positions, solo[k].positions), `${label}: sample ${k} differs with batch ${batch}`);
    }
  }
  // The default batch, and one sample asked for alone, agree too.
  const [one] = await flow.sample({ count: 1, seed: seed + 3 });
  assert.ok(sameBits(one.positions, solo[3].positions), `${label}: sample ${seed + 3} alone differs`);
}

test('DW4 and LJ13: a batched sample is bit for bit the one-at-a-time sample', { timeout: 120_000 }, async () => {
  for (const name of ['dw4', 'lj13']) {
    const flow = await loadParticleFlow(readFileSync(`${root}/weights/${name}.safetensors`));
    try {
      await expectBatchInvariant(flow, name, 11, 40);
      // A rotated latent still gives the rotated sample in a batch (equivariance): a 90-degree
      // turn in the first two axes, exact in floating point up to the solve.
      const d = flow.system.dim;
      const rotation = Array.from({ length: d * d }, (_, k) => {
        const i = Math.floor(k / d), j = k % d;
        if (i < 2 && j < 2) return i === j ? 0 : i === 0 ? -1 : 1;
        return i === j ? 1 : 0;
      });
      const plain = await flow.sample({ count: 6, seed: 7, batch: 6, rtol: 1e-7, atol: 1e-7 });
      const turned = await flow.sample({ count: 6, seed: 7, batch: 6, rtol: 1e-7, atol: 1e-7, rotation });
      for (let k = 0; k < 6; ++k)
        for (let p = 0; p < flow.system.particles; ++p) {
          const x = plain[k].positions[p * d], y = plain[k].positions[p * d + 1];
          assert.ok(Math.abs(turned[k].positions[p * d] + y) < 1e-4 && Math.abs(turned[k].positions[p * d + 1] - x) < 1e-4,
            `${name}: sample ${k}, particle ${p} is not the rotated one`);
        }
      await assert.rejects(flow.sample({ count: 2, seed: 0, batch: 0 }), InvalidInputError, /batch/);
      await assert.rejects(flow.sample({ count: 2, seed: 0, batch: 5000 }), InvalidInputError, /batch/);
    } finally {
      await flow.dispose();
    }
  }
});

test('systems of 2 to 9 particles in 2-D and 3-D: batching changes no bit', { timeout: 300_000 }, async (t) => {
  for (const [particles, dim] of [[2, 3], [3, 2], [5, 3], [6, 2], [9, 3]]) {
    const trainer = await createTrainer({
      system: { particles, dim, pairEnergy: (r) => (r - 1.5) ** 2 },
      nTrain: 20,
      nVal: 0,
      batch: 10,
      seed: particles,
    });
    try {
      await trainer.step();  // parameters away from their initial values
      const flow = await trainer.model();
      await expectBatchInvariant(flow, `${particles} particles in ${dim}-D`, 7, 100);
    } finally {
      trainer.dispose();
    }
  }
});
