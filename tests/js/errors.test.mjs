// Bad input gets a clear, typed error and leaves the model usable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import {
  AbortError,
  DisposedError,
  EnfError,
  InvalidInputError,
  NetworkError,
  WeightsError,
  WorkerCrashedError,
  loadModel,
  parseXYZ,
  ready,
  stability,
  toSDF,
  toXYZ,
} from 'enf-wasm';
import { bundledWeights, skipNoWeights, testWorker } from './helpers.mjs';

let model;
before(async () => {
  if (!skipNoWeights) model = await loadModel('qm9', { workers: 2, workerUrl: testWorker });
});
after(() => model?.dispose());

const water = { elements: ['O', 'H', 'H'], positions: [0, 0, 0.12, 0, 0.76, -0.48, 0, -0.76, -0.48] };

async function stillWorks() {
  const [m] = await model.sample({ atoms: 4, seed: 2 });
  assert.equal(m.elements.length, 4);
}

async function rejects(promise, Type, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Type, `expected ${Type.name}, got ${e?.name}: ${e?.message}`);
    assert.ok(e instanceof EnfError && e instanceof Error);
    assert.match(e.message, pattern);
    return true;
  });
  await stillWorks();
}

test('NaN coordinates', { skip: skipNoWeights }, async () => {
  const bad = { ...water, positions: [0, 0, NaN, 0, 0.76, -0.48, 0, -0.76, -0.48] };
  await rejects(model.score(bad), InvalidInputError, /non-finite coordinate/);
  // Not numbers at all: rejected rather than coerced (null would silently become 0).
  await rejects(model.score({ ...water, positions: [0, 0, null, 0, 0.76, -0.48, 0, -0.76, -0.48] }), InvalidInputError, /positions\[2\] is null; coordinates must be numbers/);
  await rejects(model.score({ ...water, positions: [[0, 0, 0], [0, '0.76', -0.48], [0, -0.76, -0.48]] }), InvalidInputError, /row 1, entry 1 is the string '0.76'/);
  await rejects(model.score({ ...water, positions: [[0, 0, 0], null, [0, -0.76, -0.48]] }), InvalidInputError, /position row 1 is null/);
});

test('unknown elements', { skip: skipNoWeights }, async () => {
  await rejects(model.score({ ...water, elements: ['O', 'H', 'Cl'] }), InvalidInputError, /atom 2: unknown element 'Cl'.*H, C, N, O, F/);
  await rejects(model.score({ ...water, elements: [8, 1, 17] }), InvalidInputError, /atom 2: .*atomic number 17/);
  await rejects(model.score('3\n\nO 0 0 0\nH 0 0.7 0.5\nXx 0 -0.7 0.5\n'), InvalidInputError, /Xx/);
});

test('mismatched lengths', { skip: skipNoWeights }, async () => {
  await rejects(model.score({ ...water, positions: [0, 0, 0, 1, 1] }), InvalidInputError, /positions hold 5 numbers.*need 9/);
  await rejects(model.score({ elements: ['O', 'H'], positions: [[0, 0, 0], [1, 1, 1], [2, 2, 2]] }), InvalidInputError, /2 elements but 3 position rows/);
});

test('0 atoms and too many atoms', { skip: skipNoWeights }, async () => {
  await rejects(model.score({ elements: [], positions: [] }), InvalidInputError, /no atoms/);
  const n = 30;
  const big = { elements: Array(n).fill('C'), positions: Array.from({ length: 3 * n }, (_, i) => i) };
  await rejects(model.score(big), InvalidInputError, /30 atoms.*at most 29/);
  await rejects(model.sample({ atoms: 30, seed: 1 }), InvalidInputError, /atoms must be an integer in \[0, 29\]/);
  await rejects(model.sample({ atoms: 2.5, seed: 1 }), InvalidInputError, /atoms/);
  await rejects(model.sample({ atoms: 5 }), InvalidInputError, /seed is required/);
  await rejects(model.sample({ atoms: 5, seed: 1, rtol: -1 }), InvalidInputError, /rtol/);
});

