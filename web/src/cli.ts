// enf: the package's command-line front end (sample, trajectory, score, verify, bench), running the
// WebAssembly build in worker_threads. Output formats match the native `enf` and `enf_bench`.
import type { BenchValue } from './worker-bench.node.js';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { EnfError, InvalidInputError } from './errors.js';
import { formatE, formatF, formatG, jsonNumber, padRight } from './format.js';
import { didYouMean } from './options.js';
import { firstTestMolecule } from './npz.js';
import { evaluateCheckpointed, mergeRecords, writeReport } from './eval-node.js';
import { runTable1, table1Markdown } from './table1-node.js';
import { formatProportion, insideInterval } from './eval-report.js';
import type { EvalProgress, EvalReport } from './eval.js';
import { loadModel, toSDF, toXYZ, type EnfModel } from './node.js';
import type { Molecule, ScoreResult, SolverMethod, VerifyCheck } from './types.js';

const USAGE = `enf: E(n) equivariant normalizing flow on QM9 (WebAssembly build, Node)

usage:
  enf sample     [--atoms M] [--seed S] [--count C] [--rtol R] [--atol A] [--format xyz|sdf|json]
  enf trajectory [--atoms M] [--seed S] [--frames F] [--rtol R] [--atol A]     (multi-frame XYZ)
  enf score FILE|- [--trace exact|hutchinson] [--probes K] [--samples S] [--seed S] [--rtol R] [--atol A]
  enf verify GOLDEN.json... [--rtol R] [--atol A]
  enf bench [--data QM9_TEST.npz] [--quick] [--no-exact] [--pool N] [--pool-only] [--exact-split]
  enf --version | enf CMD --help
  enf eval [--samples N] [--seed S] [--data QM9_TEST.npz] [--nll-molecules K|all] [--nll-seed S]
           [--exact-molecules E] [--trace hutchinson|exact] [--probes P] [--rtol R] [--atol A]
           [--shard k/n] [--out-dir DIR] [--no-smiles]
           (model report: stability, SMILES, test NLL, histograms; writes DIR/report.json and DIR/report.html;
           resumes from DIR/records.jsonl)
  enf eval merge DIR... [--out-dir DIR] [--data QM9_TEST.npz]   (one report from the shards' directories)
  enf table1 [--methods "E-NF,GNF,..."] [--systems dw4,lj13] [--sizes dw4=100,1000:lj13=10] [--runs R]
           [--epochs E] [--seed S] [--out-dir DIR]
           (the paper's Table 1: trains each method, test NLL beside the paper's; resumable)
common options:
  --weights PATH   QM9 weights (.safetensors; default: the model bundled with the package)
  --workers N      size of the worker pool (default: the machine's cores)
  --out PATH       write the result to PATH instead of standard output
  --method NAME    ODE solver of sample, trajectory and score: dopri5 (default), bosh3 (adaptive:
                   --rtol/--atol), rk4, midpoint, euler (fixed steps: --steps N, default 50)
M = 0 or absent draws the atom count from p(M). Positions are in Angstrom, log-likelihoods in nats.
`;

