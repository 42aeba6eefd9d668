// The model report (issue #6): samples molecules with sizes from p(M), measures atom and molecule
// stability with Wilson intervals, maps stable molecules to canonical SMILES with RDKit, scores the
// QM9 test split (negative log-likelihood, mean ± standard error), and compares histograms of
// interatomic distances, atom counts and atom types with the test data by the Jensen-Shannon
// divergence (the paper's section 5.2). Platform-free: the CLI (eval-node.ts) and the demo share it.
import type { EnfModel } from './api.js';
import { InvalidInputError } from './errors.js';
import { checkKeys } from './options.js';
import { inPool } from './pool.js';
import { smilesOf, type RDKitLike } from './eval-chem.js';
import {
  addToHistogram,
  binEdges,
  categoryCounts,
  jensenShannon,
  meanStderr,
  pairDistances,
  seededSubset,
  wilson,
  type Proportion,
} from './stats.js';
import type { Molecule, StabilityResult } from './types.js';

export const REPORT_SCHEMA = 'enf-eval/1';

/** Histogram settings of the report (fixed, so reports and reference files compare bin by bin). */
export const HISTOGRAMS = {
  /** Interatomic distances: 0.05 Å bins on [0, 10) Å, plus one bin for >= 10 Å. */
  distance: { lo: 0, hi: 10, bins: 200 },
  /** Atom counts 1 .. 29. */
  atomCounts: Array.from({ length: 29 }, (_, i) => i + 1),
  atomTypes: ['H', 'C', 'N', 'O', 'F'] as const,
};

/** The paper's Table 2 and section 5.3 figures for the E-NF on QM9 (10,000 samples). */
export const PAPER = {
  nll: -59.7,
  atomStability: 0.85,
  moleculeStability: 0.049,
  /** 491 stable molecules of 10,000. */
  stableMolecules: 491,
  samples: 10000,
  validity: 1.0,
  /** 352 unique of 491 stable. */
  uniqueness: 0.718,
  novelty: 0.844,
  data: { atomStability: 0.99, moleculeStability: 0.952 },
};

const SYMBOL: Record<number, string> = { 1: 'H', 6: 'C', 7: 'N', 8: 'O', 9: 'F' };

/** A reference (test-split) molecule: symbols or atomic numbers, flat positions in Å. */
export interface TestMolecule {
  elements: ReadonlyArray<string | number>;
  positions: ArrayLike<number>;
}

/** Histograms of one set of molecules, on the report's bins. */
export interface HistogramCounts {
  /** HISTOGRAMS.distance.bins + 1 counts (the last: distances >= hi). */
  distances: number[];
  /** Counts of molecules with 1 .. 29 atoms. */
  atomCounts: number[];
  /** Counts of H, C, N, O, F atoms. */
  atomTypes: number[];
}

/** Statistics of the reference data set (the QM9 test split), computed once and reusable. */
export interface ReferenceStats {
  source: string;
  molecules: number;
  histograms: HistogramCounts;
  /** The data's own stability under the same bond rule (the paper: 99 % and 95.2 %). */
  stability: { atoms: Proportion; molecules: Proportion } | null;
}

export interface EvalProgress {
  /** 'smiles' is no longer a phase of its own (each stable sample is read as it arrives); kept for old callers. */
  phase: 'reference' | 'sample' | 'smiles' | 'nll' | 'exact' | 'done';
  /** Items of this phase finished (of this shard's, counting those resumed from a checkpoint). */
  done: number;
  total: number;
  /** Of `done`, how many came from the checkpoint given as `resume`. */
  resumed?: number;
}

/** Part `index` (0-based) of `count` equal parts of every list of work (samples, NLL, exact NLL). */
export interface EvalShard {
  index: number;
  count: number;
}

/** One finished unit of work: what a checkpoint keeps and what shards merge (see `reportFromRecords`). */
export type EvalRecord = SampleRecord | NllRecord;

