// The log-likelihood is invariant under a random rotation (and translation) of the input.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadModel } from 'enf-wasm';
import { goldenMolecule, hasGolden, randomRotation, rotate, skipNoWeights } from './helpers.mjs';

let model;
before(async () => {
  if (!skipNoWeights) model = await loadModel('qm9', { workers: 2 });
});
after(() => model?.dispose());

test('log-likelihood is rotation invariant within 1e-3 nats (exact trace)', { skip: !hasGolden ? 'no golden' : skipNoWeights }, async () => {
  const mol = goldenMolecule(0);
  const R = randomRotation(12345);
  const rotated = { elements: mol.elements, positions: rotate(mol.positions, R).map((p) => p.map((v, d) => v + [1.5, -2, 0.25][d])) };
  // The adaptive solver's error norm weighs coordinates one by one, so its steps (and its error,
  // ~0.1 nats at the default 1e-4) are not rotation invariant; at 1e-6 the solve error is < 1e-3.
  const o = { trace: 'exact', seed: 3, rtol: 1e-6, atol: 1e-6 };
  const [a, b] = await Promise.all([model.score(mol, o), model.score(rotated, o)]);
  assert.ok(Number.isFinite(a.logLikelihood));
  assert.ok(Math.abs(a.logLikelihood - b.logLikelihood) <= 1e-3, `${a.logLikelihood} vs ${b.logLikelihood}`);
  assert.equal(a.atoms, mol.elements.length);
  assert.ok(Math.abs(a.perAtom * a.atoms - a.logLikelihood) < 1e-9);
  const t = a.terms;
  assert.ok(Math.abs(t.logPz + t.deltaLogp - t.logQ + t.logPM - a.logLikelihood) < 1e-6);
  assert.equal(a.stderr, null);
  assert.ok(a.nfe > 0 && a.ms > 0);
});

test('score takes XYZ text and reports progress; Hutchinson with probes gives a standard error', { skip: !hasGolden ? 'no golden' : skipNoWeights }, async () => {
  const mol = goldenMolecule(0);
  const sym = { 1: 'H', 6: 'C', 7: 'N', 8: 'O', 9: 'F' };
  const xyz = `${mol.elements.length}\ntest\n${mol.elements.map((z, i) => `${sym[z]} ${mol.positions[i].join(' ')}`).join('\n')}\n`;
  const progress = [];
  const r = await model.score(xyz, { trace: 'hutchinson', probes: 4, seed: 1, onProgress: (p) => progress.push(p) });
  assert.ok(Number.isFinite(r.logLikelihood));
  assert.ok(r.stderr !== null && r.stderr > 0);
  assert.ok(progress.length > 0 && progress.every((p) => p >= 0 && p <= 1));
  const again = await model.score(mol, { trace: 'hutchinson', probes: 4, seed: 1 });
  assert.ok(Math.abs(again.logLikelihood - r.logLikelihood) < 1e-9);
});