// Each command's options (taking a value) and flags (without one): anything else is an error with
// a "did you mean", never silently ignored. `enf CMD --help` prints the command's own usage.
const COMMON = ['weights', 'workers', 'out'];
const SOLVER = ['method', 'rtol', 'atol', 'steps'];
const COMMANDS: Record<string, { options: string[]; flags: string[]; usage: string }> = {
  sample: {
    options: [...COMMON, ...SOLVER, 'atoms', 'seed', 'count', 'format'],
    flags: [],
    usage: 'enf sample [--atoms M] [--seed S] [--count C] [--rtol R] [--atol A] [--format xyz|sdf|json]\n  samples molecules (seeds S .. S + C - 1); M = 0 or absent draws the atom count from p(M)',
  },
  trajectory: {
    options: [...COMMON, ...SOLVER, 'atoms', 'seed', 'frames'],
    flags: [],
    usage: 'enf trajectory [--atoms M] [--seed S] [--frames F] [--rtol R] [--atol A]\n  the sampling trajectory as multi-frame XYZ, t from 1 to 0',
  },
  score: {
    options: [...COMMON, ...SOLVER, 'trace', 'probes', 'samples', 'seed'],
    flags: [],
    usage:
      'enf score FILE|- [--trace exact|hutchinson] [--probes K] [--samples S] [--seed S] [--rtol R] [--atol A]\n' +
      '  log-likelihood in nats, a JSON line per molecule: FILE is XYZ, SDF or MOL (told apart by content; every\n' +
      '  record of an SDF is scored, over the pool), - reads standard input. One molecule\'s exact trace is split\n' +
      '  over all workers (the same result, sooner). The JSON uses the native enf\'s snake_case names.',
  },
  verify: {
    options: [...COMMON, 'rtol', 'atol'],
    flags: [],
    usage: 'enf verify GOLDEN.json... [--rtol R] [--atol A]\n  checks this build against golden outputs of the reference implementation',
  },
  bench: {
    options: ['weights', 'out', 'data', 'pool'],
    flags: ['quick', 'no-exact', 'pool-only', 'exact-split'],
    usage:
      'enf bench [--data QM9_TEST.npz] [--quick] [--no-exact] [--pool N [--pool-only]] [--exact-split]\n' +
      '  speed figures as JSON lines; --exact-split adds the exact score of the first 19-atom test molecule\n' +
      '  on one worker and split over the --pool workers (default 2)',
  },
  table1: {
    options: ['methods', 'systems', 'sizes', 'runs', 'epochs', 'seed', 'val-subset', 'out-dir'],
    flags: [],
    usage:
      'enf table1 [--methods "E-NF,GNF,..."] [--systems dw4,lj13] [--sizes dw4=100,1000:lj13=10] [--runs R] [--epochs E]\n' +
      '           [--seed S] [--val-subset N] [--out-dir DIR]\n' +
      "  the paper's Table 1 (test NLL of each method on DW4 / LJ13) with the authors' schedule; resumes an\n" +
      '  interrupted grid from DIR/runs (default enf-table1) and writes DIR/table1.json and DIR/table1.md',
  },
  eval: {
    options: [...COMMON, 'samples', 'seed', 'data', 'nll-molecules', 'exact-molecules', 'nll-seed', 'trace', 'probes', 'rtol', 'atol', 'shard', 'out-dir'],
    flags: ['no-smiles'],
    usage:
      'enf eval [--samples N] [--seed S] [--data QM9_TEST.npz] [--nll-molecules K|all] [--nll-seed S] [--exact-molecules E]\n' +
      '         [--trace hutchinson|exact] [--probes P] [--rtol R] [--atol A] [--shard k/n] [--out-dir DIR] [--no-smiles]\n' +
      '  model report: stability, SMILES, test NLL, histograms; writes DIR/report.json and DIR/report.html.\n' +
      '  Samples k = 0 .. N-1 use seed S + k. The NLL scores K test molecules (all: the whole split, as the paper)\n' +
      '  with the estimator (--trace; one probe by default, as the authors), and E of them with the exact trace too\n' +
      '  (each split over all workers). Every finished item is appended to DIR/records.jsonl: run the same command\n' +
      '  again to resume after an interruption.\n' +
      '  --shard k/n runs part k (0-based) of n of every list: one task of a Slurm array or a Kubernetes Indexed Job.\n' +
      'enf eval merge DIR... [--out-dir DIR] [--data QM9_TEST.npz]\n' +
      "  the report of all the shards' directories: the same figures as one unsharded run",
  },

};
const COMMON_HELP = `common options:
  --weights PATH   QM9 weights (.safetensors; default: the model bundled with the package)
  --workers N      size of the worker pool (default: the machine's cores)
  --out PATH       write the result to PATH instead of standard output
  --method NAME    ODE solver of sample, trajectory and score: dopri5 (default), bosh3 (adaptive:
                   --rtol/--atol), rk4, midpoint, euler (fixed steps: --steps N, default 50)
`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

