// The JS side of the argument checks (api.ts, train.ts): what the JS wrapper itself uses (a
// count of jobs, seed offsets, a system's grid) is checked here, naming the option and its range;
// everything else goes to the core unchanged (coreOptions) and is checked there once
// (src/api/options.cpp).
import { InvalidInputError } from './errors.js';

/** Seeds are integers up to 2^53, the largest a JS number holds exactly. */
export const MAX_SEED = 2 ** 53;

export function integer(name: string, v: unknown, lo: number, hi: number, def?: number): number {
  if (v === undefined || v === null) {
    if (def === undefined) throw new InvalidInputError(`${name} is required (an integer in [${lo}, ${hi}])`);
    return def;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new InvalidInputError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  return v;
}

export function real(name: string, v: unknown, lo: number, hi: number, def: number, openLow = false): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (openLow && v === lo))
    throw new InvalidInputError(`${name} must be a number in ${openLow ? '(' : '['}${lo}, ${hi}], got ${String(v)}`);
  return v;
}

/** Levenshtein distance (small strings: option and model names). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; ++i) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; ++j) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The closest of `names` to a mistyped `name` (within a third of its length, at least 2 edits), or null. */
export function didYouMean(name: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const n of names) {
    const [a, b] = [name.toLowerCase(), n.toLowerCase()];
    // A prefix wins a tie ('atom' -> 'atoms' rather than 'atol').
    const d = distance(a, b) - (b.startsWith(a) || a.startsWith(b) ? 0.5 : 0);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

/**
 * Options objects the JS side reads itself (loadModel's, evaluate's): an unknown key is refused with
 * a "did you mean", as the core refuses one in a call's options.
 */
export function checkKeys(call: string, options: unknown, known: readonly string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) throw new InvalidInputError(`${call}: the options must be an object`);
  for (const k of Object.keys(options)) {
    if (known.includes(k)) continue;
    const near = didYouMean(k, known);
    throw new InvalidInputError(
      `${call}: unknown option '${k}'${near ? `: did you mean '${near}'?` : `; the options are ${known.join(', ')}`}`,
    );
  }
}

/**
 * The options of a call as they go to the core, which reads and checks them (src/api/options.cpp,
 * unknown keys included): a plain copy without the keys the JS wrapper handles itself (`own`:
 * signal, onProgress, count, ...) and without undefined members. A function cannot cross into a
 * worker, so one is refused here by name.
 */
export function coreOptions(call: string, options: unknown, own: readonly string[]): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new InvalidInputError(`${call}: the options must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (own.includes(k) || v === undefined) continue;
    if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint')
      throw new InvalidInputError(`${call}: ${k} must not be a ${typeof v}`);
    out[k] = v;
  }
  return out;
}

/** `count` calls seeded seed, seed + 1, ...: both checked, and the last seed still exact. */
export function countAndSeed(o: { count?: unknown; seed?: unknown }): { count: number; seed: number } {
  const count = integer('count', o.count, 1, 1_000_000, 1);
  const seed = integer('seed', o.seed, 0, MAX_SEED);
  if (seed + count - 1 > MAX_SEED) throw new InvalidInputError('seed + count - 1 must not exceed 2^53');
  return { count, seed };
}
