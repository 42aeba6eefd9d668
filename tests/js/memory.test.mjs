// 1,000 consecutive sample calls leave the wasm heap within 1 MiB of where it started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from 'enf-wasm';
import { skipNoWeights, testWorker } from './helpers.mjs';

test('1000 sample calls do not grow the wasm heap', { skip: skipNoWeights, timeout: 600_000 }, async (t) => {
  const model = await loadModel('qm9', { workers: 1, workerUrl: testWorker });
  try {
    // Small molecules and a loose tolerance keep this fast; every call allocates and frees the
    // same kinds of buffers as a large one. Warm up first (scratch buffers keep their capacity).
    const opts = (seed) => ({ atoms: 5, seed, rtol: 1e-2, atol: 1e-2 });
    for (let k = 0; k < 5; ++k) await model.sample(opts(k));
    const before = await model._run({ op: 'heap' });
    for (let k = 0; k < 1000; ++k) await model.sample(opts(k));
    const after = await model._run({ op: 'heap' });
    t.diagnostic(`malloc'd bytes in the worker's wasm heap: ${before} before, ${after} after 1000 samples`);
    assert.ok(Math.abs(after - before) <= 1 << 20, `heap in use went from ${before} to ${after} bytes`);
  } finally {
    model.dispose();
  }
});