class Args {
  command = '';
  positional: string[] = [];
  options = new Map<string, string>();
  help = false;
  constructor(argv: string[]) {
    if (argv.length === 0) return;
    this.command = argv[0]!;
    const spec = COMMANDS[this.command];
    for (let i = 1; i < argv.length; ++i) {
      const s = argv[i]!;
      if (s === '--help' || s === '-h') {
        this.help = true;
        continue;
      }
      if (s.startsWith('--')) {
        const eq = s.indexOf('=');
        const key = eq > 0 ? s.slice(2, eq) : s.slice(2);
        if (!spec) continue; // an unknown command is reported by main()
        if (spec.flags.includes(key)) {
          if (eq > 0) throw new InvalidInputError(`enf ${this.command}: --${key} takes no value`);
          this.options.set(key, 'true');
          continue;
        }
        if (!spec.options.includes(key)) {
          const near = didYouMean(key, [...spec.options, ...spec.flags]);
          throw new InvalidInputError(
            `enf ${this.command}: unknown option --${key}${near ? ` (did you mean --${near}?)` : ''}; see enf ${this.command} --help`,
          );
        }
        if (eq > 0) this.options.set(key, s.slice(eq + 1));
        else if (i + 1 >= argv.length) throw new InvalidInputError(`enf ${this.command}: option --${key} needs a value`);
        else this.options.set(key, argv[++i]!);
      } else {
        this.positional.push(s);
      }
    }
  }
  get(k: string, def: string): string {
    return this.options.get(k) ?? def;
  }
  has(k: string): boolean {
    return this.options.has(k);
  }
  number(k: string, def: number): number {
    const s = this.options.get(k);
    if (s === undefined) return def;
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v)) throw new InvalidInputError(`--${k} expects a number, got '${s}'`);
    return v;
  }
  integer(k: string, def: number, lo: number, hi: number): number {
    const v = this.number(k, def);
    if (!Number.isInteger(v) || v < lo || v > hi) throw new InvalidInputError(`--${k} expects an integer in [${lo}, ${hi}]`);
    return v;
  }
}

interface Output {
  write(s: string): void;
  close(): Promise<void>;
}

function output(path: string): Output {
  if (!path) return { write: (s) => void process.stdout.write(s), close: async () => {} };
  let stream: WriteStream;
  try {
    stream = createWriteStream(path);
  } catch {
    throw new InvalidInputError(`cannot write '${path}'`);
  }
  return {
    write: (s) => void stream.write(s),
    close: () => new Promise((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve()))),
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new InvalidInputError(`cannot open '${path}'`);
  }
}

function moleculeJson(m: Molecule): string {
  return (
    `{"elements":[${m.elements.map((e) => `"${e}"`).join(',')}],"charges":[${m.charges.join(',')}],` +
    `"positions":[${Array.from(m.positions, (v) => jsonNumber(v)).join(',')}],"stable_atoms":${m.stableAtoms},` +
    `"stable":${m.stable},"nfe":${m.nfe}}`
  );
}

/** The solver options every solve takes: --method, --rtol/--atol (adaptive), --steps (fixed-step). */
function solver(a: Args): { method: SolverMethod; rtol: number; atol: number; steps?: number } {
  const o = { method: a.get('method', 'dopri5') as SolverMethod, rtol: a.number('rtol', 1e-4), atol: a.number('atol', 1e-4) };
  return a.has('steps') ? { ...o, steps: a.integer('steps', 50, 1, 100000) } : o;
}

