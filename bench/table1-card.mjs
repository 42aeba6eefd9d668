// The table of weights/table1/README.md (the card of the Table 1 runs we ship) from grid folders
// (enf_train_bench --table1 DIR): copies each finished run's weights into weights/table1/ and
// prints one row per run with the figures of its metadata beside the paper's.
//   node bench/table1-card.mjs DIR [DIR...]
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRAINING_METHODS } from '../web/dist/node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'weights', 'table1');
mkdirSync(out, { recursive: true });

function metadataOf(path) {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')).__metadata__;
}

const rows = [];
for (const dir of process.argv.slice(2)) {
  for (const f of readdirSync(join(dir, 'runs')).filter((x) => x.endsWith('.safetensors')).sort()) {
    const src = join(dir, 'runs', f);
    const meta = metadataOf(src);
    if (!meta.test_nll) continue; // a checkpoint of an unfinished run
    copyFileSync(src, join(out, f));
    const paper = TRAINING_METHODS.find((m) => m.name === meta.method)?.paper?.[meta.system]?.[meta.n_train];
    rows.push({ file: f, meta, paper, bytes: readFileSync(src).length });
  }
}
const order = TRAINING_METHODS.map((m) => m.name);
rows.sort((a, b) => a.meta.system.localeCompare(b.meta.system) || order.indexOf(a.meta.method) - order.indexOf(b.meta.method));
const fmt = (v, d = 2) => (v === undefined || v === null || v === '' ? '–' : Number(v).toFixed(d));
const table = [
  '| file | method | system | n_train | train seed | epochs (best) | lr | validation NLL | test NLL (1,000) | test NLL (first 200) | paper |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(({ file, meta: m, paper }) =>
    `| ${file} | ${m.method} | ${m.system} | ${m.n_train} | ${m.train_seed} | ${m.epochs} (${m.best_epoch}) | ${m.lr} | ${fmt(m.val_nll)} | ${fmt(m.test_nll)} | ${fmt(m.test_nll_first200)} | ${fmt(paper)} |`),
].join('\n');
console.log(table);
console.error(`copied ${rows.length} runs into ${out}: ${rows.map((r) => basename(r.file)).join(', ')}`);
