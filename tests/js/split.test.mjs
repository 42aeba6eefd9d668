// An exact score split over the worker pool (score(..., { split })): the parts pool their diagonal
// entries at every evaluation, so the result equals the unsplit one to the last bit; the gang starts
// together even when the pool is busy, two splits do not deadlock, cancelling mid-way stops every
// part and leaves the pool usable, and bad options are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError, loadModel } from 'enf-wasm';
import { skipNoWeights } from './helpers.mjs';

const ethanol = {
  elements: ['C', 'C', 'O', 'H', 'H', 'H', 'H', 'H', 'H'],
  positions: [-0.0046, 1.5234, 0, 0.0031, 0.0134, 0, 1.3495, -0.4578, 0, -1.02, 1.91, 0, 0.51, 1.91, 0.88, 0.51, 1.91, -0.88,
    -0.51, -0.36, 0.89, -0.51, -0.36, -0.89, 1.36, -1.42, 0],
};
const fast = { rtol: 1e-3, atol: 1e-3 };

test('split exact score: the unsplit result to the last bit, under load, cancellable', { skip: skipNoWeights, timeout: 300_000 }, async () => {
  const model = await loadModel('qm9', { workers: 3 });
  try {
    const whole = await model.score(ethanol, { trace: 'exact', seed: 4, ...fast });
    for (const split of ['pool', 2, 3]) {
      const r = await model.score(ethanol, { trace: 'exact', seed: 4, split, ...fast });
      assert.equal(r.parts, split === 'pool' ? 3 : split);
      assert.equal(r.logLikelihood, whole.logLikelihood, `split ${split}`);
      assert.deepEqual(r.terms, whole.terms);
      assert.equal(r.nfe, whole.nfe);
    }
    // A split asks for more workers than there are: all of them.
    assert.equal((await model.score(ethanol, { trace: 'exact', seed: 4, split: 8, ...fast })).parts, 3);
    // Under load (samples queued before and after it) and two splits at once: no deadlock, same figure.
    const busy = model.sample({ count: 6, atoms: 12, seed: 1, ...fast });
    const [a, b] = await Promise.all([
      model.score(ethanol, { trace: 'exact', seed: 4, split: 2, ...fast }),
      model.score(ethanol, { trace: 'exact', seed: 4, split: 'pool', ...fast }),
      model.sample({ count: 3, atoms: 10, seed: 9, ...fast }),
    ]);
    await busy;
    assert.equal(a.logLikelihood, whole.logLikelihood);
    assert.equal(b.logLikelihood, whole.logLikelihood);
    // Cancelled mid-way (a 19-atom exact score takes seconds): rejects soon; the pool still works.
    const big = await model.sample({ atoms: 19, seed: 2, ...fast });
    const ac = new AbortController();
    const t0 = performance.now();
    const cancelled = model.score(big[0], { trace: 'exact', split: 'pool', signal: ac.signal, onProgress: () => ac.abort() });
    await assert.rejects(cancelled, { name: 'AbortError' });
    assert.ok(performance.now() - t0 < 15_000, `cancel took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal((await model.score(ethanol, { trace: 'exact', seed: 4, split: 'pool', ...fast })).logLikelihood, whole.logLikelihood);
    // Refused: split with the estimator or several dequantization samples; a failing molecule fails every part alike.
    await assert.rejects(model.score(ethanol, { trace: 'hutchinson', split: 'pool' }), InvalidInputError);
    await assert.rejects(model.score(ethanol, { trace: 'exact', samples: 2, split: 'pool' }), /one dequantization sample/);
    await assert.rejects(model.score(ethanol, { trace: 'exact', split: 0 }), InvalidInputError);
    await assert.rejects(model.score({ elements: ['C', 'Xx'], positions: [0, 0, 0, 1, 0, 0] }, { trace: 'exact', split: 'pool' }), InvalidInputError);
  } finally {
    model.dispose();
  }
});
