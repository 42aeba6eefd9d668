// Cancelling a long exact score stops the work itself within 200 ms (not only the promise): the
// worker is free for the next call, and the model stays usable. Aborting a huge batch settles at
// once (it once took time quadratic in its size: 1.2 s at 10^4, minutes at 10^5), and a batch
// holds a few jobs per worker, not one per molecule (10^5 queued jobs once took 0.5 s to start and
// made every later allocation on the page wait for the garbage collector).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, loadModel } from 'enf-wasm';
import { skipNoWeights, testWorker } from './helpers.mjs';

test('an aborted exact score frees its worker within 200 ms', { skip: skipNoWeights, timeout: 120_000 }, async (t) => {
  const model = await loadModel('qm9', { workers: 1, workerUrl: testWorker });
  try {
    // A 25-atom molecule: its exact score takes about a minute in wasm.
    const [molecule] = await model.sample({ atoms: 25, seed: 3 });
    const delays = [];
    for (const after of [300, 1200, 2500]) {
      const ac = new AbortController();
      let progressed = 0;
      const scoring = model.score(molecule, { trace: 'exact', signal: ac.signal, onProgress: () => ++progressed });
      await new Promise((r) => setTimeout(r, after));
      const t0 = performance.now();
      ac.abort();
      await assert.rejects(scoring, AbortError);
      // With one worker, this call runs only once the exact score has stopped.
      await model._run({ op: 'heap' });
      delays.push(performance.now() - t0);
    }
    t.diagnostic(`abort -> worker free: ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
    for (const d of delays) assert.ok(d <= 200, `the worker was busy ${d.toFixed(0)} ms after abort`);
    const [m] = await model.sample({ atoms: 5, seed: 1, rtol: 1e-2, atol: 1e-2 });
    assert.equal(m.elements.length, 5);
  } finally {
    model.dispose();
  }
});

test('aborting a batch of 10^5 (and 10^6) molecules rejects within 100 ms without blocking the thread', { skip: skipNoWeights, timeout: 120_000 }, async (t) => {
  const model = await loadModel('qm9', { workers: 2 });
  try {
    for (const count of [100_000, 1_000_000]) {
      const ac = new AbortController();
      globalThis.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      const batch = model.sample({ count, seed: 0, atoms: 9, rtol: 1e-3, atol: 1e-3, signal: ac.signal });
      const grown = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
      t.diagnostic(`count ${count}: the JS heap grew ${grown.toFixed(1)} MiB to start it`);
      // The result array is count slots (8 MB at 10^6); per-molecule jobs would be hundreds of MB.
      assert.ok(grown < 8 * count / 2 ** 20 + 16, `starting a batch of ${count} grew the heap ${grown.toFixed(0)} MiB`);
      await new Promise((r) => setTimeout(r, 50));
      let lag = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        lag = Math.max(lag, now - last - 5);
        last = now;
      }, 5);
      const t0 = performance.now();
      ac.abort();
      await assert.rejects(batch, AbortError);
      const ms = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 200));
      clearInterval(ticker);
      t.diagnostic(`count ${count}: rejected ${ms.toFixed(1)} ms after abort; longest event-loop stall ${lag.toFixed(1)} ms`);
      if (count === 100_000) assert.ok(ms < 100, `abort of ${count} took ${ms.toFixed(0)} ms`);
      else assert.ok(ms < 1000, `abort of ${count} took ${ms.toFixed(0)} ms`);
    }
    // The pool is free again: the next call runs at once.
    const [m] = await model.sample({ atoms: 5, seed: 1, rtol: 1e-2, atol: 1e-2 });
    assert.equal(m.elements.length, 5);
  } finally {
    model.dispose();
  }
});
