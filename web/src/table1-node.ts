// The paper's Table 1 in Node (`enf table1`), the JavaScript twin of `enf_train_bench --table1`:
// methods x systems x training sizes x runs, each run with the authors' schedule (epochs, batch and
// validation interval per training size), its weights chosen by the exact-trace validation NLL and
// its test NLL measured on 1,000 held-out configurations. The data are the native grid's (train
// chain seed S, validation S + 1, test S + 2); run k trains from seed S + k. Each finished run is
// DIR/runs/<cell>.json with its weights beside it, so an interrupted grid resumes where it stopped;
// DIR/table1.json and DIR/table1.md hold the mean and standard deviation over runs beside the
// paper's numbers.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, SolverError } from './errors.js';
import { createTrainer, loadParticleFlow } from './node.js';
import { TRAINING_METHODS } from './systems.generated.js';
import type { TrainingMethod } from './types.js';

export interface Table1Options {
  methods?: string[];
  systems?: Array<'dw4' | 'lj13'>;
  /** Training sizes per system (default: DW4 1000, LJ13 100, the paper's middle columns). */
  sizes?: Partial<Record<'dw4' | 'lj13', number[]>>;
  runs?: number;
  /** Caps every run's epochs (default: the authors' schedule). */
  epochs?: number;
  seed?: number;
  /** Validation configurations for model selection (default 200). */
  valSubset?: number;
  dir: string;
  log?: (line: string) => void;
}

export interface Table1Run {
  system: string;
  method: string;
  n_train: number;
  run: number;
  train_seed: number;
  test_nll: number;
  val_nll: number;
  best_epoch: number;
  epochs: number;
  steps: number;
  ms_per_step: number;
  wall_s: number;
}

export interface Table1Cell {
  method: string;
  system: string;
  n_train: number;
  runs: number;
  test_nll_mean: number;
  test_nll_sd: number;
  paper: number | null;
  ms_per_step: number;
}

/** The authors' sweep (main_dw4_lj13.py): epochs, batch and validation interval per training size. */
export function paperSchedule(system: string, n: number): { epochs: number; batch: number; evalEvery: number } {
  if (system === 'dw4') {
    if (n <= 100) return { epochs: 1000, batch: 100, evalEvery: 20 };
    if (n <= 1000) return { epochs: 300, batch: 100, evalEvery: 5 };
    if (n <= 10000) return { epochs: 50, batch: 100, evalEvery: 1 };
    return { epochs: 6, batch: 100, evalEvery: 1 };
  }
  if (n <= 10) return { epochs: 500, batch: 10, evalEvery: 10 };
  if (n <= 100) return { epochs: 1000, batch: 100, evalEvery: 25 };
  if (n <= 1000) return { epochs: 300, batch: 100, evalEvery: 5 };
  return { epochs: 50, batch: 100, evalEvery: 1 };
}

/** The paper's Table 1 test NLL, or null where it has no entry. */
export function paperNll(method: string, system: string, n: number): number | null {
  const m = TRAINING_METHODS.find((x) => x.name === method);
  const row = m ? (m.paper as Record<string, Record<string, number>>)[system] : undefined;
  return row?.[String(n)] ?? null;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '-');
const EVAL = { trace: 'exact' as const, rtol: 1e-5, atol: 1e-5 };

function writeAtomically(path: string, text: string | Uint8Array): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function meanNll(flow: { scoreBatch: (x: Float32Array, o: object) => Promise<Array<{ logLikelihood: number }>> }, x: Float32Array): Promise<number> {
  const scores = await flow.scoreBatch(x, EVAL);
  return -scores.reduce((s, r) => s + r.logLikelihood, 0) / scores.length;
}