test('malformed XYZ', { skip: skipNoWeights }, async () => {
  await rejects(model.score('three\ncomment\nO 0 0 0\n'), InvalidInputError, /./);
  await rejects(model.score('3\ncomment\nO 0 0 0\nH 1 1\n'), InvalidInputError, /./);
  assert.throws(() => parseXYZ('2\n\nC 0 0 zero\nH 0 0 1\n'), (e) => e instanceof InvalidInputError && /XYZ line 3/.test(e.message));
});

test('a corrupt weights file', async () => {
  await assert.rejects(loadModel(new Uint8Array([1, 2, 3])), (e) => e instanceof WeightsError && /too short/.test(e.message));
  if (skipNoWeights) return;
  const bytes = new Uint8Array(readFileSync(bundledWeights));
  await assert.rejects(loadModel(bytes.subarray(0, bytes.length - 1000), { workers: 1 }), (e) => e instanceof WeightsError && /truncated/.test(e.message));
  const garbled = bytes.slice();
  garbled[10] = 0x7b; // breaks the JSON header
  garbled[12] = 0x7b;
  await assert.rejects(loadModel(garbled, { workers: 1 }), WeightsError);
  // One flipped bit in the data: the core checks the SHA-256 recorded in the metadata.
  const flipped = bytes.slice();
  flipped[flipped.length - 5] ^= 1;
  await assert.rejects(loadModel(flipped, { workers: 1 }), (e) => e instanceof WeightsError && /checksum/.test(e.message));
  await assert.rejects(loadModel(new Uint8Array(0), { workers: 1 }), WeightsError);
  await stillWorks();
});

test('missing weights file', async () => {
  await assert.rejects(loadModel('/nonexistent/qm9.safetensors', { workers: 1 }), (e) => e instanceof InvalidInputError && /no such file/.test(e.message));
});

test('calls after dispose', { skip: skipNoWeights }, async () => {
  const m = await loadModel('qm9', { workers: 1 });
  const pending = m.sample({ atoms: 19, seed: 1 });
  m.dispose();
  await assert.rejects(pending, DisposedError);
  await assert.rejects(m.sample({ atoms: 3, seed: 1 }), (e) => e instanceof DisposedError && /loadModel/.test(e.message));
  assert.throws(() => m.sampleTrajectory({ seed: 1 }), DisposedError);
  m.dispose(); // twice is fine
});