async function cmdSample(a: Args, model: EnfModel, out: Output): Promise<number> {
  const atoms = a.integer('atoms', 0, 0, model.maxAtoms);
  const seed = a.integer('seed', 0, 0, 2 ** 53);
  const count = a.integer('count', 1, 1, 100000);
  const format = a.get('format', 'xyz');
  if (!['xyz', 'sdf', 'json'].includes(format)) throw new InvalidInputError('--format must be xyz, sdf or json');
  const molecules = await model.sample({ count, atoms, seed, ...solver(a) });
  if (format === 'json') out.write('[');
  for (const [k, m] of molecules.entries()) {
    const title = `enf sample seed=${m.seed} stable=${m.stable ? 'yes' : 'no'} nfe=${m.nfe}`;
    if (format === 'xyz') out.write(toXYZ(m, title));
    if (format === 'sdf') out.write(toSDF(m, title));
    if (format === 'json') out.write((k ? ',' : '') + moleculeJson(m));
  }
  if (format === 'json') out.write(']\n');
  return 0;
}

async function cmdTrajectory(a: Args, model: EnfModel, out: Output): Promise<number> {
  const atoms = a.integer('atoms', 0, 0, model.maxAtoms);
  const seed = a.integer('seed', 0, 0, 2 ** 53);
  const frames = a.integer('frames', 50, 2, 10000);
  for await (const f of model.sampleTrajectory({ atoms, seed, frames, ...solver(a) }))
    out.write(toXYZ(f, `frame ${f.index} t=${jsonNumber(f.t)}`));
  return 0;
}

/** One score as a JSON line (the native `enf score`'s names; SDF records add their index and title). */
function scoreJson(r: ScoreResult, record?: { index: number; title: string }): string {
  return (
    `{${record ? `"index":${record.index},"title":${JSON.stringify(record.title)},` : ''}` +
    `"log_likelihood":${jsonNumber(r.logLikelihood)},"per_atom":${jsonNumber(r.perAtom)},"stderr":${jsonNumber(r.stderr)},` +
    `"terms":{"log_pz":${jsonNumber(r.terms.logPz)},"delta_logp":${jsonNumber(r.terms.deltaLogp)},` +
    `"log_q":${jsonNumber(r.terms.logQ)},"log_pM":${jsonNumber(r.terms.logPM)}},"atoms":${r.atoms},"nfe":${r.nfe},` +
    `"trace":"${r.trace}","units":"nats","ms":${jsonNumber(r.ms)}}\n`
  );
}

async function cmdScore(a: Args, model: EnfModel, out: Output): Promise<number> {
  if (a.positional.length !== 1) throw new InvalidInputError('score takes one file (XYZ, SDF or MOL, told apart by content), or - for standard input');
  const trace = a.get('trace', 'hutchinson');
  if (trace !== 'exact' && trace !== 'hutchinson') throw new InvalidInputError('--trace must be exact or hutchinson');
  const path = a.positional[0]!;
  const text = path === '-' ? readFileSync(0, 'utf8') : readText(path);
  const options = {
    trace,
    probes: a.integer('probes', 1, 1, 1024),
    samples: a.integer('samples', 1, 1, 1000),
    seed: a.integer('seed', 0, 0, 2 ** 53),
    ...solver(a),
  } as const;
  // An SDF (or MOL) file: every record, a JSON line each, over the pool; a record that cannot be
  // read or scored gets an error line and the exit code is 1.
  if (/^(?:[^\n]*\n){3}[^\n]*V[23]000/.test(text)) {
    const items = await model.scoreMany(text, options);
    let failed = 0;
    for (const it of items) {
      if (it.score) out.write(scoreJson(it.score, it));
      else {
        failed += 1;
        out.write(`{"index":${it.index},"title":${JSON.stringify(it.title)},"error":${JSON.stringify(it.error?.message ?? 'failed')}}\n`);
      }
    }
    if (failed) process.stderr.write(`enf: ${failed} of ${items.length} molecules could not be scored (see their "error" lines)\n`);
    return failed ? 1 : 0;
  }
  // One molecule, exact trace, one dequantization sample: split over every worker (the same figure, sooner).
  const split = trace === 'exact' && options.samples === 1 ? { split: 'pool' as const } : {};
  out.write(scoreJson(await model.score(text, { ...options, ...split })));
  return 0;
}