/** Sample k (seed = settings.seed + k), with what the report needs of it. */
export interface SampleRecord {
  kind: 'sample';
  k: number;
  seed: number;
  elements: string[];
  /** Flat positions in Å (the sample's float32 values). */
  positions: number[];
  formula: string;
  stableAtoms: number;
  stable: boolean;
  nfe: number;
  /** For a stable sample read by RDKit: its canonical SMILES (null: RDKit rejected it) and fragments. */
  smiles?: string | null;
  fragments?: number;
}

/** The k-th test molecule of the NLL subset (test index `index`): −log p in nats. */
export interface NllRecord {
  kind: 'nll' | 'exact';
  k: number;
  index: number;
  value: number;
  nfe: number;
}

export interface EvaluateOptions {
  /** Molecules to sample (default 1000); sizes come from p(M). */
  samples?: number;
  /** Molecule k uses seed + k (default 0). */
  seed?: number;
  /** Solver tolerances for sampling and scoring (default 1e-4, the authors'). */
  rtol?: number;
  atol?: number;
  /** Test molecules: the NLL subset is drawn from them, and the reference histograms unless `reference` is given. */
  testMolecules?: readonly TestMolecule[];
  /** Precomputed reference statistics (e.g. the demo's, made at build time by `referenceStats`). */
  reference?: ReferenceStats;
  /** Test molecules to score (default 100; 0 skips the NLL); a seeded subset when fewer than there are. */
  nllMolecules?: number;
  /** Seed of the subset and of the scores' noise (default 0). */
  nllSeed?: number;
  /**
   * Of the NLL molecules, how many (a seeded subset) to score with the exact trace as well (default
   * 0), beside the estimator's figure; each runs split over the whole pool.
   */
  exactMolecules?: number;
  /** Run one part of the work (shards run anywhere, then `reportFromRecords` merges them). */
  shard?: EvalShard;
  /**
   * A checkpoint of an interrupted run: its settings (they must equal this run's) and finished
   * records, whose work is not redone.
   */
  resume?: { settings: EvalSettings; records: readonly EvalRecord[] };
  /** Called once the run's settings are known, before any work (to start a checkpoint file). */
  onStart?: (settings: EvalSettings) => void;
  /** Called with each finished record (for a checkpoint file). */
  onRecord?: (r: EvalRecord) => void;
  /** Divergence estimator for the NLL (default 'hutchinson', as the authors evaluated). */
  trace?: 'exact' | 'hutchinson';
  /** Hutchinson probes per solve (default 1). */
  probes?: number;
  /** RDKit MinimalLib (or a function that loads it); null or absent: no SMILES section. */
  rdkit?: RDKitLike | (() => Promise<RDKitLike>) | null;
  /** Why there is no RDKit (shown in the report when `rdkit` is null). */
  rdkitNote?: string;
  /** Keep the per-sample list in the report (default true). */
  keepSamples?: boolean;
  /** Jobs in flight at once (default 2 × the model's workers). */
  concurrency?: number;
  /** Where the numbers are computed, for the report (e.g. 'wasm-node', 'browser'). */
  runtime?: string;
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
}

/** One sampled molecule in the report. */
export interface SampleSummary {
  seed: number;
  atoms: number;
  formula: string;
  stableAtoms: number;
  stable: boolean;
  nfe: number;
  smiles?: string | null;
}

/** A histogram of samples against the data, with their Jensen-Shannon divergence (nats). */
export interface HistogramComparison {
  /** Bin edges (continuous; the overflow bin has no upper edge) or category labels. */
  edges?: number[];
  categories?: string[];
  samples: number[];
  data: number[] | null;
  jsd: number | null;
}

/** What fixes a report's numbers: runs (shards, checkpoints) with equal settings combine. */
export interface EvalSettings {
  samples: number;
  seed: number;
  rtol: number;
  atol: number;
  /** NLL molecules (after capping at the test split's size). */
  nllMolecules: number;
  nllSeed: number;
  trace: 'exact' | 'hutchinson';
  probes: number;
  exactMolecules: number;
  /** Test molecules the subsets are drawn from (0 without test data). */
  testMolecules: number;
  /** SHA-256 of the weights (null when unknown). */
  model: string | null;
  /** RDKit's version, or null without SMILES. */
  rdkit: string | null;
}

