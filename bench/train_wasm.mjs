// Milliseconds per training step of the particle E-NF in WebAssembly (Node, the package's worker),
// for DW4 and LJ13: one JSON line per system. The data are the core's MCMC chains (seed 2026);
// the first step (which also warms the worker's code) is left out of the median. cpu_ms_per_step
// is the process's CPU time per step, the figure to compare on a shared machine.
//
// usage: node bench/train_wasm.mjs [--steps N] [--dw4-batch B] [--lj13-batch B] [--system NAMES] [--methods M]
// where NAMES is a comma-separated list of dw4, lj13, lj13-fluid or all (default dw4,lj13) and M
// a comma-separated list of Table 1 methods or all (default E-NF).
// (build first: bash wasm/build.sh && node web/scripts/build.mjs). Both default to the paper's
// batch of 100; the batch goes through the graph in slices, so it fits a wasm32 heap.
import { loadavg } from 'node:os';
import { TRAINING_METHODS, createTrainer } from '../web/dist/node.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const steps = Number(opt('--steps', 5));
const which = opt('--system', 'dw4,lj13').split(',');
const lj13Batch = Number(opt('--lj13-batch', 100));
const methodsArg = opt('--methods', 'E-NF');
const methods = methodsArg === 'all' ? TRAINING_METHODS.map((m) => m.name) : methodsArg.split(',');
const settings = [
  { system: 'dw4', batch: Number(opt('--dw4-batch', 100)), nTrain: 1000 },
  { system: 'lj13', batch: lj13Batch, nTrain: 100 },
  { system: 'lj13-fluid', batch: lj13Batch, nTrain: 100 },
].filter((s) => which.includes('all') || which.includes(s.system));
for (const name of which) {
  if (name !== 'all' && !settings.some((s) => s.system === name)) {
    throw new Error(`--system: unknown system '${name}' (dw4, lj13, lj13-fluid or all)`);
  }
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};

for (const s of settings)
for (const method of methods) {
  const trainer = await createTrainer({ system: s.system, method, nTrain: s.nTrain, nVal: 0, batch: s.batch, seed: 2026 });
  try {
    const ms = [];
    const cpu = [];
    let loss = NaN;
    for (let k = 0; k <= steps; ++k) {
      // CPU time of the whole process (the worker thread's, as this thread only waits): what a
      // step costs on an idle core, whatever else shares the machine.
      const c0 = process.cpuUsage();
      const r = await trainer.step();
      const c = process.cpuUsage(c0);
      if (k > 0) {
        ms.push(r.ms);
        cpu.push((c.user + c.system) / 1000);
      }
      loss = r.loss;
    }
    console.log(
      JSON.stringify({
        runtime: 'wasm-node',
        system: s.system,
        method,
        batch: s.batch,
        ms_per_step: Math.round(median(ms)),
        min_ms: Math.round(Math.min(...ms)),
        cpu_ms_per_step: Math.round(median(cpu)),
        steps: ms.length,
        data_ms: Math.round(trainer.data.ms),
        last_loss: Number(loss.toFixed(4)),
        load_average: Number(loadavg()[0].toFixed(2)),
      }),
    );
  } finally {
    trainer.dispose();
  }
}
