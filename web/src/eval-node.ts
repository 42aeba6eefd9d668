// The model report in Node: reads the QM9 test split from its .npz, loads RDKit's WebAssembly
// build (the optional peer dependency @rdkit/rdkit) on demand, and writes the JSON and HTML files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chemHelpers, type EnfModel } from './api.js';
import { InvalidInputError } from './errors.js';
import type { RDKitLike } from './eval-chem.js';
import { evaluate as evaluateWith, referenceStats, type EvalReport, type EvaluateOptions, type TestMolecule } from './eval.js';
import { reportHtml } from './eval-report.js';
import { readNpz } from './npz.js';
import { nodePlatform } from './platform-node.js';

/** All molecules of a QM9 split in .npz form (`num_atoms`, `charges`, `positions`, padded). */
export function loadTestMolecules(path: string): TestMolecule[] {
  const { num_atoms, charges, positions } = readNpz(path, ['num_atoms', 'charges', 'positions']);
  const width = charges.shape[1];
  const out: TestMolecule[] = [];
  for (let k = 0; k < num_atoms.data.length; ++k) {
    const n = num_atoms.data[k];
    const elements = Array.from(charges.data.subarray(k * width, k * width + n));
    const pos = positions.data.slice(k * width * 3, (k * width + n) * 3);
    out.push({ elements, positions: pos });
  }
  return out;
}

let rdkitLoading: Promise<RDKitLike> | null = null;

/** RDKit MinimalLib from the installed @rdkit/rdkit package (once per process). */
export function loadRDKit(): Promise<RDKitLike> {
  rdkitLoading ??= (async () => {
    // A computed specifier: bundlers leave it alone, so the package builds without RDKit installed.
    const name = '@rdkit/rdkit';
    let mod: { default?: unknown };
    try {
      mod = (await import(name)) as { default?: unknown };
    } catch {
      throw new InvalidInputError(
        "RDKit's WebAssembly build is not installed: run 'npm install @rdkit/rdkit' (an optional peer dependency of enf-wasm used only by the report), or pass --no-smiles",
      );
    }
    const init = (mod.default ?? mod) as () => Promise<RDKitLike>;
    return init();
  })();
  rdkitLoading.catch(() => (rdkitLoading = null));
  return rdkitLoading;
}

export interface NodeEvaluateOptions extends EvaluateOptions {
  /** Path of the QM9 test split (.npz); its molecules become `testMolecules` and the reference. */
  data?: string;
}

/**
 * `evaluate` with Node defaults: test molecules read from `data`, the reference statistics
 * (with the data's own stability) computed from them, and RDKit loaded from @rdkit/rdkit.
 */
export async function evaluate(model: EnfModel, options: NodeEvaluateOptions = {}): Promise<EvalReport> {
  const o = { ...options };
  if (o.data) {
    const tests = loadTestMolecules(o.data);
    o.testMolecules = tests;
    o.reference ??= referenceStats(tests, `QM9 test split (${o.data})`, chemHelpers(nodePlatform).stability);
  }
  if (o.rdkit === undefined) o.rdkit = loadRDKit;
  o.runtime ??= 'wasm-node';
  return evaluateWith(model, o);
}

/** Writes `report` as JSON and as a self-contained HTML page. */
export async function writeReport(report: EvalReport, files: { json?: string; html?: string }): Promise<void> {
  for (const f of [files.json, files.html]) if (f) mkdirSync(dirname(f), { recursive: true });
  if (files.json) writeFileSync(files.json, JSON.stringify(report, null, 1) + '\n');
  if (files.html) writeFileSync(files.html, await reportHtml(report));
}
