// Shared paths and fixtures for the JS tests (node --test tests/js/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shared = process.env.ENF_SHARED_DIR ?? resolve(root, '..', 'shared');
export const goldenDir = join(shared, 'golden');
export const hasGolden = existsSync(join(goldenDir, 'flow_public.json'));
export const bundledWeights = join(root, 'web', 'dist', 'qm9.safetensors');
export const hasWeights = existsSync(bundledWeights);
export const skipNoWeights = hasWeights ? false : 'no bundled weights (../shared/weights absent at build time)';

/** A QM9 test molecule from the golden flow cases: { elements (atomic numbers), positions [[x,y,z]...] }. */
export function goldenMolecule(index = 0) {
  const doc = JSON.parse(readFileSync(join(goldenDir, 'flow_public.json'), 'utf8'));
  const c = doc.cases[index];
  return { elements: c.atoms, positions: c.x_centered };
}

/** A random rotation matrix (uniform quaternion) from a seeded generator. */
export function randomRotation(seed = 1) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const [u1, u2, u3] = [rand(), rand(), rand()];
  const q = [
    Math.sqrt(1 - u1) * Math.sin(2 * Math.PI * u2),
    Math.sqrt(1 - u1) * Math.cos(2 * Math.PI * u2),
    Math.sqrt(u1) * Math.sin(2 * Math.PI * u3),
    Math.sqrt(u1) * Math.cos(2 * Math.PI * u3),
  ];
  const [x, y, z, w] = q;
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
}

export function rotate(rows, R) {
  return rows.map((p) => [0, 1, 2].map((i) => R[i][0] * p[0] + R[i][1] * p[1] + R[i][2] * p[2]));
}

export function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.every((v, i) => v === y[i]);
}
