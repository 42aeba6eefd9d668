// Statistics for the model report (no platform code, so the CLI and the demo share it): binomial
// confidence intervals, mean and standard error, histograms, the Jensen-Shannon divergence, and a
// seeded subset of indices.

/** A proportion k / n with its 95 % Wilson score interval. */
export interface Proportion {
  k: number;
  n: number;
  /** k / n (NaN when n = 0). */
  p: number;
  low: number;
  high: number;
}

/** The standard normal quantile for a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval for k successes in n trials. Unlike the normal (Wald) interval it stays
 * inside [0, 1] and keeps close to its nominal coverage for proportions near 0, like the paper's
 * 4.9 % molecule stability.
 */
export function wilson(k: number, n: number, z = Z95): Proportion {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n)
    throw new RangeError(`wilson: need integers 0 <= k <= n, got k = ${k}, n = ${n}`);
  if (n === 0) return { k, n, p: NaN, low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = ((z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n)));
  // At k = 0 or k = n the bound is exactly 0 or 1; rounding must not move it off.
  return { k, n, p, low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) };
}

/** Mean, sample standard deviation and standard error of the mean. */
export function meanStderr(values: ArrayLike<number>): { n: number; mean: number; sd: number; stderr: number } {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, stderr: NaN };
  let mean = 0;
  for (let i = 0; i < n; ++i) mean += (values[i] - mean) / (i + 1);
  let ss = 0;
  for (let i = 0; i < n; ++i) ss += (values[i] - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : NaN;
  return { n, mean, sd, stderr: n > 1 ? sd / Math.sqrt(n) : NaN };
}

/**
 * Counts on `bins` equal bins over [lo, hi); values at or beyond hi land in an extra last bin (so
 * `counts` has bins + 1 entries and `edges` bins + 1: the overflow bin has no upper edge).
 */
export interface BinnedCounts {
  edges: number[];
  counts: number[];
}

export function binEdges(lo: number, hi: number, bins: number): number[] {
  if (!(hi > lo) || !Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: need lo < hi and bins >= 1`);
  return Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
}

/** Adds `values` to `counts` (bins + 1 entries, the last one for values >= hi; values < lo go to bin 0). */
export function addToHistogram(counts: number[], values: ArrayLike<number>, lo: number, hi: number): void {
  const bins = counts.length - 1;
  const scale = bins / (hi - lo);
  for (let i = 0; i < values.length; ++i) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const b = v >= hi ? bins : Math.max(0, Math.min(bins - 1, Math.floor((v - lo) * scale)));
    counts[b] += 1;
  }
}

export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): BinnedCounts {
  const counts = new Array<number>(bins + 1).fill(0);
  addToHistogram(counts, values, lo, hi);
  return { edges: binEdges(lo, hi, bins), counts };
}

/** Counts of each category (values not among `categories` are ignored). */
export function categoryCounts<T>(values: Iterable<T>, categories: readonly T[]): number[] {
  const index = new Map(categories.map((c, i) => [c, i]));
  const counts = new Array<number>(categories.length).fill(0);
  for (const v of values) {
    const i = index.get(v);
    if (i !== undefined) counts[i] += 1;
  }
  return counts;
}

/** counts / sum(counts); all zeros for an empty histogram. */
export function normalize(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; ++i) total += counts[i];
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

/**
 * Jensen-Shannon divergence between two histograms on the same bins, in nats (natural log; at most
 * ln 2 = 0.693): JS(P || Q) = ½ KL(P || M) + ½ KL(Q || M) with M = ½ (P + Q). Both are normalised
 * first; empty bins contribute 0 (0 · log 0 = 0). NaN when either histogram is empty.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannon: histograms have ${p.length} and ${q.length} bins`);
  const P = normalize(p);
  const Q = normalize(q);
  if (!P.some((v) => v > 0) || !Q.some((v) => v > 0)) return NaN;
  let js = 0;
  for (let i = 0; i < P.length; ++i) {
    const m = 0.5 * (P[i] + Q[i]);
    if (P[i] > 0) js += 0.5 * P[i] * Math.log(P[i] / m);
    if (Q[i] > 0) js += 0.5 * Q[i] * Math.log(Q[i] / m);
  }
  return Math.max(0, js);
}

/** All M (M - 1) / 2 interatomic distances of a molecule with flat positions (x, y, z per atom). */
export function pairDistances(positions: ArrayLike<number>): number[] {
  const M = Math.floor(positions.length / 3);
  const out: number[] = [];
  for (let i = 0; i < M; ++i)
    for (let j = i + 1; j < M; ++j) {
      const dx = positions[3 * i] - positions[3 * j];
      const dy = positions[3 * i + 1] - positions[3 * j + 1];
      const dz = positions[3 * i + 2] - positions[3 * j + 2];
      out.push(Math.sqrt(dx * dx + dy * dy + dz * dz));
    }
  return out;
}

/** A small seeded generator (mulberry32) for reproducible subsets. */
export function seededRandom(seed: number): () => number {
  let s = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` distinct indices of 0 .. n - 1 drawn with the seed (partial Fisher-Yates), in increasing order. */
export function seededSubset(n: number, k: number, seed: number): number[] {
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 0 || k < 0) throw new RangeError('seededSubset: n and k must be non-negative integers');
  const take = Math.min(n, k);
  const rand = seededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < take; ++i) {
    const j = i + Math.floor(rand() * (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, take).sort((a, b) => a - b);
}