/** One line per check, exactly as the native `enf verify` prints it. */
export function verifyLine(c: VerifyCheck): string {
  return (
    `${padRight(c.pass ? 'ok' : 'FAIL', 4)} ${padRight(c.caseName, 40)} ${padRight(c.quantity, 24)} ` +
    `max_abs_err ${formatE(c.maxAbsError, 3)}  tol ${formatE(c.tolerance, 0)}\n`
  );
}

async function cmdVerify(a: Args, model: EnfModel, out: Output): Promise<number> {
  if (a.positional.length === 0) throw new InvalidInputError('verify takes one or more golden JSON files');
  const rtol = a.number('rtol', 1e-7);
  const atol = a.number('atol', 1e-7);
  // Files run in parallel on the pool; lines print in the order given.
  const results = await Promise.all(a.positional.map((p) => model.verify(readText(p), { rtol, atol })));
  let ok = true;
  for (const checks of results)
    for (const c of checks) {
      out.write(verifyLine(c));
      ok &&= c.pass;
    }
  out.write(ok ? 'verify: all cases within tolerance\n' : 'verify: FAILED\n');
  return ok ? 0 : 1;
}

async function cmdBench(a: Args, weights: string): Promise<number> {
  const data = a.get('data', '../shared/data/qm9_test.npz');
  const molecule = firstTestMolecule(data, 19);
  const poolSize = a.has('pool') ? a.integer('pool', 2, 2, 256) : 0;
  const out = output(a.get('out', ''));
  if (!a.has('pool-only')) {
    // Single-thread figures, measured inside one worker exactly as bench_native.cpp measures them.
    const model = await loadModel(weights, { workers: 1, workerUrl: new URL('./worker-bench.node.js', import.meta.url) });
    try {
      const b = (await model._run({
        op: 'bench',
        elements: molecule.elements,
        positions: molecule.positions,
        quick: a.has('quick'),
        exact: !a.has('no-exact'),
      })) as BenchValue;
      const fixed6 = (v: number) => formatF(v, 6);
      out.write(
        `{"runtime":"wasm-node","atoms":${b.atoms},"threads":1,"rtol":${formatG(1e-4)},"atol":${formatG(1e-4)},` +
          `"nfe_ms":${formatF(b.nfe_ms, 4)},"sample_ms":${formatF(b.sample_ms, 2)},"sample_nfe":${formatG(b.sample_nfe)},` +
          `"score_hutch_ms":${formatF(b.score_hutch_ms, 2)},"score_hutch_nfe":${formatG(b.score_hutch_nfe)},` +
          `"score_exact_ms":${b.exact ? fixed6(b.exact.ms) : 'null'},"score_exact_nfe":${b.exact ? fixed6(b.exact.nfe) : 'null'},` +
          `"score_exact_log_likelihood":${b.exact ? fixed6(b.exact.ll) : 'null'}}\n`,
      );
    } finally {
      model.dispose();
    }
  }
  if (a.has('exact-split')) {
    // One exact score on one worker, then split over the pool (same pool, warm workers).
    const workers = poolSize || 2;
    const model = await loadModel(weights, { workers });
    try {
      await model.sample({ count: workers, atoms: 19, seed: 1000 });
      // In the order one, split, split, one (machines drift): each figure is the mean of its two runs.
      const ms = [0, 0];
      const ll = new Set<number>();
      for (const k of [0, 1, 1, 0]) {
        const t0 = performance.now();
        const r = await model.score(molecule, { trace: 'exact', seed: 0, split: k ? 'pool' : undefined });
        ms[k] += (performance.now() - t0) / 2;
        ll.add(r.logLikelihood);
      }
      out.write(
        `{"runtime":"wasm-node","atoms":19,"exact_split":[1,${workers}],"score_exact_ms":[${ms.map((v) => formatF(v, 1)).join(',')}],` +
          `"speedup":${formatF(ms[0] / ms[1], 3)},"same_result":${ll.size === 1}}\n`,
      );
    } finally {
      model.dispose();
    }
  }
  if (poolSize) {
    // Throughput of 1 worker against `poolSize` workers on the same batch of 19-atom molecules.
    const count = a.has('quick') ? 2 * poolSize : 4 * poolSize;
    const rates: number[] = [];
    const loadMs: number[] = [];
    for (const workers of [1, poolSize]) {
      const t0 = performance.now();
      const model = await loadModel(weights, { workers });
      loadMs.push(performance.now() - t0);
      try {
        await model.sample({ count: workers, atoms: 19, seed: 1000 }); // warm every worker
        const t1 = performance.now();
        await model.sample({ count, atoms: 19, seed: 0 });
        rates.push(count / ((performance.now() - t1) / 1000));
      } finally {
        model.dispose();
      }
    }
    out.write(
      `{"runtime":"wasm-node","pool":[1,${poolSize}],"molecules":${count},"atoms":19,` +
        `"molecules_per_s":[${rates.map((r) => formatF(r, 3)).join(',')}],"speedup":${formatF(rates[1] / rates[0], 3)},` +
        `"load_ms":[${loadMs.map((v) => formatF(v, 1)).join(',')}]}\n`,
    );
  }
  await out.close();
  return 0;
}