export interface EvalReport {
  schema: typeof REPORT_SCHEMA;
  created: string;
  runtime: string;
  model: { sha256: string | null; workers: number };
  settings: EvalSettings & { interval: string; jsd: string };
  /** Which part of the work this report covers (null: all of it, run at once or merged). */
  shard: EvalShard | null;
  /** This run's wall time by phase (seconds); totalSeconds sums the sessions of a resumed run, or a merge's shards. */
  timing: {
    sampleSeconds: number;
    smilesSeconds: number;
    nllSeconds: number;
    exactSeconds: number;
    totalSeconds: number;
    /** Sessions (a resumed run) or shards (a merge) whose time totalSeconds sums. */
    sessions?: number;
  };
  stability: { atoms: Proportion; molecules: Proportion };
  chemistry: {
    rdkit: string | null;
    note: string | null;
    stable: number;
    valid: Proportion | null;
    connected: Proportion | null;
    unique: { count: number; of: number; fraction: number } | null;
    top: Array<{ smiles: string; count: number }>;
  };
  nll: { molecules: number; mean: number; stderr: number; sd: number; source: string; values: number[] } | null;
  /**
   * The exact-trace NLL of a seeded subset of the NLL molecules (same dequantization noise as their
   * estimator scores), with the mean difference estimator − exact on the same molecules.
   */
  nllExact: {
    molecules: number;
    mean: number;
    stderr: number;
    sd: number;
    source: string;
    values: number[];
    /** Mean and standard error of (estimator − exact) over the subset: the estimator's bias, ~0. */
    difference: { mean: number; stderr: number } | null;
  } | null;
  data: { source: string; molecules: number; stability: ReferenceStats['stability'] } | null;
  histograms: { distances: HistogramComparison; atomCounts: HistogramComparison; atomTypes: HistogramComparison };
  paper: typeof PAPER;
  samples: SampleSummary[];
}

function symbols(elements: ReadonlyArray<string | number>): string[] {
  return Array.from(elements, (e) => (typeof e === 'number' ? (SYMBOL[e] ?? String(e)) : e));
}

function emptyCounts(): HistogramCounts {
  return {
    distances: new Array<number>(HISTOGRAMS.distance.bins + 1).fill(0),
    atomCounts: new Array<number>(HISTOGRAMS.atomCounts.length).fill(0),
    atomTypes: new Array<number>(HISTOGRAMS.atomTypes.length).fill(0),
  };
}

/** Adds one molecule to histogram counts. */
export function addMolecule(h: HistogramCounts, elements: readonly string[], positions: ArrayLike<number>): void {
  const { lo, hi } = HISTOGRAMS.distance;
  addToHistogram(h.distances, pairDistances(positions), lo, hi);
  const size = HISTOGRAMS.atomCounts.indexOf(elements.length);
  if (size >= 0) h.atomCounts[size] += 1;
  const types = categoryCounts(elements, HISTOGRAMS.atomTypes as readonly string[]);
  for (let i = 0; i < types.length; ++i) h.atomTypes[i] += types[i];
}

/**
 * Histograms (and, given the core's `stability` helper, the atom and molecule stability) of a set
 * of reference molecules, e.g. the QM9 test split.
 */
export function referenceStats(
  molecules: readonly TestMolecule[],
  source: string,
  stability?: (m: { elements: string[]; positions: ArrayLike<number> }) => StabilityResult,
): ReferenceStats {
  const h = emptyCounts();
  let atoms = 0;
  let stableAtoms = 0;
  let stableMolecules = 0;
  for (const m of molecules) {
    const elements = symbols(m.elements);
    addMolecule(h, elements, m.positions);
    if (stability) {
      const s = stability({ elements, positions: m.positions });
      atoms += elements.length;
      stableAtoms += s.stableAtoms;
      if (s.stable) stableMolecules += 1;
    }
  }
  return {
    source,
    molecules: molecules.length,
    histograms: h,
    stability: stability ? { atoms: wilson(stableAtoms, atoms), molecules: wilson(stableMolecules, molecules.length) } : null,
  };
}

function integerOption(name: string, v: unknown, lo: number, hi: number, def: number): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new InvalidInputError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  return v;
}

