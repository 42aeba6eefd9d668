// Argument checks shared by the QM9 model's API (api.ts) and training mode (train.ts): each
// returns the value or throws an InvalidInputError that names the option and its range.
import { InvalidInputError } from './errors.js';

/** Default solver tolerance (rtol and atol) of sample and score. */
export const DEFAULT_TOL = 1e-4;
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

export function tolerance(name: string, v: unknown): number {
  if (v === undefined || v === null) return DEFAULT_TOL;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= 1)
    throw new InvalidInputError(`${name} must be a number in (0, 1), got ${String(v)}`);
  return v;
}
