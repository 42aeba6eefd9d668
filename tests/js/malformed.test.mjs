// 10,000 random malformed inputs through the JS API: every call resolves or rejects with an Error
// (never a crash, a hang or a non-Error), the worker survives, and its wasm heap ends where it began.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { EnfError, WorkerCrashedError, loadModel, parseXYZ, toXYZ, toSDF, bonds, stability } from 'enf-wasm';
import { skipNoWeights, testWorker } from './helpers.mjs';

const SEED = Number(process.env.ENF_FUZZ_SEED ?? 20261130);
const CALLS = Number(process.env.ENF_FUZZ_CALLS ?? 10_000);

// mulberry32: a small seeded generator, so a failure can be replayed with ENF_FUZZ_SEED.
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[int(0, xs.length - 1)];
  return { next, int, pick };
}

const GOOD = ['H', 'C', 'N', 'O', 'F'];
const BAD_ELEMENTS = ['X', 'Q', 'Cl', 'he', '', ' ', 'C1', 'Uuo', 0, -6, 2, 5, 10, 118, 1.5, NaN, null, '\u0000', 'H\nC', '💥'];
const BAD_NUMBERS = [NaN, Infinity, -Infinity];
const BAD_INTS = [-1, 1.5, NaN, Infinity, '3', null, {}, [], 2 ** 60, -(2 ** 31)];
const BAD_TOLS = [0, -1e-4, 1, 2, NaN, Infinity, '1e-4', null, {}];

function baseMolecule(r, atoms = r.int(2, 12)) {
  const elements = Array.from({ length: atoms }, () => r.pick(GOOD));
  const positions = Array.from({ length: 3 * atoms }, () => (r.next() - 0.5) * 6);
  return { elements, positions };
}

/** A molecule with at least one certain defect (forModel: also too many atoms for QM9). */
function badMolecule(r, forModel = false) {
  const m = baseMolecule(r);
  const M = m.elements.length;
  let defect = r.int(0, 10);
  if (defect === 5 && !forModel) defect = 0; // 30+ atoms are a fine molecule for the XYZ/SDF helpers
  switch (defect) {
    case 0: m.positions[r.int(0, 3 * M - 1)] = r.pick(BAD_NUMBERS); break;
    case 1: m.elements[r.int(0, M - 1)] = r.pick(BAD_ELEMENTS); break;
    case 2: m.positions.length = 3 * M - r.int(1, 3); break;
    case 3: m.positions.push(...Array.from({ length: r.int(1, 5) }, () => r.next())); break;
    case 4: return { elements: [], positions: [] };
    case 5: return baseMolecule(r, r.int(30, 300)); // more atoms than QM9's 29
    case 6: return { elements: m.elements, positions: m.elements.map(() => Array.from({ length: r.pick([0, 1, 2, 4]) }, () => r.next())) };
    case 7: return { elements: r.pick(['CCO', null, 7, undefined, {}]), positions: m.positions };
    case 8: return { elements: m.elements, positions: r.pick([null, 'x', 3, undefined, {}]) };
    case 9: return r.pick([null, undefined, 42, 'not xyz', [], {}]);
    default: m.positions[r.int(0, 3 * M - 1)] = r.pick(['1.0', null, undefined, {}, [1]]); return m;
  }
  return m;
}

/** XYZ text with at least one certain defect. */
function badXyz(r) {
  const m = baseMolecule(r);
  const M = m.elements.length;
  const lines = m.elements.map((e, i) => `${e} ${m.positions.slice(3 * i, 3 * i + 3).map((v) => v.toFixed(4)).join(' ')}`);
  switch (r.int(0, 8)) {
    case 0: return `${M + r.int(1, 3)}\n\n${lines.join('\n')}\n`; // too few atom lines
    case 1: return `${M - 1}\n\n${lines.join('\n')}\n`; // an extra atom line
    case 2: lines[r.int(0, M - 1)] = `Xx 0 0 0`; break;
    case 3: lines[r.int(0, M - 1)] = `C ${r.pick(['nan', 'inf', '1e999', 'zero', '', '1.0.0', '--1'])} 0 0`; break;
    case 4: lines[r.int(0, M - 1)] = `C 0 0`; break;
    case 5: return `${r.pick(['-1', 'abc', '99999999999999999999', '1e3', '', '3.5'])}\n\n${lines.join('\n')}\n`;
    case 6: return Array.from({ length: r.int(0, 300) }, () => String.fromCharCode(r.int(0, 0x2fff))).join('');
    case 7: return `${r.int(30, 5000)}\n\n${lines.join('\n')}\n`; // claims more atoms than allowed
    default: return '';
  }
  return `${M}\ncomment\n${lines.join('\n')}\n`;
}

function badScoreOptions(r) {
  const o = {};
  switch (r.int(0, 6)) {
    case 0: o.trace = r.pick(['Exact', 'hutch', '', 1, null]); if (o.trace === null) o.trace = 'none'; break;
    // null and undefined mean 'the default' for optional numbers.
    case 1: o.probes = r.pick([0, 1025, ...BAD_INTS.filter((v) => v !== null)]); break;
    case 2: o.samples = r.pick([0, 1001, ...BAD_INTS.filter((v) => v !== null)]); break;
    case 3: o.seed = r.pick(BAD_INTS.filter((v) => v !== null)); break;
    case 4: o.rtol = r.pick(BAD_TOLS.filter((v) => v !== null)); break;
    case 5: o.atol = r.pick(BAD_TOLS.filter((v) => v !== null)); break;
    default: o.signal = AbortSignal.abort(); break;
  }
  return o;
}