function compare(samples: number[], reference: number[] | null, axis: { edges?: number[]; categories?: string[] }): HistogramComparison {
  return { ...axis, samples, data: reference, jsd: reference ? nullIfNaN(jensenShannon(samples, reference)) : null };
}

function nullIfNaN(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Positions [lo, hi) of a shard's part of n items (contiguous, sizes differing by at most one). */
export function shardRange(n: number, shard: EvalShard | null | undefined): [number, number] {
  if (!shard) return [0, n];
  return [Math.floor((n * shard.index) / shard.count), Math.floor((n * (shard.index + 1)) / shard.count)];
}

/** Checks a shard given by a caller (`{ index, count }` with 0 <= index < count). */
export function checkShard(shard: unknown): EvalShard | null {
  if (shard === undefined || shard === null) return null;
  const s = shard as EvalShard;
  if (typeof s !== 'object' || !Number.isInteger(s.count) || !Number.isInteger(s.index) || s.count < 1 || s.count > 100_000 || s.index < 0 || s.index >= s.count)
    throw new InvalidInputError(`shard must be { index, count } with 0 <= index < count <= 100000, got ${JSON.stringify(shard)}`);
  return { index: s.index, count: s.count };
}

/** The test molecules the NLL scores (positions k = 0 .. nllMolecules − 1) and the exact subset among them. */
export function nllSubsets(settings: EvalSettings): { nll: number[]; exact: number[] } {
  const nll = seededSubset(settings.testMolecules, settings.nllMolecules, settings.nllSeed);
  // The exact subset: a seeded choice of NLL positions (another seed), scored on the same molecules.
  const positions = seededSubset(nll.length, Math.min(settings.exactMolecules, nll.length), settings.nllSeed + 1);
  return { nll, exact: positions.map((k) => nll[k]!) };
}

/** Samples, checks and scores the model and compares it with the test data: the report's numbers. */
const EVALUATE_KEYS = ['samples', 'seed', 'rtol', 'atol', 'testMolecules', 'reference', 'nllMolecules', 'nllSeed', 'trace', 'probes',
  'exactMolecules', 'shard', 'resume', 'onStart', 'onRecord', 'rdkit', 'rdkitNote', 'keepSamples', 'concurrency', 'runtime', 'onProgress', 'signal', 'data'] as const;

export async function evaluate(model: EnfModel, options: EvaluateOptions = {}): Promise<EvalReport> {
  const o = options ?? {};
  checkKeys('evaluate', o, EVALUATE_KEYS);
  const samples = integerOption('samples', o.samples, 0, 1_000_000, 1000);
  const seed = integerOption('seed', o.seed, 0, 2 ** 53 - 1_000_000, 0);
  const nllSeed = integerOption('nllSeed', o.nllSeed, 0, 2 ** 31, 0);
  const probes = integerOption('probes', o.probes, 1, 1024, 1);
  const trace = o.trace ?? 'hutchinson';
  if (trace !== 'exact' && trace !== 'hutchinson') throw new InvalidInputError(`trace must be 'exact' or 'hutchinson', got '${String(trace)}'`);
  const rtol = o.rtol ?? 1e-4;
  const atol = o.atol ?? 1e-4;
  const tests = o.testMolecules ?? [];
  const nllWanted = integerOption('nllMolecules', o.nllMolecules, 0, 10_000_000, 100);
  const exactWanted = integerOption('exactMolecules', o.exactMolecules, 0, 10_000_000, 0);
  const limit = integerOption('concurrency', o.concurrency, 1, 4096, Math.max(2, 2 * model.workers));
  const shard = checkShard(o.shard);
  if (samples === 0 && nllWanted === 0) throw new InvalidInputError('evaluate: nothing to do (samples and nllMolecules are both 0)');
  const progress = (phase: EvalProgress['phase'], done: number, total: number, resumed = 0) => {
    try {
      o.onProgress?.({ phase, done, total, resumed });
    } catch {
      // a progress callback must not break the evaluation
    }
  };
  const record = (r: EvalRecord) => {
    try {
      o.onRecord?.(r);
    } catch {
      // a failing checkpoint writer is the caller's to report; the run goes on
    }
  };
  const t0 = now();

  // RDKit first: its version is part of the settings (SMILES are read as samples arrive).
  let rdkit: RDKitLike | null = null;
  let note: string | null = o.rdkitNote ?? null;
  if (typeof o.rdkit === 'function') {
    try {
      rdkit = await o.rdkit();
    } catch (e) {
      note = `RDKit could not be loaded: ${(e as Error).message ?? String(e)}`;
    }
  } else if (o.rdkit) rdkit = o.rdkit;
  if (!rdkit && !note) note = 'RDKit was not given: no SMILES';

  const nllCount = Math.min(nllWanted, tests.length);
  const settings: EvalSettings = {
    samples,
    seed,
    rtol,
    atol,
    nllMolecules: nllCount,
    nllSeed,
    trace,
    probes,
    exactMolecules: Math.min(exactWanted, nllCount),
    testMolecules: tests.length,
    model: model.weights?.sha256 ?? null,
    rdkit: rdkit ? rdkit.version() : null,
  };

  // Reference histograms (from the given statistics or the test molecules).
  let reference: ReferenceStats | null = o.reference ?? null;
  if (!reference && tests.length) {
    progress('reference', 0, tests.length);
    reference = referenceStats(tests, 'test molecules');
    progress('reference', tests.length, tests.length);
  }

  // Work already done (a checkpoint), by kind and position.
  const done = { sample: new Map<number, EvalRecord>(), nll: new Map<number, EvalRecord>(), exact: new Map<number, EvalRecord>() };
  if (o.resume) {
    const differ = settingsDiffer(o.resume.settings, settings);
    if (differ.length)
      throw new InvalidInputError(`the checkpoint was made with other settings (${differ.join('; ')}): use another output directory, or the same settings`);
    for (const r of o.resume.records) done[r.kind].set(r.k, r);
  }
  o.onStart?.(settings);

  // 1. Samples, sizes from p(M), spread over the pool; each stable one read by RDKit as it arrives.
  const [s0, s1] = shardRange(samples, shard);
  const sampleTodo = range(s0, s1).filter((k) => !done.sample.has(k));
  const sampleTotal = s1 - s0;
  let sampleDone = sampleTotal - sampleTodo.length;
  const sampleResumed = sampleDone;
  let smilesMs = 0;
  progress('sample', sampleDone, sampleTotal, sampleResumed);
  await inPool(sampleTodo.length, limit, o.signal, async (i, signal) => {
    const k = sampleTodo[i]!;
    const m = (await model.sample({ count: 1, seed: seed + k, rtol, atol, signal }))[0] as Molecule;
    const r: SampleRecord = {
      kind: 'sample',
      k,
      seed: seed + k,
      elements: [...m.elements],
      positions: Array.from(m.positions),
      formula: m.formula,
      stableAtoms: m.stableAtoms,
      stable: m.stable,
      nfe: m.nfe,
    };
    if (rdkit && m.stable) {
      const ts = now();
      const g = smilesOf(rdkit, m);
      smilesMs += now() - ts;
      r.smiles = g.valid ? g.smiles : null;
      r.fragments = g.fragments;
    }
    done.sample.set(k, r);
    record(r);
    progress('sample', ++sampleDone, sampleTotal, sampleResumed);
  });
  const t1 = now();

  // 2. NLL over a seeded subset of the test molecules (the estimator), 3. the exact subset.
  const subsets = nllSubsets(settings);
  const scorePhase = async (kind: 'nll' | 'exact', picked: number[]) => {
    const [a, b] = shardRange(picked.length, shard);
    const todo = range(a, b).filter((k) => !done[kind].has(k));
    const total = b - a;
    let count = total - todo.length;
    const resumed = count;
    progress(kind, count, total, resumed);
    await inPool(todo.length, kind === 'exact' ? 1 : limit, o.signal, async (i, signal) => {
      const k = todo[i]!;
      const index = picked[k]!;
      const m = tests[index]!;
      const exact = kind === 'exact' || trace === 'exact';
      const r = await model.score(
        { elements: m.elements, positions: m.positions },
        exact ? { trace: 'exact', seed: nllSeed + index, rtol, atol, signal, split: 'pool' } : { trace, probes, seed: nllSeed + index, rtol, atol, signal },
      );
      const rec: NllRecord = { kind, k, index, value: -r.logLikelihood, nfe: r.nfe };
      done[kind].set(k, rec);
      record(rec);
      progress(kind, ++count, total, resumed);
    });
  };
  if (nllCount > 0) await scorePhase('nll', subsets.nll);
  const t2 = now();
  if (settings.exactMolecules > 0) await scorePhase('exact', subsets.exact);
  const t3 = now();
  progress('done', 1, 1);

  const report = reportFromRecords(settings, [...done.sample.values(), ...done.nll.values(), ...done.exact.values()], {
    reference,
    shard,
    runtime: o.runtime ?? 'wasm',
    workers: model.workers,
    rdkitNote: note,
    keepSamples: o.keepSamples !== false,
  });
  report.timing = {
    sampleSeconds: (t1 - t0) / 1000,
    smilesSeconds: smilesMs / 1000,
    nllSeconds: (t2 - t1) / 1000,
    exactSeconds: (t3 - t2) / 1000,
    totalSeconds: (t3 - t0) / 1000,
  };
  return report;
}

/** The settings on which two runs differ ("key: a vs b"), none when they combine. */
export function settingsDiffer(a: EvalSettings, b: EvalSettings): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof EvalSettings>);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`);
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}

export interface FromRecordsOptions {
  reference: ReferenceStats | null;
  /** The part the records cover (null: all). */
  shard: EvalShard | null;
  runtime: string;
  workers: number;
  /** Why there are no SMILES (when settings.rdkit is null). */
  rdkitNote?: string | null;
  keepSamples?: boolean;
}

/**
 * The report of a set of records: one run's, a resumed run's or the union of shards'. It depends
 * on the records only through their positions, so shards merged give the unsharded run's figures
 * to the last bit. Records must be complete for the part `shard` names (all, when null).
 */
export function reportFromRecords(settings: EvalSettings, records: Iterable<EvalRecord>, o: FromRecordsOptions): EvalReport {
  const by = { sample: new Map<number, SampleRecord>(), nll: new Map<number, NllRecord>(), exact: new Map<number, NllRecord>() };
  for (const r of records) {
    if (r.kind === 'sample') by.sample.set(r.k, r);
    else by[r.kind].set(r.k, r);
  }
  const want = (kind: 'sample' | 'nll' | 'exact', n: number) => {
    const [a, b] = shardRange(n, o.shard);
    const missing = range(a, b).filter((k) => !by[kind].has(k));
    if (missing.length)
      throw new InvalidInputError(`the records lack ${missing.length} ${kind} result(s) (first: position ${missing[0]}); resume the run or add the missing shard`);
    return range(a, b);
  };
  const sampleKs = want('sample', settings.samples);
  const nllKs = want('nll', settings.nllMolecules);
  const exactKs = want('exact', settings.exactMolecules);

  const h = emptyCounts();
  let atoms = 0;
  let stableAtoms = 0;
  let stableMolecules = 0;
  const counts = new Map<string, number>();
  let stableRead = 0;
  let valid = 0;
  let connected = 0;
  const summaries: SampleSummary[] = [];
  for (const k of sampleKs) {
    const m = by.sample.get(k)!;
    addMolecule(h, m.elements, m.positions);
    atoms += m.elements.length;
    stableAtoms += m.stableAtoms;
    if (m.stable) stableMolecules += 1;
    const summary: SampleSummary = { seed: m.seed, atoms: m.elements.length, formula: m.formula, stableAtoms: m.stableAtoms, stable: m.stable, nfe: m.nfe };
    if (settings.rdkit && m.stable) {
      summary.smiles = m.smiles ?? null;
      stableRead += 1;
      if (m.smiles) {
        valid += 1;
        if (m.fragments === 1) connected += 1;
        counts.set(m.smiles, (counts.get(m.smiles) ?? 0) + 1);
      }
    }
    summaries.push(summary);
  }
  let chemistry: EvalReport['chemistry'] = {
    rdkit: null,
    note: o.rdkitNote ?? 'RDKit was not given: no SMILES',
    stable: stableMolecules,
    valid: null,
    connected: null,
    unique: null,
    top: [],
  };
  if (settings.rdkit) {
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([smiles, count]) => ({ smiles, count }));
    chemistry = {
      rdkit: settings.rdkit,
      note: null,
      stable: stableMolecules,
      valid: wilson(valid, stableRead),
      connected: wilson(connected, stableRead),
      unique: { count: counts.size, of: valid, fraction: valid ? counts.size / valid : NaN },
      top: top.slice(0, 25),
    };
  }

  const partOf = (n: number, of: number, what: string) =>
    n === settings.testMolecules ? `all ${of} test molecules` : `${n} of ${settings.testMolecules} test molecules (${what}, seed ${settings.nllSeed})`;
  let nll: EvalReport['nll'] = null;
  if (nllKs.length > 0) {
    const values = nllKs.map((k) => by.nll.get(k)!.value);
    const s = meanStderr(values);
    nll = { molecules: values.length, mean: s.mean, stderr: s.stderr, sd: s.sd, source: sourceText(settings.nllMolecules, nllKs.length, partOf(settings.nllMolecules, settings.testMolecules, 'seeded subset')), values };
  }
  let nllExact: EvalReport['nllExact'] = null;
  if (exactKs.length > 0) {
    const values = exactKs.map((k) => by.exact.get(k)!.value);
    const s = meanStderr(values);
    // The estimator's score of the same molecules, where this run has it.
    const nllAt = new Map<number, number>();
    for (const r of by.nll.values()) nllAt.set(r.index, r.value);
    const diffs: number[] = [];
    for (const k of exactKs) {
      const r = by.exact.get(k)!;
      const est = nllAt.get(r.index);
      if (est !== undefined) diffs.push(est - r.value);
    }
    const d = diffs.length === exactKs.length ? meanStderr(diffs) : null;
    nllExact = {
      molecules: values.length,
      mean: s.mean,
      stderr: s.stderr,
      sd: s.sd,
      source: sourceText(settings.exactMolecules, exactKs.length, `${settings.exactMolecules} of the ${settings.nllMolecules} NLL molecules, seeded subset (seed ${settings.nllSeed + 1})`),
      values,
      difference: d ? { mean: d.mean, stderr: d.stderr } : null,
    };
  }

  const ref = o.reference?.histograms ?? null;
  const { lo, hi, bins } = HISTOGRAMS.distance;
  return {
    schema: REPORT_SCHEMA,
    created: new Date().toISOString(),
    runtime: o.runtime,
    model: { sha256: settings.model, workers: o.workers },
    settings: {
      ...settings,
      interval: 'Wilson score interval, 95 %',
      jsd: 'Jensen-Shannon divergence of the normalised histograms, natural log (nats, at most ln 2)',
    },
    shard: o.shard,
    timing: { sampleSeconds: 0, smilesSeconds: 0, nllSeconds: 0, exactSeconds: 0, totalSeconds: 0 },
    stability: { atoms: wilson(stableAtoms, atoms), molecules: wilson(stableMolecules, sampleKs.length) },
    chemistry,
    nll,
    nllExact,
    data: o.reference ? { source: o.reference.source, molecules: o.reference.molecules, stability: o.reference.stability } : null,
    histograms: {
      distances: compare(h.distances, ref?.distances ?? null, { edges: binEdges(lo, hi, bins) }),
      atomCounts: compare(h.atomCounts, ref?.atomCounts ?? null, { categories: HISTOGRAMS.atomCounts.map(String) }),
      atomTypes: compare(h.atomTypes, ref?.atomTypes ?? null, { categories: [...HISTOGRAMS.atomTypes] }),
    },
    paper: PAPER,
    samples: o.keepSamples === false ? [] : summaries,
  };
}

function sourceText(all: number, here: number, whole: string): string {
  return here === all ? whole : `${here} of ${whole} (one shard)`;
}