test('an aborted call rejects with AbortError', { skip: skipNoWeights }, async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  // A solve long enough that the abort lands mid-way (a warm exact score of water at the default
  // tolerance takes ~40 ms, so an abort after 50 ms raced with its completion).
  const p = model.score(water, { trace: 'exact', rtol: 1e-9, atol: 1e-9, signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await rejects(p, AbortError, /aborted/);
  assert.ok(performance.now() - t0 < 5000);
  // Already aborted signal
  await rejects(model.sample({ seed: 1, signal: AbortSignal.abort() }), AbortError, /aborted/);
  // Aborting a queued call (both workers busy)
  const busy = [model.sample({ atoms: 19, seed: 1 }), model.sample({ atoms: 19, seed: 2 })];
  const ac2 = new AbortController();
  const queued = model.sample({ atoms: 19, seed: 3, signal: ac2.signal });
  ac2.abort();
  await assert.rejects(queued, AbortError);
  await Promise.all(busy);
  // Aborting a trajectory
  const ac3 = new AbortController();
  const frames = [];
  await assert.rejects(
    (async () => {
      for await (const f of model.sampleTrajectory({ atoms: 19, seed: 4, frames: 200, signal: ac3.signal })) {
        frames.push(f);
        if (frames.length === 2) ac3.abort();
      }
    })(),
    AbortError,
  );
  await stillWorks();
});

test('a crashed worker rejects its call and is replaced', { skip: skipNoWeights }, async () => {
  await assert.rejects(model._run({ op: 'crash' }), (e) => e instanceof WorkerCrashedError && /replaced/.test(e.message));
  // Out of memory: the worker dies alone (the test process survives), its call rejects.
  await assert.rejects(model._run({ op: 'oom' }), (e) => e instanceof WorkerCrashedError && /memory/i.test(e.message) && /replaced/.test(e.message));
  // The pool keeps serving calls on both workers.
  const ms = await Promise.all([model.sample({ atoms: 5, seed: 1 }), model.sample({ atoms: 5, seed: 2 })]);
  assert.equal(ms.length, 2);
  await stillWorks();
});

test('chemistry helpers: XYZ and SDF round trip, stability', async () => {
  await ready();
  const xyz = toXYZ(water, 'water');
  const back = parseXYZ(xyz);
  assert.deepEqual(back.elements, ['O', 'H', 'H']);
  assert.ok(back.positions.every((v, i) => Math.abs(v - water.positions[i]) < 1e-5));
  const sdf = toSDF(water, 'water');
  assert.match(sdf, /V2000/);
  const st = stability(water);
  assert.equal(st.atomStable.length, 3);
  assert.equal(typeof st.stable, 'boolean');
  assert.throws(() => toXYZ({ elements: ['O'], positions: [0, 0] }), InvalidInputError);
  assert.throws(() => toXYZ({ elements: ['Q'], positions: [0, 0, 0] }), (e) => e instanceof InvalidInputError && /'Q'/.test(e.message));
});

// Downloads fail with NetworkError (URL and status), and bytes that are not safetensors are named.
test('network, HTTP and wrong-content failures of loadModel are told apart', async () => {
  const bodies = {
    '/page.safetensors': ['text/html', '<!doctype html><html><head><title>App</title></head><body>SPA fallback</body></html>'],
    '/data.safetensors': ['application/json', '{"error": "not found"}'],
    '/notes.safetensors': ['text/plain', 'these are not the weights you are looking for\n'.repeat(3)],
  };
  const server = createServer((req, res) => {
    const b = bodies[req.url];
    if (!b) return res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html><body>404</body></html>');
    res.writeHead(200, { 'Content-Type': b[0] }).end(b[1]);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await assert.rejects(loadModel(`${base}/missing.safetensors`, { workers: 1 }), (e) => {
      assert.ok(e instanceof NetworkError, `${e?.name}: ${e?.message}`);
      assert.equal(e.code, 'network');
      assert.equal(e.status, 404);
      assert.equal(e.url, `${base}/missing.safetensors`);
      assert.match(e.message, /HTTP 404/);
      return true;
    });
    await assert.rejects(loadModel(`${base}/page.safetensors`, { workers: 1 }), (e) => e instanceof WeightsError && /an HTML page/.test(e.message) && !/convert_checkpoint\.py\)?$/.test(e.message));
    await assert.rejects(loadModel(`${base}/data.safetensors`, { workers: 1 }), (e) => e instanceof WeightsError && /JSON text/.test(e.message));
    await assert.rejects(loadModel(`${base}/notes.safetensors`, { workers: 1 }), (e) => e instanceof WeightsError && /plain text/.test(e.message));
  } finally {
    server.close();
  }
  // Nothing listens on port 1: a refused connection.
  await assert.rejects(loadModel('http://127.0.0.1:1/qm9.safetensors', { workers: 1 }), (e) => {
    assert.ok(e instanceof NetworkError, `${e?.name}: ${e?.message}`);
    assert.equal(e.status, null);
    assert.match(e.message, /could not be reached/);
    return true;
  });
});

test('unknown model names and loadModel options are refused with a suggestion', async () => {
  await assert.rejects(loadModel('qm99'), (e) => e instanceof InvalidInputError && /unknown model 'qm99' \(did you mean 'qm9'\?\)/.test(e.message) && /'qm9'/.test(e.message));
  await assert.rejects(loadModel('qm9', { worker: 1 }), (e) => e instanceof InvalidInputError && /unknown option 'worker': did you mean 'workers'\?/.test(e.message));
  if (skipNoWeights) return;
  await rejects(model.sample({ seed: 1, atom: 12 }), InvalidInputError, /unknown option 'atom': did you mean 'atoms'\?/);
});