function badSampleOptions(r, trajectory = false) {
  const o = { seed: r.int(0, 1000), atoms: r.int(1, 29) };
  switch (r.int(0, 7)) {
    case 0:
      if (trajectory) o.frames = r.pick([0, 1, 10001, 1.5, NaN, '5', -3]);
      else o.count = r.pick([0, -1, 1.5, 2e6, NaN, '2']);
      break;
    case 1: o.atoms = r.pick([-1, 30, 1000, 1.5, NaN, '19', null]); if (o.atoms === null) o.atoms = {}; break;
    case 2: o.seed = r.pick([-1, 1.5, NaN, 2 ** 54, '1', undefined]); if (o.seed === undefined) delete o.seed; break;
    case 3: o.rtol = r.pick(BAD_TOLS.filter((v) => v !== null)); break;
    case 4: o.atol = r.pick(BAD_TOLS.filter((v) => v !== null)); break;
    // A rotation that is not orthogonal reaches the core, which rejects it.
    case 5: o.rotation = Array.from({ length: 9 }, () => r.next() * 3 - 1.5); break;
    case 6: o.rotation = Array.from({ length: r.pick([0, 1, 8, 10, 16]) }, () => r.next()); if (o.rotation.length === 0) o.rotation = [[1, 0], [0, 1]]; break;
    default: o.signal = AbortSignal.abort(); break;
  }
  return o;
}

async function settle(call) {
  try {
    await call();
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e };
  }
}

test(`${CALLS} random malformed inputs: errors, no crash, no leak`, { skip: skipNoWeights, timeout: 600_000 }, async (t) => {
  const model = await loadModel('qm9', { workers: 1, workerUrl: testWorker });
  try {
    const r = generator(SEED);
    // Warm the worker's scratch buffers, then take the heap baseline.
    await model.sample({ atoms: 5, seed: 1, rtol: 1e-2, atol: 1e-2 });
    await model.score({ elements: ['C', 'H', 'H', 'H', 'H'], positions: [0, 0, 0, 0.63, 0.63, 0.63, -0.63, -0.63, 0.63, -0.63, 0.63, -0.63, 0.63, -0.63, -0.63] }, { rtol: 1e-2, atol: 1e-2 });
    const before = await model._run({ op: 'heap' });
    const kinds = {};
    const failures = [];
    const calls = [];
    for (let k = 0; k < CALLS; ++k) {
      const kind = r.pick(['score', 'scoreXyz', 'scoreOptions', 'sample', 'trajectory', 'parseXYZ', 'toXYZ', 'toSDF', 'bonds', 'stability']);
      let call;
      let debugInput;
      switch (kind) {
        case 'score': { const m = badMolecule(r, true); debugInput = m; call = () => model.score(m, { rtol: 1e-2, atol: 1e-2 }); break; }
        case 'scoreXyz': { const x = badXyz(r); debugInput = x; call = () => model.score(x, { rtol: 1e-2, atol: 1e-2 }); break; }
        case 'scoreOptions': { const o = badScoreOptions(r); debugInput = o; call = () => model.score(baseMolecule(r), o); break; }
        case 'sample': { const o = badSampleOptions(r); debugInput = o; call = () => model.sample(o); break; }
        case 'trajectory': {
          const o = badSampleOptions(r, true);
          debugInput = o;
          call = async () => {
            for await (const _ of model.sampleTrajectory(o));
          };
          break;
        }
        case 'parseXYZ': { const x = badXyz(r); debugInput = x; call = () => parseXYZ(x); break; }
        case 'toXYZ': { const m = badMolecule(r); debugInput = m; call = () => toXYZ(m); break; }
        case 'toSDF': { const m = badMolecule(r); debugInput = m; call = () => toSDF(m); break; }
        case 'bonds': { const m = badMolecule(r); debugInput = m; call = () => bonds(m); break; }
        default: { const m = badMolecule(r); debugInput = m; call = () => stability(m); break; }
      }
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      const input = process.env.ENF_FUZZ_DEBUG ? inspect(debugInput, { breakLength: Infinity, maxArrayLength: 12 }).slice(0, 300) : '';
      calls.push(
        settle(call).then((res) => {
          if (res.ok) failures.push(`call ${k} (${kind}) resolved on malformed input ${input}`);
          else if (!(res.error instanceof Error)) failures.push(`call ${k} (${kind}) rejected with a non-Error: ${String(res.error)}`);
          else if (res.error instanceof WorkerCrashedError) failures.push(`call ${k} (${kind}) crashed the worker: ${res.error.message}`);
          else if (!(res.error instanceof EnfError)) failures.push(`call ${k} (${kind}) threw ${res.error.name}, not an EnfError: ${res.error.message}`);
          else if (!res.error.message || res.error.message.length < 10) failures.push(`call ${k} (${kind}) gave an unhelpful message: '${res.error.message}'`);
        }),
      );
      // Keep a bounded number in flight.
      if (calls.length >= 64) await Promise.all(calls.splice(0));
    }
    await Promise.all(calls);
    t.diagnostic(`seed ${SEED}; calls by kind: ${JSON.stringify(kinds)}`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad outcomes`);
    const after = await model._run({ op: 'heap' });
    t.diagnostic(`worker heap in use: ${before} bytes before, ${after} after`);
    assert.equal(after, before, `the worker's wasm heap went from ${before} to ${after} bytes`);
    // Still serving: a valid call works.
    const [m] = await model.sample({ atoms: 5, seed: 3, rtol: 1e-2, atol: 1e-2 });
    assert.equal(m.elements.length, 5);
  } finally {
    model.dispose();
  }
});
