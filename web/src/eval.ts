// The model report (issue #6): samples molecules with sizes from p(M), measures atom and molecule
// stability with Wilson intervals, maps stable molecules to canonical SMILES with RDKit, scores the
// QM9 test split (negative log-likelihood, mean ± standard error), and compares histograms of
// interatomic distances, atom counts and atom types with the test data by the Jensen-Shannon
// divergence (the paper's section 5.2). Platform-free: the CLI (eval-node.ts) and the demo share it.
import type { EnfModel } from './api.js';
import { AbortError, InvalidInputError } from './errors.js';
import { checkKeys } from './options.js';
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
  phase: 'reference' | 'sample' | 'smiles' | 'nll' | 'done';
  done: number;
  total: number;
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

export interface EvalReport {
  schema: typeof REPORT_SCHEMA;
  created: string;
  runtime: string;
  model: { sha256: string | null; workers: number };
  settings: {
    samples: number;
    seed: number;
    rtol: number;
    atol: number;
    nllMolecules: number;
    nllSeed: number;
    trace: 'exact' | 'hutchinson';
    probes: number;
    interval: string;
    jsd: string;
  };
  timing: { sampleSeconds: number; smilesSeconds: number; nllSeconds: number; totalSeconds: number };
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

/** Runs `fn` over 0 .. n - 1 with at most `limit` calls in flight; on failure the rest are cancelled. */
async function inPool<R>(
  n: number,
  limit: number,
  signal: AbortSignal | undefined,
  fn: (i: number, signal: AbortSignal) => Promise<R>,
  onDone: (done: number) => void,
): Promise<R[]> {
  const inner = new AbortController();
  const forward = () => inner.abort(signal?.reason);
  if (signal?.aborted) throw new AbortError();
  signal?.addEventListener('abort', forward, { once: true });
  const out = new Array<R>(n);
  let next = 0;
  let done = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (next < n && !failure) {
      const i = next++;
      try {
        out[i] = await fn(i, inner.signal);
        onDone(++done);
      } catch (e) {
        if (!failure) failure = e;
        inner.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, lane));
  } finally {
    signal?.removeEventListener('abort', forward);
  }
  if (failure) throw failure;
  return out;
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

/** Samples, checks and scores the model and compares it with the test data: the report's numbers. */
const EVALUATE_KEYS = ['samples', 'seed', 'rtol', 'atol', 'testMolecules', 'reference', 'nllMolecules', 'nllSeed', 'trace', 'probes',
  'rdkit', 'rdkitNote', 'keepSamples', 'concurrency', 'runtime', 'onProgress', 'signal', 'data'] as const;

export async function evaluate(model: EnfModel, options: EvaluateOptions = {}): Promise<EvalReport> {
  const o = options ?? {};
  checkKeys('evaluate', o, EVALUATE_KEYS);
  const samples = integerOption('samples', o.samples, 1, 1_000_000, 1000);
  const seed = integerOption('seed', o.seed, 0, 2 ** 53 - 1_000_000, 0);
  const nllSeed = integerOption('nllSeed', o.nllSeed, 0, 2 ** 31, 0);
  const probes = integerOption('probes', o.probes, 1, 1024, 1);
  const trace = o.trace ?? 'hutchinson';
  if (trace !== 'exact' && trace !== 'hutchinson') throw new InvalidInputError(`trace must be 'exact' or 'hutchinson', got '${String(trace)}'`);
  const rtol = o.rtol ?? 1e-4;
  const atol = o.atol ?? 1e-4;
  const tests = o.testMolecules ?? [];
  const nllWanted = integerOption('nllMolecules', o.nllMolecules, 0, 10_000_000, 100);
  const limit = integerOption('concurrency', o.concurrency, 1, 4096, Math.max(2, 2 * model.workers));
  const progress = (phase: EvalProgress['phase'], done: number, total: number) => {
    try {
      o.onProgress?.({ phase, done, total });
    } catch {
      // a progress callback must not break the evaluation
    }
  };
  const t0 = now();

  // Reference histograms (from the given statistics or the test molecules).
  let reference: ReferenceStats | null = o.reference ?? null;
  if (!reference && tests.length) {
    progress('reference', 0, tests.length);
    reference = referenceStats(tests, 'test molecules');
    progress('reference', tests.length, tests.length);
  }

  // 1. Samples, sizes from p(M), spread over the pool.
  progress('sample', 0, samples);
  const molecules = await inPool(
    samples,
    limit,
    o.signal,
    async (k, signal) => (await model.sample({ count: 1, seed: seed + k, rtol, atol, signal }))[0] as Molecule,
    (d) => progress('sample', d, samples),
  );
  const t1 = now();
  const h = emptyCounts();
  let atoms = 0;
  let stableAtoms = 0;
  let stableMolecules = 0;
  for (const m of molecules) {
    addMolecule(h, m.elements, m.positions);
    atoms += m.elements.length;
    stableAtoms += m.stableAtoms;
    if (m.stable) stableMolecules += 1;
  }
  const summaries: SampleSummary[] = molecules.map((m) => ({
    seed: m.seed,
    atoms: m.elements.length,
    formula: m.formula,
    stableAtoms: m.stableAtoms,
    stable: m.stable,
    nfe: m.nfe,
  }));

  // 2. Stable molecules as graphs -> RDKit: validity, canonical SMILES, uniqueness.
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
  const stableList = molecules.map((m, i) => [m, i] as const).filter(([m]) => m.stable);
  let chemistry: EvalReport['chemistry'] = { rdkit: null, note, stable: stableMolecules, valid: null, connected: null, unique: null, top: [] };
  if (rdkit) {
    progress('smiles', 0, stableList.length);
    const counts = new Map<string, number>();
    let valid = 0;
    let connected = 0;
    for (const [n, [m, i]] of stableList.entries()) {
      const r = smilesOf(rdkit, m);
      summaries[i].smiles = r.smiles;
      if (r.valid && r.smiles) {
        valid += 1;
        if (r.fragments === 1) connected += 1;
        counts.set(r.smiles, (counts.get(r.smiles) ?? 0) + 1);
      }
      if ((n + 1) % 50 === 0) progress('smiles', n + 1, stableList.length);
    }
    progress('smiles', stableList.length, stableList.length);
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([smiles, count]) => ({ smiles, count }));
    chemistry = {
      rdkit: rdkit.version(),
      note: null,
      stable: stableMolecules,
      valid: wilson(valid, stableList.length),
      connected: wilson(connected, stableList.length),
      unique: { count: counts.size, of: valid, fraction: valid ? counts.size / valid : NaN },
      top: top.slice(0, 25),
    };
  }
  const t2 = now();