async function cmdTable1(a: Args): Promise<number> {
  const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
  const sizes: Partial<Record<'dw4' | 'lj13', number[]>> = {};
  for (const entry of a.get('sizes', '').split(':').filter(Boolean)) {
    const [system, ns] = entry.split('=');
    if ((system !== 'dw4' && system !== 'lj13') || !ns) throw new InvalidInputError(`--sizes takes dw4=n,n:lj13=n, got '${entry}'`);
    sizes[system] = list(ns).map((n) => {
      const v = Number(n);
      if (!Number.isInteger(v) || v < 1) throw new InvalidInputError(`--sizes: '${n}' is not a training-set size`);
      return v;
    });
  }
  const dir = a.get('out-dir', 'enf-table1');
  const cells = await runTable1({
    methods: a.has('methods') ? list(a.get('methods', '')) : undefined,
    systems: a.has('systems') ? (list(a.get('systems', '')) as Array<'dw4' | 'lj13'>) : undefined,
    sizes,
    runs: a.integer('runs', 3, 1, 100),
    epochs: a.has('epochs') ? a.integer('epochs', 1, 1, 1_000_000) : undefined,
    seed: a.integer('seed', 2026, 0, 2 ** 31),
    valSubset: a.integer('val-subset', 200, 1, 100_000),
    dir,
    log: (line) => process.stderr.write(`enf table1: ${line}\n`),
  });
  process.stdout.write(table1Markdown(cells));
  process.stderr.write(`enf table1: wrote ${dir}/table1.json and ${dir}/table1.md\n`);
  return 0;
}

/** `--shard k/n` (0 <= k < n; Slurm's SLURM_ARRAY_TASK_ID / Kubernetes' JOB_COMPLETION_INDEX as k). */
function shardOption(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count) || count > 100_000)
    throw new InvalidInputError(`--shard takes k/n with 0 <= k < n (e.g. 0/4 ... 3/4), got '${v}'`);
  return { index, count };
}

