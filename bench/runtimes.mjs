// One QM9 dynamics evaluation (19 atoms, the golden case at t = 0.37) in four runtimes, measured in
// one run on this machine: our WebAssembly module and onnxruntime-web (wasm backend, one thread)
// in Node, our native build, and PyTorch eager (one thread). The peers run the same function:
// bench/peers/torch_dynamics.py is written from docs' MODEL_SPEC in the reference's style, checked
// against the golden dynamics in float64 before anything is timed, and exported from there to
// ONNX; every runtime's output is compared with the golden value.
//
// Each measurement is a fresh process (the runtimes interleaved, round after round), warmed up,
// then timed over --reps evaluations; it prints one JSON line per runtime (median over rounds of
// each round's median, and the minimum) and one with the ratios.
//   node bench/runtimes.mjs [--rounds 5] [--reps 300] [--shared ../shared]
// Needs: npm run build (web/dist, build/enf_bench, build/weights), ../shared, PyTorch for Python
// (Debian: apt-get install python3-torch; or ENF_PYTHON=/path/to/python) and onnxruntime-web,
// which this installs on first use into bench/peers/node_modules (npm ci there: a 150 MB package
// the library itself never needs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadWasmModel } from './wasm-model.mjs';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const peers = join(root, 'bench', 'peers');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Times fn (sync or async) over reps calls after a warm-up; returns { median_ms, min_ms, value }.
async function timeIt(fn, reps) {
  let value;
  for (let k = 0; k < 20; ++k) value = await fn();
  const ms = [];
  for (let k = 0; k < reps; ++k) {
    const t0 = performance.now();
    value = await fn();
    ms.push(performance.now() - t0);
  }
  return { median_ms: median(ms), min_ms: Math.min(...ms), value: Array.from(value) };
}

if (process.argv[2] === '--child') {
  const [, , , which, casePath, reps, extra] = process.argv;
  const c = JSON.parse(readFileSync(casePath, 'utf8'));
  const state = c.state.flat();
  let out;
  if (which === 'wasm') {
    const model = await loadWasmModel(join(root, 'web', 'dist'), extra);
    const s = Float64Array.from(state);
    out = await timeIt(() => model.velocity(c.t, s).value, Number(reps));
  } else {
    const require = createRequire(join(peers, 'package.json'));
    const ort = await import(pathToFileURL(require.resolve('onnxruntime-web')).href);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(readFileSync(extra), {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    const feeds = {
      t: new ort.Tensor('float32', Float32Array.of(c.t), []),
      state: new ort.Tensor('float32', Float32Array.from(state), [c.state.length, 9]),
    };
    out = await timeIt(async () => (await session.run(feeds)).dstate.data, Number(reps));
    out.version = ort.env.versions?.web ?? require('onnxruntime-web/package.json').version;
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const rounds = Number(arg('--rounds', 5));
const reps = Number(arg('--reps', 300));
const shared = resolve(arg('--shared', join(root, '..', 'shared')));
const weights = join(root, 'build', 'weights', 'qm9.safetensors');
const bench = join(root, 'build', 'enf_bench');
const fail = (msg) => {
  console.error(`runtimes: ${msg}`);
  process.exit(1);
};
for (const [path, how] of [
  [join(root, 'web', 'dist', 'enf_wasm.wasm'), 'npm run build'],
  [bench, 'npm run build'],
  [weights, 'npm run build'],
  [join(shared, 'golden', 'dynamics_public.json'), 'the shared folder beside the repository (--shared DIR)'],
])
  if (!existsSync(path)) fail(`${path} is missing (${how})`);

const python = [process.env.ENF_PYTHON, '/usr/bin/python3', 'python3'].find((p) => {
  if (!p) return false;
  try {
    execFileSync(p, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!python) fail('no Python with PyTorch (Debian: apt-get install python3-torch; or set ENF_PYTHON)');
if (!existsSync(join(peers, 'node_modules', 'onnxruntime-web'))) {
  console.error('runtimes: installing onnxruntime-web into bench/peers (npm ci, once)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: peers, stdio: 'inherit' });
}

const golden = JSON.parse(readFileSync(join(shared, 'golden', 'dynamics_public.json'), 'utf8'));
const c = golden.cases.find((g) => g.atoms.length === 19 && g.t !== 0 && g.t !== 1);
const work = mkdtempSync(join(tmpdir(), 'enf-runtimes-'));
const casePath = join(work, 'case.json');
writeFileSync(casePath, JSON.stringify(c));
writeFileSync(join(work, 'state.txt'), `${c.t}\n${c.state.map((r) => r.join(' ')).join('\n')}\n`);
const onnx = join(work, 'dynamics19.onnx');
const torchScript = join(peers, 'torch_dynamics.py');
execFileSync(python, [torchScript, shared, 'export', onnx], { stdio: ['ignore', 'ignore', 'inherit'] });

const want = c.dstate_dt.flat();
const scale = Math.max(...want.map(Math.abs));
const relError = (value) => Math.max(...value.map((v, i) => Math.abs(v - want[i]))) / scale;

const run = {
  wasm: () => JSON.parse(execFileSync(process.execPath, [self, '--child', 'wasm', casePath, String(reps), weights], { encoding: 'utf8' })),
  'onnxruntime-web': () =>
    JSON.parse(execFileSync(process.execPath, [self, '--child', 'ort', casePath, String(reps), onnx], { encoding: 'utf8' })),
  native: () =>
    JSON.parse(execFileSync(bench, [weights, '--state', join(work, 'state.txt'), '--reps', String(reps)], { encoding: 'utf8' })),
  'pytorch-eager': () => {
    const o = JSON.parse(execFileSync(python, [torchScript, shared, 'time', String(reps)], { encoding: 'utf8' }));
    o.value = null;  // it checks its own output against the golden value (max_rel_error)
    return o;
  },
};
const results = Object.fromEntries(Object.keys(run).map((k) => [k, { medians: [], mins: [], error: 0, extra: {} }]));
for (let r = 0; r < rounds; ++r)
  for (const [name, fn] of Object.entries(run)) {
    const o = fn();
    const res = results[name];
    res.medians.push(o.median_ms);
    res.mins.push(o.min_ms);
    res.error = Math.max(res.error, o.value ? relError(o.value) : o.max_rel_error);
    if (o.version) res.extra.version = o.version;
    if (o.threads) res.extra.threads = o.threads;
  }

const lines = {};
for (const [name, res] of Object.entries(results)) {
  if (res.error > 1e-4) fail(`${name} differs from the golden dynamics by ${res.error.toExponential(2)} (relative)`);
  lines[name] = {
    runtime: name,
    atoms: 19,
    median_ms: +median(res.medians).toFixed(4),
    min_ms: +Math.min(...res.mins).toFixed(4),
    max_rel_error_vs_golden: +res.error.toExponential(2),
    ...res.extra,
  };
  console.log(JSON.stringify(lines[name]));
}
const ratio = (a, b, key) => +(lines[b][key] / lines[a][key]).toFixed(2);
console.log(
  JSON.stringify({
    rounds,
    reps,
    wasm_vs_onnxruntime_web: { median: ratio('wasm', 'onnxruntime-web', 'median_ms'), min: ratio('wasm', 'onnxruntime-web', 'min_ms') },
    native_vs_pytorch_eager: { median: ratio('native', 'pytorch-eager', 'median_ms'), min: ratio('native', 'pytorch-eager', 'min_ms') },
    wasm_vs_pytorch_eager: { median: ratio('wasm', 'pytorch-eager', 'median_ms'), min: ratio('wasm', 'pytorch-eager', 'min_ms') },
  }),
);
