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
