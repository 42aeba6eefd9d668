// Writes the demo's reference statistics: the histograms (interatomic distances, atom counts, atom
// types) and the stability of the QM9 test split, for the "Model report" view to compare live
// samples against. Derived numbers only; the data stays in ../shared.
// usage: node qm9_reference.mjs qm9_test.npz OUT.json   (after `npm run build:web`)
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadTestMolecules, ready, referenceStats, stability } from 'enf-wasm';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: node qm9_reference.mjs qm9_test.npz OUT.json');
  process.exit(2);
}
mkdirSync(dirname(resolve(out)), { recursive: true });
if (!existsSync(src)) {
  // Without ../shared the report view still runs; it shows the samples without a reference.
  writeFileSync(out, 'null\n');
  console.log(`qm9_reference: ${src} not found; the demo's report has no reference histograms`);
} else {
  await ready();
  const molecules = loadTestMolecules(src);
  const ref = referenceStats(molecules, `QM9 test split (${basename(src)})`, stability);
  writeFileSync(out, JSON.stringify(ref) + '\n');
  console.log(`qm9_reference: wrote the statistics of ${ref.molecules} molecules to ${out}`);
}