/** Runs (or resumes) the grid; returns the aggregated cells. */
export async function runTable1(o: Table1Options): Promise<Table1Cell[]> {
  const log = o.log ?? (() => {});
  const methods = o.methods ?? TRAINING_METHODS.map((m) => m.name);
  for (const m of methods)
    if (!TRAINING_METHODS.some((x) => x.name === m))
      throw new InvalidInputError(`unknown method '${m}': use one of ${TRAINING_METHODS.map((x) => x.name).join(', ')}`);
  const systems = o.systems ?? ['dw4', 'lj13'];
  for (const s of systems) if (s !== 'dw4' && s !== 'lj13') throw new InvalidInputError(`Table 1 has dw4 and lj13, not '${s}'`);
  const sizes = { dw4: [1000], lj13: [100], ...o.sizes };
  const runs = o.runs ?? 3;
  const seed = o.seed ?? 2026;
  const valSubset = o.valSubset ?? 200;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new InvalidInputError('runs must be an integer >= 1');
  mkdirSync(join(o.dir, 'runs'), { recursive: true });
  const results: Table1Run[] = [];
  for (const system of systems) {
    // The test chain (seed + 2) is the same for every training size.
    let test: Float32Array | null = null;
    for (const n of sizes[system] ?? []) {
      let data: { train: Float32Array; val: Float32Array } | null = null;
      for (const method of methods)
        for (let k = 0; k < runs; ++k) {
          const base = join(o.dir, 'runs', `${system}-n${n}-${slug(method)}-run${k + 1}`);
          if (existsSync(`${base}.json`)) {
            const r = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Table1Run;
            results.push(r);
            log(`${base}: done before (test NLL ${r.test_nll.toFixed(4)})`);
            continue;
          }
          if (!data) {
            const d = await createTrainer({ system, nTrain: n, nVal: valSubset, seed });
            data = { train: d.data.train, val: d.data.val };
            d.dispose();
          }
          if (!test) {
            const t = await createTrainer({ system, nTrain: 1000, nVal: 0, seed: seed + 2 });
            test = t.data.train;
            t.dispose();
          }
          const sch = paperSchedule(system, n);
          const epochs = Math.min(sch.epochs, o.epochs ?? Infinity);
          const every = Math.min(sch.evalEvery, epochs);
          const trainer = await createTrainer({ system, method: method as TrainingMethod, data, batch: sch.batch, seed: seed + k });
          const t0 = performance.now();
          let trainMs = 0;
          let best = Infinity;
          let bestEpoch = 0;
          let bestBytes: Uint8Array | null = null;
          try {
            for (let e = 0; e < epochs; ) {
              const chunk = Math.min(every, epochs - e);
              try {
                const f = await trainer.fit({ epochs: chunk, validateEvery: 0 });
                trainMs += f.ms;
              } catch (err) {
                // The loss went non-finite: the run ends with its best checkpoint (as the native grid).
                if (!(err instanceof SolverError) || !bestBytes) throw err;
                log(`[${system} ${method} run ${k + 1}] training stopped after epoch ${e}: ${err.message}`);
                break;
              }
              e += chunk;
              const snapshot = await trainer.model();
              // A field too stiff for the adaptive solver scores +Infinity; the best checkpoint stays.
              const v = await meanNll(snapshot, data.val)
                .catch((err) => {
                  if (!(err instanceof SolverError)) throw err;
                  return Infinity;
                })
                .finally(() => snapshot.dispose());
              if (v < best) {
                best = v;
                bestEpoch = e;
                bestBytes = await trainer.exportWeights({ best_epoch: String(e), val_nll: v.toFixed(4) });
              }
              log(`[${system} ${method} run ${k + 1}] epoch ${e}/${epochs}  val NLL ${v.toFixed(4)} (best ${best.toFixed(4)} @ ${bestEpoch})`);
            }
            const flow = await loadParticleFlow(bestBytes!);
            const testNll = await meanNll(flow, test).finally(() => flow.dispose());
            const r: Table1Run = {
              system, method, n_train: n, run: k + 1, train_seed: seed + k, test_nll: testNll, val_nll: best,
              best_epoch: bestEpoch, epochs, steps: trainer.steps, ms_per_step: trainMs / Math.max(1, trainer.steps),
              wall_s: (performance.now() - t0) / 1000,
            };
            writeAtomically(`${base}.safetensors`, bestBytes!);
            writeAtomically(`${base}.json`, `${JSON.stringify(r)}\n`);
            results.push(r);
            log(`[${system} ${method} run ${k + 1}] test NLL ${testNll.toFixed(4)} (paper ${paperNll(method, system, n) ?? '–'})`);
          } finally {
            trainer.dispose();
          }
        }
    }
  }
  const cells: Table1Cell[] = [];
  for (const system of systems)
    for (const n of sizes[system] ?? [])
      for (const method of methods) {
        const rs = results.filter((r) => r.system === system && r.n_train === n && r.method === method);
        if (!rs.length) continue;
        const mean = rs.reduce((s, r) => s + r.test_nll, 0) / rs.length;
        const sd = rs.length > 1 ? Math.sqrt(rs.reduce((s, r) => s + (r.test_nll - mean) ** 2, 0) / (rs.length - 1)) : 0;
        cells.push({
          method, system, n_train: n, runs: rs.length, test_nll_mean: mean, test_nll_sd: sd,
          paper: paperNll(method, system, n), ms_per_step: rs.reduce((s, r) => s + r.ms_per_step, 0) / rs.length,
        });
      }
  writeAtomically(join(o.dir, 'table1.json'), `${JSON.stringify({ cells }, null, 2)}\n`);
  writeAtomically(join(o.dir, 'table1.md'), table1Markdown(cells));
  return cells;
}

export function table1Markdown(cells: Table1Cell[]): string {
  const rows = cells.map(
    (c) =>
      `| ${c.method} | ${c.system} | ${c.n_train} | ${c.runs} | ${c.test_nll_mean.toFixed(2)} ± ${c.test_nll_sd.toFixed(2)} | ${c.paper === null ? '–' : c.paper.toFixed(2)} | ${c.ms_per_step.toFixed(1)} |`,
  );
  return ['| method | system | n_train | runs | test NLL (mean ± sd) | paper | ms/step |', '|---|---|---|---|---|---|---|', ...rows, ''].join('\n');
}