/** Hours, minutes and seconds, for the ETA. */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** Progress on stderr with the rate and the phase's ETA: a line per tenth of a phase or per minute (redrawn on a terminal). */
function evalProgress(): (p: EvalProgress) => void {
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  let phase = '';
  let phaseStart = t0;
  let lastTenth = -1;
  let lastLine = 0;
  return (p) => {
    const now = performance.now();
    if (p.phase === 'done') {
      if (tty) process.stderr.write('\n');
      return;
    }
    if (p.phase !== phase) {
      phase = p.phase;
      phaseStart = now;
      lastTenth = -1;
    }
    const tenth = Math.floor((10 * p.done) / Math.max(1, p.total));
    if (!tty && tenth === lastTenth && now - lastLine < 60_000) return;
    lastTenth = tenth;
    lastLine = now;
    const here = p.done - (p.resumed ?? 0);
    const rate = here / Math.max(1e-9, (now - phaseStart) / 1000);
    const eta = (p.total - p.done) / rate;
    const resumed = p.resumed ? ` (${p.resumed} from the checkpoint)` : '';
    const speed = here > 0 && p.done < p.total ? `, ${rate >= 1 ? rate.toFixed(1) : rate.toFixed(3)}/s, ETA ${duration(eta)}` : '';
    const line = `enf eval: ${p.phase} ${p.done}/${p.total}${resumed}${speed} (${duration((now - t0) / 1000)} elapsed)`;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
}

async function cmdEval(a: Args, model: EnfModel | null): Promise<number> {
  const dir = a.get('out-dir', 'enf-report');
  if (a.positional[0] === 'merge') {
    const report = await mergeRecords(a.positional.slice(1), a.has('data') ? a.get('data', '') : undefined);
    return writeEvalReport(report, dir);
  }
  if (a.positional.length) throw new InvalidInputError(`enf eval: unexpected argument '${a.positional[0]}' (enf eval merge DIR... merges shards)`);
  const data = a.get('data', '../shared/data/qm9_test.npz');
  const trace = a.get('trace', 'hutchinson');
  if (trace !== 'exact' && trace !== 'hutchinson') throw new InvalidInputError('--trace must be exact or hutchinson');
  const report = await evaluateCheckpointed(model!, {
    dir,
    shard: a.has('shard') ? shardOption(a.get('shard', '')) : undefined,
    samples: a.integer('samples', 1000, 0, 1_000_000),
    seed: a.integer('seed', 0, 0, 2 ** 52),
    data,
    nllMolecules: a.get('nll-molecules', '') === 'all' ? 10_000_000 : a.integer('nll-molecules', 100, 0, 10_000_000),
    exactMolecules: a.integer('exact-molecules', 0, 0, 10_000_000),
    nllSeed: a.integer('nll-seed', 0, 0, 2 ** 31),
    trace,
    probes: a.integer('probes', 1, 1, 1024),
    rtol: a.number('rtol', 1e-4),
    atol: a.number('atol', 1e-4),
    rdkit: a.has('no-smiles') ? null : undefined,
    rdkitNote: a.has('no-smiles') ? 'SMILES skipped (--no-smiles)' : undefined,
    onProgress: evalProgress(),
  });
  return writeEvalReport(report, dir);
}

async function writeEvalReport(report: EvalReport, dir: string): Promise<number> {
  const json = `${dir}/report.json`;
  const html = `${dir}/report.html`;
  await writeReport(report, { json, html });
  const c = report.chemistry;
  const x = report.nllExact;
  const st = report.settings;
  const shard = report.shard ? `shard ${report.shard.index}/${report.shard.count}: ` : '';
  const estimator = st.trace === 'hutchinson' ? `hutchinson, ${st.probes} probe${st.probes > 1 ? 's' : ''}` : 'exact';
  const lines = [
    `${shard}${report.stability.molecules.n} samples${report.nll ? `, ${report.nll.molecules} test NLLs` : ''}${x ? `, ${x.molecules} exact` : ''}`,
    `atom stability      ${formatProportion(report.stability.atoms, 2)}   (paper 85 %${inside(report.stability.atoms, 0.85)})`,
    `molecule stability  ${formatProportion(report.stability.molecules, 2)}   (paper 4.9 %${inside(report.stability.molecules, 0.049)})`,
    `validity            ${c.valid ? formatProportion(c.valid) : c.note}`,
    `uniqueness          ${c.unique ? `${(100 * c.unique.fraction).toFixed(1)} % (${c.unique.count}/${c.unique.of})   (paper 71.8 %)` : 'n/a'}`,
    `test NLL            ${report.nll ? `${report.nll.mean.toFixed(2)} ± ${report.nll.stderr.toFixed(2)} nats (s.e., ${report.nll.source}, ${estimator})   (paper -59.7)` : 'not computed'}`,
  ];
  if (x) {
    const d = x.difference ? `; estimator − exact on them ${x.difference.mean.toFixed(3)} ± ${x.difference.stderr.toFixed(3)}` : '';
    lines.push(`exact-trace NLL     ${x.mean.toFixed(2)} ± ${x.stderr.toFixed(2)} nats (${x.source})${d}`);
  }
  const h = report.histograms;
  lines.push(`JSD distances ${jsdText(h.distances.jsd)}, atom counts ${jsdText(h.atomCounts.jsd)}, atom types ${jsdText(h.atomTypes.jsd)} (nats)`);
  const sessions = report.timing.sessions && report.timing.sessions > 1 ? ` over ${report.timing.sessions} sessions/shards` : '';
  lines.push(`wrote ${json} and ${html}; ${report.timing.totalSeconds.toFixed(1)} s${sessions}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

const inside = (p: Parameters<typeof insideInterval>[0], v: number) => (insideInterval(p, v) ? ': inside the 95 % interval' : ': outside the 95 % interval');
const jsdText = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let model: EnfModel | null = null;
  try {
    if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
      process.stdout.write(`enf-wasm ${version()}\n`);
      return 0;
    }
    if (argv[0] === 'help' && argv[1] && COMMANDS[argv[1]]) argv = [argv[1], '--help'];
    const a = new Args(argv);
    if (!a.command || ['help', '--help', '-h'].includes(a.command)) {
      process.stdout.write(USAGE);
      return a.command ? 0 : 2;
    }
    const spec = COMMANDS[a.command];
    if (!spec) {
      const near = didYouMean(a.command, Object.keys(COMMANDS));
      process.stderr.write(`enf: unknown command '${a.command}'${near ? ` (did you mean '${near}'?)` : ''}\n${USAGE}`);
      return 2;
    }
    if (a.help) {
      process.stdout.write(`usage: ${spec.usage}\n${spec.options.includes('weights') && a.command !== 'bench' ? COMMON_HELP : ''}`);
      return 0;
    }
    const weights = a.get('weights', 'qm9');
    if (a.command === 'bench') return await cmdBench(a, weights);
    if (a.command === 'table1') return await cmdTable1(a);
    if (a.command === 'eval' && a.positional[0] === 'merge') return await cmdEval(a, null);
    const workers = a.has('workers') ? a.integer('workers', 1, 1, 256) : undefined;
    model = await loadModel(weights, { workers });
    const out = output(a.get('out', ''));
    let code = 2;
    if (a.command === 'sample') code = await cmdSample(a, model, out);
    if (a.command === 'trajectory') code = await cmdTrajectory(a, model, out);
    if (a.command === 'score') code = await cmdScore(a, model, out);
    if (a.command === 'verify') code = await cmdVerify(a, model, out);
    if (a.command === 'eval') code = await cmdEval(a, model);
    await out.close();
    return code;
  } catch (e) {
    // A command line the parser rejects is a usage error (2), like an unknown command.
    if (e instanceof InvalidInputError && /^enf \w+: (unknown option|option --|--)/.test(e.message)) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof EnfError) process.stderr.write(`enf: ${e.message}\n`);
    else process.stderr.write(`enf: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    model?.dispose();
  }
}
