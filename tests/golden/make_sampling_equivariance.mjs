// Writes tests/golden/sampling_equivariance.json: golden-style cases for sampling through a
// transformed latent (issue #13), checked by `enf verify` natively and in WebAssembly.
//
// Each case is a size and seed (the failing sizes: none a multiple of 4), the molecule
// the native build samples for them at rtol = atol = 1e-9 (x, atom_types), and an orthogonal
// matrix with a permutation. verify samples both latents at its tolerance (1e-7) and checks the
// untransformed sample against x (1e-3 Å, as the reverse cases) and the transformed one against
// Q x[perm] (1e-4 Å): the relation equivariance fixes exactly, whatever the reference's rounding.
// The authors' implementation is not available here, so x comes from our native build.
//
// Usage: node tests/golden/make_sampling_equivariance.mjs [build/enf]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const enf = process.argv[2] ?? join(here, '..', '..', 'build', 'enf');
const TYPES = { H: 0, C: 1, N: 2, O: 3, F: 4 };

// A deterministic orthogonal matrix from a unit quaternion (x, y, z, w); reflect: det -1.
function orthogonal(q, reflect) {
  const n = Math.hypot(...q);
  const [x, y, z, w] = q.map((v) => v / n);
  const R = [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
  return reflect ? R.map((row) => [-row[0], row[1], row[2]]) : R;
}

const cases = [
  { n_atoms: 19, seed: 7, q: [0.3, -0.5, 0.7, 0.4], reflect: false },
  { n_atoms: 5, seed: 3, q: [0.9, 0.1, -0.3, 0.2], reflect: true },
  { n_atoms: 9, seed: 7, q: [-0.2, 0.8, 0.1, 0.5], reflect: false },
  { n_atoms: 25, seed: 3, q: [0.4, 0.4, -0.6, -0.5], reflect: true },
].map(({ n_atoms, seed, q, reflect }) => {
  const args = ['sample', '--atoms', String(n_atoms), '--seed', String(seed), '--rtol', '1e-9', '--atol', '1e-9', '--format', 'json'];
  const [m] = JSON.parse(execFileSync(enf, args, { encoding: 'utf8' }));
  const x = Array.from({ length: n_atoms }, (_, i) => m.positions.slice(3 * i, 3 * i + 3));
  // A fixed relabelling: reversed, then rotated by a third.
  const permutation = Array.from({ length: n_atoms }, (_, i) => (n_atoms - 1 - i + Math.floor(n_atoms / 3)) % n_atoms);
  return {
    n_atoms,
    seed,
    x,
    atom_types: m.elements.map((e) => TYPES[e]),
    latent_transform: { rotation: orthogonal(q, reflect), permutation },
  };
});

const doc = {
  generator:
    'enf native build, dopri5 rtol=atol=1e-9 (x, atom_types); the transformed sample is checked against Q x[perm] ' +
    '(tests/golden/make_sampling_equivariance.mjs)',
  cases,
};
writeFileSync(join(here, 'sampling_equivariance.json'), `${JSON.stringify(doc)}\n`);
console.log(`wrote ${cases.length} cases`);
