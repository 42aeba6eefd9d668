// SDF / MOL input: parseSDF reads every record (errors per record, the rest still read), score()
// takes XYZ, SDF or MOL text by content, scoreMany scores a whole SDF over the pool with progress and
// abort, and the CLI scores its own SDF output (once an "XYZ line 1" error), from a file or stdin.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AbortError, InvalidInputError, loadModel, parseMolecule, parseSDF, ready, toSDF, toXYZ } from 'enf-wasm';
import { root, skipNoWeights } from './helpers.mjs';

let model;
let molecules;
before(async () => {
  await ready();
  if (skipNoWeights) return;
  model = await loadModel('qm9', { workers: 2 });
  molecules = await model.sample({ count: 4, seed: 11, atoms: 9, rtol: 1e-3, atol: 1e-3 });
});
after(() => model?.dispose());

const bad = 'broken\n  tool\n\n  2  0  0  0  0  0  0  0  0  0999 V2000\n' +
  '    0.0000    0.0000    0.0000 Cl  0  0\n    1.0000    0.0000    0.0000 H   0  0\nM  END\n$$$$\n';

test('parseSDF: every record, with its errors, and the rest still read', { skip: skipNoWeights }, () => {
  const text = toSDF(molecules[0], 'first') + bad + toSDF(molecules[1], 'third');
  const records = parseSDF(text);
  assert.equal(records.length, 3);
  assert.deepEqual(records.map((r) => r.title), ['first', 'broken', 'third']);
  assert.equal(records[0].error, null);
  assert.deepEqual(records[0].molecule.elements, molecules[0].elements);
  for (let k = 0; k < molecules[0].positions.length; k++)
    assert.ok(Math.abs(records[0].molecule.positions[k] - molecules[0].positions[k]) <= 5e-5);
  assert.equal(records[1].molecule, null);
  assert.match(records[1].error, /^SDF record 2 \(line \d+\), line \d+: unknown element 'Cl'/);
  assert.equal(records[2].error, null);
  assert.equal(records[2].line, records[1].line + 8);
  // A MOL file (no $$$$) and parseMolecule telling formats apart by content.
  const mol = toSDF(molecules[0], 'm').replace('$$$$\n', '');
  assert.deepEqual(parseMolecule(mol).elements, molecules[0].elements);
  assert.deepEqual(parseMolecule(toXYZ(molecules[0])).elements, molecules[0].elements);
  assert.throws(() => parseMolecule(text), (e) => e instanceof InvalidInputError && /more than one molecule/.test(e.message));
  assert.throws(() => parseSDF(''), (e) => e instanceof InvalidInputError && /empty/.test(e.message));
});

test('score takes SDF / MOL text; scoreMany scores a whole SDF with progress, per-record errors and abort', { skip: skipNoWeights, timeout: 300_000 }, async () => {
  const sdf = toSDF(molecules[0], 'a');
  const fromSdf = await model.score(sdf, { seed: 3 });
  const fromParsed = await model.score(parseMolecule(sdf), { seed: 3 });
  assert.equal(fromSdf.logLikelihood, fromParsed.logLikelihood);
  const text = molecules.map((m, k) => toSDF(m, `m${k}`)).join('') + bad;
  const progress = [];
  const items = await model.scoreMany(text, { seed: 3, onProgress: (f, done) => progress.push([f, done]) });
  assert.equal(items.length, 5);
  for (const [k, it] of items.slice(0, 4).entries()) {
    assert.equal(it.index, k);
    assert.equal(it.title, `m${k}`);
    assert.equal(it.error, null);
    const one = await model.score(parseSDF(text)[k].molecule, { seed: 3 });
    assert.equal(it.score.logLikelihood, one.logLikelihood, `record ${k}`);
  }
  assert.ok(items[4].error instanceof InvalidInputError);
  assert.equal(items[4].score, null);
  assert.equal(progress.length, 5);
  assert.deepEqual(progress.at(-1), [1, 5]);
  // Arrays of molecules (and XYZ texts) too.
  const arr = await model.scoreMany([molecules[0], toXYZ(molecules[1]), { elements: ['X'], positions: [0, 0, 0] }], { seed: 3 });
  assert.equal(arr[0].score.logLikelihood, (await model.score(molecules[0], { seed: 3 })).logLikelihood);
  assert.ok(arr[1].score);
  assert.ok(arr[2].error instanceof InvalidInputError);
  // Abort mid-way: the promise rejects with AbortError, at once.
  const many = Array.from({ length: 200 }, (_, k) => toSDF(molecules[k % 4], `x${k}`)).join('');
  const ac = new AbortController();
  const running = model.scoreMany(many, { trace: 'hutchinson', signal: ac.signal, onProgress: (f) => f > 0.02 && ac.abort() });
  await assert.rejects(running, AbortError);
  const [m] = await model.sample({ atoms: 5, seed: 1, rtol: 1e-2, atol: 1e-2 });
  assert.equal(m.elements.length, 5);
});

test('enf score: the CLI scores its own SDF output, every record, from a file or stdin', { skip: skipNoWeights, timeout: 300_000 }, () => {
  const enf = join(root, 'web', 'bin', 'enf.js');
  const sampled = spawnSync(process.execPath, [enf, 'sample', '--count', '2', '--atoms', '7', '--format', 'sdf', '--workers', '1'], { encoding: 'utf8' });
  assert.equal(sampled.status, 0, sampled.stderr);
  const scored = spawnSync(process.execPath, [enf, 'score', '-', '--workers', '2'], { input: sampled.stdout, encoding: 'utf8' });
  assert.equal(scored.status, 0, scored.stderr);
  const lines = scored.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines.map((l) => l.index), [0, 1]);
  for (const l of lines) assert.ok(Number.isFinite(l.log_likelihood) && l.atoms === 7 && /enf sample seed=/.test(l.title));
  const withBad = spawnSync(process.execPath, [enf, 'score', '-', '--workers', '1'], { input: sampled.stdout + bad, encoding: 'utf8' });
  assert.equal(withBad.status, 1);
  const last = JSON.parse(withBad.stdout.trim().split('\n').at(-1));
  assert.equal(last.index, 2);
  assert.match(last.error, /unknown element 'Cl'/);
});