  // 3. NLL over a seeded subset of the test molecules.
  let nll: EvalReport['nll'] = null;
  const nllCount = Math.min(nllWanted, tests.length);
  if (nllCount > 0) {
    const picked = seededSubset(tests.length, nllCount, nllSeed);
    progress('nll', 0, nllCount);
    const values = await inPool(
      nllCount,
      limit,
      o.signal,
      async (k, signal) => {
        const idx = picked[k];
        const m = tests[idx];
        const r = await model.score({ elements: m.elements, positions: m.positions }, { trace, probes, seed: nllSeed + idx, rtol, atol, signal });
        return -r.logLikelihood;
      },
      (d) => progress('nll', d, nllCount),
    );
    const s = meanStderr(values);
    nll = {
      molecules: nllCount,
      mean: s.mean,
      stderr: s.stderr,
      sd: s.sd,
      source: nllCount === tests.length ? `all ${tests.length} test molecules` : `${nllCount} of ${tests.length} test molecules (seeded subset, seed ${nllSeed})`,
      values,
    };
  }
  const t3 = now();
  progress('done', 1, 1);

  const ref = reference?.histograms ?? null;
  const { lo, hi, bins } = HISTOGRAMS.distance;
  return {
    schema: REPORT_SCHEMA,
    created: new Date().toISOString(),
    runtime: o.runtime ?? 'wasm',
    model: { sha256: model.weights?.sha256 ?? null, workers: model.workers },
    settings: {
      samples,
      seed,
      rtol,
      atol,
      nllMolecules: nllCount,
      nllSeed,
      trace,
      probes,
      interval: 'Wilson score interval, 95 %',
      jsd: 'Jensen-Shannon divergence of the normalised histograms, natural log (nats, at most ln 2)',
    },
    timing: { sampleSeconds: (t1 - t0) / 1000, smilesSeconds: (t2 - t1) / 1000, nllSeconds: (t3 - t2) / 1000, totalSeconds: (t3 - t0) / 1000 },
    stability: { atoms: wilson(stableAtoms, atoms), molecules: wilson(stableMolecules, samples) },
    chemistry,
    nll,
    data: reference ? { source: reference.source, molecules: reference.molecules, stability: reference.stability } : null,
    histograms: {
      distances: compare(h.distances, ref?.distances ?? null, { edges: binEdges(lo, hi, bins) }),
      atomCounts: compare(h.atomCounts, ref?.atomCounts ?? null, { categories: HISTOGRAMS.atomCounts.map(String) }),
      atomTypes: compare(h.atomTypes, ref?.atomTypes ?? null, { categories: [...HISTOGRAMS.atomTypes] }),
    },
    paper: PAPER,
    samples: o.keepSamples === false ? [] : summaries,
  };
}
