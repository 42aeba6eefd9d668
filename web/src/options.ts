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

/**
 * A dim x dim matrix given flat (row-major) or as `dim` rows, as dim*dim numbers; [] when absent.
 * The core checks that it is orthogonal.
 */
export function orthogonalOption(r: unknown, dim: number): number[] {
  if (r === undefined || r === null) return [];
  const n = dim * dim;
  const shape = `a ${dim}x${dim} matrix: ${n} numbers row-major, or ${dim} rows of ${dim}`;
  if (typeof r !== 'object' || typeof (r as ArrayLike<unknown>).length !== 'number')
    throw new InvalidInputError(`rotation must be ${shape}`);
  const rows = r as ArrayLike<unknown>;
  const nested = rows.length === dim && typeof rows[0] === 'object' && rows[0] !== null;
  const flat = nested
    ? Array.from(rows as ArrayLike<ArrayLike<unknown>>, (row) => Array.from(row ?? [])).flat()
    : Array.from(rows);
  if (flat.length !== n) throw new InvalidInputError(`rotation must be ${shape}`);
  if (!flat.every((v) => typeof v === 'number' && Number.isFinite(v)))
    throw new InvalidInputError('rotation must hold finite numbers');
  return flat as number[];
}

/** A permutation as integers (the core checks that each index comes once); [] when absent. */
export function permutationOption(p: unknown, max: number): number[] {
  if (p === undefined || p === null) return [];
  if (typeof p !== 'object' || typeof (p as ArrayLike<unknown>).length !== 'number')
    throw new InvalidInputError('permutation must be an array of atom indices');
  return Array.from(p as ArrayLike<unknown>, (v, i) => integer(`permutation[${i}]`, v, 0, max));
}
