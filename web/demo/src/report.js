// @ts-check
// The "Model report" view: a small live run of the package's evaluate() (the same statistics and
// plots as `npx enf eval`), with progress and cancel, or a report.json from the CLI opened here.
// RDKit (validity, canonical SMILES, uniqueness) loads on the first run (rdkit.js).
import { evaluate, parseXYZ, reportBody, reportHtml } from 'enf-wasm';
import { download } from './download.js';
import { readNumber, FieldError } from './fields.js';
import { loadRDKit } from './rdkit.js';

const PHASES = { reference: 'Reading the reference', sample: 'Sampling', smiles: 'SMILES', nll: 'Scoring test molecules', done: 'Done' };

async function fetchJson(name) {
  try {
    const r = await fetch(new URL(name, document.baseURI));
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}


/** Wires the view; `getModel()` returns the loaded model (or null before it is loaded). */
export function setupReport({ getModel, state }) {
  /** @param {string} id */
  const $ = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
  const progress = /** @type {HTMLProgressElement} */ (document.getElementById('report-progress'));
  const out = $('report-out');
  const status = $('report-status');
  let abort = null;
  let report = null;
  // The reference statistics (built from the QM9 test split at build time) and a few test molecules.
  const assets = Promise.all([fetchJson('qm9-reference.json'), fetchJson('qm9-samples.json')]);

  function show(r) {
    report = r;
    state.report = r;
    out.innerHTML = reportBody(r);
    $('report-json').disabled = false;
    $('report-html').disabled = false;
  }

  $('report-run').addEventListener('click', async () => {
    const model = getModel();
    if (!model) return;
    let samples, nllMolecules, seed;
    try {
      samples = readNumber('report-samples', { what: 'Samples', min: 5, max: 200 });
      nllMolecules = readNumber('report-nll', { what: 'Test molecules scored', min: 0, max: 10 });
      seed = readNumber('report-seed', { what: 'First seed', min: 0, max: 2 ** 31 - 1 });
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      status.textContent = `Not run: ${err.message}.`;
      status.classList.add('error');
      return;
    }
    abort = new AbortController();
    $('report-run').disabled = true;
    $('report-cancel').disabled = false;
    status.classList.remove('error');
    const t0 = performance.now();
    try {
      const [reference, builtins] = await assets;
      const testMolecules = [];
      for (const m of builtins ?? []) {
        try {
          testMolecules.push(parseXYZ(m.xyz));
        } catch { /* skip a malformed built-in */ }
      }
      const r = await evaluate(model, {
        samples,
        seed,
        reference: reference ?? undefined,
        testMolecules,
        nllMolecules,
        rdkit: loadRDKit,
        runtime: `browser, ${navigator.userAgent.match(/(Chrome|Firefox|Safari)\/[\d.]+/)?.[0] ?? 'WebAssembly'}`,
        signal: abort.signal,
        onProgress: ({ phase, done, total }) => {
          progress.value = phase === 'sample' ? (0.8 * done) / total : phase === 'nll' ? 0.8 + (0.2 * done) / total : phase === 'done' ? 1 : progress.value;
          status.textContent = `${PHASES[phase] ?? phase} ${phase === 'done' ? '' : `${done}/${total}`}`;
        },
      });
      show(r);
      state.reportRuns = (state.reportRuns ?? 0) + 1;
      status.textContent = `Report of ${samples} samples computed on this machine in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
    } catch (err) {
      status.textContent = err && err.name === 'AbortError' ? 'Report cancelled.' : `Report failed: ${err && err.message ? err.message : err}`;
      status.classList.toggle('error', !(err && err.name === 'AbortError'));
      progress.value = 0;
    } finally {
      abort = null;
      $('report-run').disabled = false;
      $('report-cancel').disabled = true;
    }
  });
  $('report-cancel').addEventListener('click', () => abort && abort.abort());

  $('report-file').addEventListener('change', async () => {
    const file = $('report-file').files?.[0];
    if (!file) return;
    try {
      const r = JSON.parse(await file.text());
      if (!r || r.schema !== 'enf-eval/1') throw new Error('not an enf eval report (schema enf-eval/1)');
      show(r);
      status.classList.remove('error');
      status.textContent = `Opened ${file.name}: ${r.settings.samples} samples, ${r.runtime}.`;
    } catch (err) {
      status.classList.add('error');
      status.textContent = `Could not open ${file.name}: ${err.message}`;
    }
  });
  $('report-json').addEventListener('click', () => report && download('enf-report.json', JSON.stringify(report, null, 1), 'application/json'));
  $('report-html').addEventListener('click', async () => report && download('enf-report.html', await reportHtml(report), 'text/html'));

  return { enable: () => ($('report-run').disabled = false) };
}
