// Sampling throughput of the shipped particle flows (DW4, LJ13) in WebAssembly (Node, one worker),
// by batch size: samples per second, one JSON line per system and batch. Batch 1 is one sample
// at a time (as before batching); the results are bit for bit the same for every batch
// (checked here too). Batches alternate over --reps rounds; the median per batch is reported.
//
// usage: node bench/particle-sample.mjs [--count N] [--reps R] [--batches 1,8,32,128] [--system dw4,lj13]
// (build first: bash wasm/build.sh && node web/scripts/build.mjs)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadParticleFlow } from '../web/dist/node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const count = Number(opt('--count', 512));
const reps = Number(opt('--reps', 3));
const batches = opt('--batches', '1,8,32,128').split(',').map(Number);
const systems = opt('--system', 'dw4,lj13').split(',');
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};
const sameBits = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

for (const system of systems) {
  const flow = await loadParticleFlow(readFileSync(join(root, 'weights', `${system}.safetensors`)));
  await flow.sample({ count: 64, seed: 999, batch: 32 });  // warm the worker's code
  const ms = new Map(batches.map((b) => [b, []]));
  let reference = null;
  let identical = true;
  for (let r = 0; r < reps; ++r)
    for (const batch of batches) {
      const t0 = performance.now();
      const s = await flow.sample({ count, seed: 1, batch });
      ms.get(batch).push(performance.now() - t0);
      if (!reference) reference = s;
      else identical &&= s.every((x, k) => sameBits(x.positions, reference[k].positions));
    }
  const base = median(ms.get(batches[0]));
  for (const batch of batches) {
    const m = median(ms.get(batch));
    console.log(JSON.stringify({
      bench: 'particle-sample', runtime: 'wasm-node', system, particles: flow.system.particles, dim: flow.system.dim,
      count, batch, ms_per_sample: +(m / count).toFixed(4), samples_per_s: +((1000 * count) / m).toFixed(1),
      speedup_vs_batch_1: batches[0] === 1 ? +(base / m).toFixed(2) : undefined, identical_across_batches: identical,
    }));
  }
  await flow.dispose();
}
