// The demo's equivariance check in numbers: Kabsch RMSD is 0 for a rotated and translated copy at
// every size, grows with noise, and a reflection (not a proper rotation) is not aligned away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kabsch, randomRotation } from '../../web/demo/src/geometry.js';

test('kabsch: rotated copies align, noise and reflections do not', () => {
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let n = 1; n <= 29; n++) {
    const a = Array.from({ length: 3 * n }, () => 4 * rand() - 2);
    const R = randomRotation(rand);
    let det = 0;
    for (let c = 0; c < 3; c++) det += R[c] * (R[3 + (c + 1) % 3] * R[6 + (c + 2) % 3] - R[3 + (c + 2) % 3] * R[6 + (c + 1) % 3]);
    assert.ok(Math.abs(det - 1) < 1e-12, `det R = ${det}`);
    const b = [];
    for (let i = 0; i < n; i++) for (let r = 0; r < 3; r++) b.push(R[3 * r] * a[3 * i] + R[3 * r + 1] * a[3 * i + 1] + R[3 * r + 2] * a[3 * i + 2] + 0.7 * r);
    assert.ok(kabsch(a, b).rmsd < 1e-6, `n=${n}: rotated copy RMSD ${kabsch(a, b).rmsd}`);
    if (n >= 4) {
      const noisy = b.map((v) => v + 0.02 * (rand() - 0.5));
      const e = kabsch(a, noisy).rmsd;
      assert.ok(e > 1e-3 && e < 0.02, `n=${n}: noise 0.01 gives RMSD ${e}`);
      const mirrored = b.map((v, k) => (k % 3 === 0 ? -v : v));
      assert.ok(kabsch(a, mirrored).rmsd > 0.05, `n=${n}: a reflection was aligned by a rotation`);
    }
  }
  assert.throws(() => kabsch([0, 0, 0], [0, 0, 0, 1, 1, 1]), /same atoms/);
});
