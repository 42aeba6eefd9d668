// The model report in Node: reads the QM9 test split from its .npz, loads RDKit's WebAssembly
// build (the optional peer dependency @rdkit/rdkit) on demand, and writes the JSON and HTML files.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chemHelpers, type EnfModel } from './api.js';
import { InvalidInputError } from './errors.js';
import type { RDKitLike } from './eval-chem.js';
import {
  evaluate as evaluateWith,
  referenceStats,
  reportFromRecords,
  settingsDiffer,
  type EvalRecord,
  type EvalReport,
  type EvalSettings,
  type EvalShard,
  type EvaluateOptions,
  type TestMolecule,
} from './eval.js';
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

/** The checkpoint of a run in its output directory: a header line, then one JSON line per finished unit of work. */
export const RECORDS_FILE = 'records.jsonl';
const RECORDS_SCHEMA = 'enf-eval-records/1';

interface RecordsHeader {
  schema: typeof RECORDS_SCHEMA;
  settings: EvalSettings;
  shard: EvalShard | null;
  /** The test split's path as given, for `enf eval merge`. */
  data: string | null;
  workers: number;
}

/** What a records file holds: its header, records, and the wall time of each session that wrote it. */
export interface RecordsFile {
  header: RecordsHeader;
  records: EvalRecord[];
  sessionSeconds: number[];
  /** Bytes of whole lines: less than the file's size when an interruption tore the last line. */
  wholeBytes: number;
}

/** Reads DIR/records.jsonl; null when absent. A last line cut short by an interruption is dropped. */
export function readRecords(dir: string): RecordsFile | null {
  const path = join(dir, RECORDS_FILE);
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  let header: RecordsHeader | null = null;
  const records: EvalRecord[] = [];
  const sessions = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (lines.slice(i + 1).some((l) => l.trim())) throw new InvalidInputError(`${path}: line ${i + 1} is not JSON; the file is damaged`);
      break; // the interrupted last line
    }
    if (i === 0 || !header) {
      if (v.schema !== RECORDS_SCHEMA) throw new InvalidInputError(`${path}: not an enf eval checkpoint (schema ${String(v.schema)})`);
      header = v as unknown as RecordsHeader;
    } else if (v.kind === 'time') sessions.set(String(v.session), Number(v.seconds));
    else if (v.kind === 'sample' || v.kind === 'nll' || v.kind === 'exact') records.push(v as unknown as EvalRecord);
  }
  if (!header) return null;
  const wholeBytes = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1));
  return { header, records, sessionSeconds: [...sessions.values()], wholeBytes };
}

export interface CheckpointedOptions extends NodeEvaluateOptions {
  /** Output directory: DIR/records.jsonl is the checkpoint (resumed when present). */
  dir: string;
}

/**
 * `evaluate` with a checkpoint: every finished sample and score is appended to DIR/records.jsonl,
 * and a run started again with the same settings (and shard) resumes from it. The report's
 * totalSeconds sums all sessions.
 */
export async function evaluateCheckpointed(model: EnfModel, options: CheckpointedOptions): Promise<EvalReport> {
  const { dir, ...rest } = options;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, RECORDS_FILE);
  const previous = readRecords(dir);
  if (previous && JSON.stringify(previous.header.shard) !== JSON.stringify(rest.shard ?? null))
    throw new InvalidInputError(
      `${path} belongs to shard ${previous.header.shard ? `${previous.header.shard.index}/${previous.header.shard.count}` : '(none)'}: use another output directory`,
    );
  // An interrupted write leaves a torn last line: cut it, so that new records start on a line of their own.
  if (previous) truncateSync(path, previous.wholeBytes);
  const session = new Date().toISOString();
  const t0 = performance.now();
  const stamp = () => appendFileSync(path, JSON.stringify({ kind: 'time', session, seconds: (performance.now() - t0) / 1000 }) + '\n');
  let timer: ReturnType<typeof setInterval> | null = null;
  try {
    const report = await evaluate(model, {
      ...rest,
      resume: previous ? { settings: previous.header.settings, records: previous.records } : undefined,
      onStart: (settings) => {
        if (!previous) {
          const header: RecordsHeader = { schema: RECORDS_SCHEMA, settings, shard: rest.shard ?? null, data: rest.data ?? null, workers: model.workers };
          writeFileSync(path, JSON.stringify(header) + '\n');
        }
        timer = setInterval(stamp, 30_000);
        timer.unref?.();
      },
      onRecord: (r) => appendFileSync(path, JSON.stringify(r) + '\n'),
    });
    stamp();
    const before = previous?.sessionSeconds ?? [];
    report.timing.totalSeconds += before.reduce((a, b) => a + b, 0);
    report.timing.sessions = before.length + 1;
    return report;
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * Merges the checkpoints of shards (each DIR from `enf eval --shard k/n`): every shard of one split,
 * made with the same settings. The report equals the unsharded run's figures exactly. `data`
 * overrides the test split path the shards recorded.
 */
export async function mergeRecords(dirs: readonly string[], data?: string): Promise<EvalReport> {
  if (dirs.length === 0) throw new InvalidInputError('enf eval merge needs the output directories of the shards');
  const files = dirs.map((d) => {
    const f = readRecords(d);
    if (!f) throw new InvalidInputError(`${join(d, RECORDS_FILE)} not found: not the output directory of an enf eval run`);
    return f;
  });
  const first = files[0]!.header;
  for (const [i, f] of files.entries()) {
    const differ = settingsDiffer(first.settings, f.header.settings);
    if (differ.length) throw new InvalidInputError(`${dirs[i]} was run with other settings than ${dirs[0]} (${differ.join('; ')})`);
  }
  const count = first.shard?.count ?? 1;
  const seen = new Map<number, string>();
  for (const [i, f] of files.entries()) {
    const s = f.header.shard ?? { index: 0, count: 1 };
    if (s.count !== count) throw new InvalidInputError(`${dirs[i]} is shard ${s.index}/${s.count}, ${dirs[0]} one of ${count}: shards of different splits`);
    if (seen.has(s.index)) throw new InvalidInputError(`${dirs[i]} and ${seen.get(s.index)} are both shard ${s.index}/${count}`);
    seen.set(s.index, dirs[i]!);
  }
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !seen.has(k));
  if (missing.length) throw new InvalidInputError(`shard(s) ${missing.map((k) => `${k}/${count}`).join(', ')} missing from the merge`);
  const path = data ?? first.data;
  let reference = null;
  if (path) {
    const tests = loadTestMolecules(path);
    if (tests.length !== first.settings.testMolecules)
      throw new InvalidInputError(`${path} has ${tests.length} molecules; the shards used a test split of ${first.settings.testMolecules}`);
    const helpers = chemHelpers(nodePlatform);
    await helpers.ready();
    reference = referenceStats(tests, `QM9 test split (${path})`, helpers.stability);
  }
  const report = reportFromRecords(
    first.settings,
    files.flatMap((f) => f.records),
    {
      reference,
      shard: null,
      runtime: `wasm-node, merged from ${count} shard${count === 1 ? '' : 's'}`,
      workers: first.workers,
      rdkitNote: first.settings.rdkit ? null : 'SMILES were not computed by the shards',
    },
  );
  const seconds = files.map((f) => f.sessionSeconds.reduce((a, b) => a + b, 0));
  report.timing.totalSeconds = seconds.reduce((a, b) => a + b, 0);
  report.timing.sessions = files.reduce((a, f) => a + f.sessionSeconds.length, 0);
  return report;
}
