// @ts-check
// The demo page: sample molecules while their trajectories stream into the viewer, browse them,
// export them, check equivariance, and score molecules. All heavy work runs in the package's
// worker pool; this file only wires the page.
import { bonds, formula, loadModel, parseMolecule, parseSDF, smilesOf, stability, toSDF, toXYZ } from 'enf-wasm';
import { download } from './download.js';
import { FieldError, readNumber } from './fields.js';
import { ELEMENTS } from './chemistry.js';
import { drawingUrl, loadRDKit } from './rdkit.js';
import { MoleculeViewer } from './viewer.js';
import { setupReport } from './report.js';
import { setupTrain } from './train.js';
import { setupTable1 } from './table1.js';
import { kabsch, randomRotation } from './geometry.js';

/**
 * @typedef {import('enf-wasm').EnfModel} EnfModel
 * @typedef {import('enf-wasm').Frame} Frame
 * @typedef {{ elements: string[], positions: Float32Array, bonds: import('enf-wasm').Bond[], stable: boolean,
 *   stableAtoms: number, formula: string }} Shown
 * @typedef {{ kind: 'sample' | 'rotated' | 'scored', seed: number, atoms: number, tol: number, frames: Array<Frame & { bonds?: any }>,
 *   molecule: Shown | null, card?: HTMLElement, label?: string, smiles?: string | null }} Entry
 */

/** @param {string} id */
const $ = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
const status = $('status');
const viewer = new MoleculeViewer($('viewer'));
/** @type {EnfModel | null} */
let model = null;
/** @type {Entry | null} */
let current = null;
let playing = false;
let sampling = false;
/** @type {AbortController | null} */
let sampleAbort = null;
/** @type {AbortController | null} */
let scoreAbort = null;
const FRAMES = 50;
// The showcase on first load: a stable molecule (seed 126, size drawn from p(M), tolerance 1e-4).
const SHOWCASE = { atoms: 0, seed: 126, tol: '1e-4' };
// What QM9 test molecules score: 60 of them (seeded subset, `enf eval --nll-molecules 60 --probes 16`):
// log p quantiles 5 / 25 / 50 / 75 / 95 % = 17.3 / 47.4 / 59.8 / 76.8 / 107.1 nats.
const TYPICAL = 'Typical: half of the QM9 test molecules score between +47 and +77 nats, 90 % between +17 and +107 ' +
  '(60 of them, 16 probes); the paper\'s average is +59.7 (NLL −59.7)'

// Counters the browser tests read (frames streamed, molecules finished).
/** @type {any} */
const demoState = (/** @type {any} */ (window).__enfDemo = { frames: 0, samples: 0, ready: false, viewer });
const reportView = setupReport({ getModel: () => model, state: demoState });
setupTrain({ state: demoState });
setupTable1({ state: demoState });

/** @param {string} text */
function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

/** @param {unknown} err */
const messageOf = (err) => (err instanceof Error ? err.message : String(err));
/** @param {unknown} err */
const isAbort = (err) => err instanceof Error && err.name === 'AbortError';

// ---------- controls that depend on what is shown ----------
// One place decides which buttons work: a button never looks live when it would do nothing.
function updateControls() {
  const hasFrames = !!current && current.frames.length > 0;
  const hasMolecule = !!current?.molecule;
  $('scrub').disabled = !hasFrames;
  $('play').disabled = !hasFrames || current?.kind === 'scored';
  for (const id of ['export-xyz', 'export-sdf', 'copy-xyz']) $(id).disabled = !hasMolecule;
  $('rotate').disabled = !hasMolecule || sampling || current?.kind === 'scored';
  $('sample').disabled = !model || sampling;
  $('cancel-sample').disabled = !sampling;
}

// ---------- trajectory playback ----------
/** @param {Entry} entry @param {number} k */
function showFrame(entry, k) {
  const f = entry.frames[k];
  if (!f) return;
  f.bonds ??= bonds(f);
  viewer.show(f.elements, f.positions, f.bonds);
  $('scrub').value = String(k);
  const final = !!entry.molecule && k === entry.frames.length - 1;
  $('frame-info').textContent = entry.kind === 'scored'
    ? `${entry.label}: the scored molecule`
    : `frame ${k + 1}/${final ? entry.frames.length : FRAMES}  t = ${f.t.toFixed(3)}` +
      (final ? '  (the sampled molecule)' : entry.molecule ? '' : '  (streaming)');
  describeViewer(f.elements, final ? entry.molecule?.formula : null);
  showLegend(f.elements);
}

/** The canvas's text alternative: what the viewer shows, for screen readers. */
function describeViewer(/** @type {string[]} */ elements, /** @type {string | null | undefined} */ formulaText) {
  $('viewer').setAttribute('aria-label', formulaText
    ? `3-D view of ${formulaText}, ${elements.length} atoms. Drag to rotate, wheel or pinch to zoom.`
    : `3-D view of ${elements.length} atoms mid-trajectory.`);
}

/** The atom legend: the elements present, in the viewer's colours. */
function showLegend(/** @type {string[]} */ elements) {
  const present = Object.keys(ELEMENTS).filter((e) => elements.includes(e));
  const key = present.join(',');
  const legend = $('legend');
  if (legend.dataset.key === key) return;
  legend.dataset.key = key;
  legend.innerHTML = present.map((e) =>
    `<span class="legend-item"><svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="5" fill="${ELEMENTS[/** @type {keyof typeof ELEMENTS} */ (e)].color}"/></svg>${e}</span>`).join('');
}

/** @param {Entry} entry */
function select(entry) {
  stopPlaying();
  current = entry;
  demoState.molecule = entry.molecule;
  $('scrub').max = String(Math.max(0, entry.frames.length - 1));
  showFrame(entry, entry.frames.length - 1);
  viewer.fit();
  for (const card of document.querySelectorAll('.card'))
    card.classList.toggle('selected', /** @type {any} */ (card).entry === entry);
  updateControls();
}

const PLAY_ICON = '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><path d="M4 2.5v11l9-5.5z" fill="currentColor"/></svg>';
const PAUSE_ICON = '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><path d="M3.5 2.5h3v11h-3zM9.5 2.5h3v11h-3z" fill="currentColor"/></svg>';
function setPlayButton(/** @type {boolean} */ on) {
  $('play').innerHTML = on ? PAUSE_ICON : PLAY_ICON;
  $('play').setAttribute('aria-label', on ? 'Pause' : 'Play the trajectory');
  $('play').title = on ? 'Pause' : 'Play the trajectory';
}
function stopPlaying() {
  playing = false;
}

async function play() {
  const entry = current;
  if (!entry || playing || entry.frames.length < 2) return;
  playing = true;
  setPlayButton(true);
  try {
    const n = entry.frames.length;
    let k = Number($('scrub').value);
    if (k >= n - 1) k = 0;
    // Stops when paused, when another molecule is selected, or when a new sample starts.
    while (playing && current === entry) {
      showFrame(entry, k);
      await new Promise((r) => setTimeout(r, 60));
      k += 1;
      if (k >= n) {
        if (!$('loop').checked) break;
        await new Promise((r) => setTimeout(r, 600));
        k = 0;
      }
    }
  } finally {
    playing = false;
    setPlayButton(false);
  }
}

$('play').addEventListener('click', () => (playing ? stopPlaying() : void play()));
$('scrub').addEventListener('input', () => {
  stopPlaying();
  if (current) showFrame(current, Number($('scrub').value));
});
$('fit').addEventListener('click', () => viewer.fit());

// Hover (or tap) an atom: its element, index and bonded neighbours.
viewer.onPick = (/** @type {{ index: number, x: number, y: number } | null} */ hit) => {
  const tip = $('atom-tip');
  const f = current?.frames[Number($('scrub').value)];
  if (!hit || !f || hit.index >= f.elements.length) {
    tip.hidden = true;
    return;
  }
  const i = hit.index;
  const neighbours = (f.bonds ?? bonds(f))
    .filter((b) => b.i === i || b.j === i)
    .map((b) => `${f.elements[b.i === i ? b.j : b.i]}${(b.i === i ? b.j : b.i) + 1}${b.order === 2 ? ' (double)' : b.order === 3 ? ' (triple)' : ''}`);
  tip.textContent = `${f.elements[i]}${i + 1}: ${neighbours.length ? `bonded to ${neighbours.join(', ')}` : 'no bonds'}`;
  tip.style.left = `${hit.x + 12}px`;
  tip.style.top = `${hit.y + 12}px`;
  tip.hidden = false;
};

// ---------- gallery ----------
const UNSTABLE_TIP = 'Some atom has a valence QM9 does not allow (bonds inferred from distances). The paper\'s model makes ' +
  'about 4.9 % stable molecules at this size range; most samples are "almost right" molecules.';

/** @param {Entry} entry */
function addCard(entry) {
  const m = /** @type {Shown} */ (entry.molecule);
  const card = document.createElement('div');
  card.className = 'card';
  card.dataset.stable = String(m.stable);
  /** @type {any} */ (card).entry = entry;
  card.innerHTML = `<button type="button" class="card-main"><span class="formula"></span><span class="badge ${m.stable ? 'stable' : 'unstable'}"></span>
    <span class="meta seed"></span><span class="meta ll">log p: scoring…</span><span class="meta smiles"></span><img class="drawing" alt="" hidden></button>
    <span class="card-export"><button type="button" class="mini" data-export="xyz">XYZ</button><button type="button" class="mini" data-export="sdf">SDF</button></span>`;
  /** @type {HTMLElement} */ (card.querySelector('.formula')).textContent = m.formula;
  const badge = /** @type {HTMLElement} */ (card.querySelector('.badge'));
  badge.textContent = m.stable ? 'stable' : 'unstable';
  badge.title = m.stable ? 'Every atom has a valence QM9 allows (the paper\'s molecule stability).' : UNSTABLE_TIP;
  /** @type {HTMLElement} */ (card.querySelector('.seed')).textContent =
    entry.kind === 'scored' ? `${entry.label} · ${m.elements.length} atoms`
      : `${entry.kind === 'rotated' ? 'rotated latent, ' : ''}seed ${entry.seed} · ${m.elements.length} atoms`;
  const main = /** @type {HTMLButtonElement} */ (card.querySelector('.card-main'));
  main.setAttribute('aria-label', `${m.formula}, ${m.stable ? 'stable' : 'unstable'}, ${entry.kind === 'scored' ? entry.label : `seed ${entry.seed}`}: show in the viewer`);
  main.addEventListener('click', () => select(entry));
  for (const b of card.querySelectorAll('[data-export]'))
    b.addEventListener('click', () => exportEntry(entry, /** @type {HTMLElement} */ (b).dataset.export === 'sdf' ? 'sdf' : 'xyz'));
  $('gallery').prepend(card);
  entry.card = card;
  applyFilter();
  void addSmiles(entry);
}

/** @param {Entry} entry @param {string} text @param {string} [title] */
function setCardScore(entry, text, title) {
  const ll = /** @type {HTMLElement | null | undefined} */ (entry.card?.querySelector('.ll'));
  if (!ll) return;
  ll.textContent = text;
  if (title) ll.title = title;
}

/** SMILES and a 2-D drawing on the card (RDKit loads once, on the first card). */
async function addSmiles(/** @type {Entry} */ entry) {
  const m = entry.molecule;
  if (!m || !entry.card) return;
  const el = /** @type {HTMLElement} */ (entry.card.querySelector('.smiles'));
  try {
    const rdkit = await loadRDKit();
    const r = smilesOf(rdkit, { elements: m.elements, positions: m.positions, bonds: m.bonds });
    entry.smiles = r.smiles;
    el.textContent = r.valid ? r.smiles : 'no SMILES (RDKit rejects the graph)';
    el.title = r.valid ? `canonical SMILES (RDKit)${r.fragments > 1 ? `, ${r.fragments} fragments` : ''}` : 'RDKit could not sanitise the inferred bonds (valence or aromaticity)';
    const url = r.smiles ? drawingUrl(rdkit, r.smiles) : null;
    if (url) {
      const img = /** @type {HTMLImageElement} */ (entry.card.querySelector('.drawing'));
      img.src = url;
      img.alt = `2-D structure of ${r.smiles}`;
      img.hidden = false;
    }
  } catch (err) {
    el.textContent = `SMILES unavailable (${messageOf(err)})`;
  }
}

function applyFilter() {
  const stableOnly = $('stable-only').checked;
  let hidden = 0;
  for (const card of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.card'))) {
    const hide = stableOnly && card.dataset.stable !== 'true';
    card.hidden = hide;
    if (hide) hidden += 1;
  }
  $('gallery-note').textContent = hidden ? `${hidden} unstable hidden` : '';
}
$('stable-only').addEventListener('change', applyFilter);

/** Hutchinson score with several probes, so the card shows a standard error. */
function scoreCard(/** @type {Entry} */ entry) {
  if (!model || !entry.molecule) return;
  model.score(entry.molecule, { trace: 'hutchinson', probes: 4, seed: 0 })
    .then((r) => setCardScore(entry, `log p ${r.logLikelihood.toFixed(1)} ± ${(r.stderr ?? NaN).toFixed(1)} nats`,
      `${r.perAtom.toFixed(2)} nats per atom; Hutchinson estimate with 4 probes ± its standard error (more probes in Score a molecule). ${TYPICAL}.`))
    .catch((e) => setCardScore(entry, `score failed: ${messageOf(e)}`));
}

// ---------- sampling ----------
/**
 * Streams one trajectory into the viewer; the entry joins the gallery only when it completes.
 * @param {{ seed: number, atoms: number, tol: number, signal: AbortSignal, rotation?: number[], kind?: 'sample' | 'rotated' }} o
 * @returns {Promise<Entry>}
 */
async function streamSample({ seed, atoms, tol, signal, rotation, kind = 'sample' }) {
  if (!model) throw new Error('the model is not loaded yet');
  /** @type {Entry} */
  const entry = { kind, seed, atoms, tol, frames: [], molecule: null };
  const previous = current;
  stopPlaying();
  current = entry;
  updateControls();
  let shown = -1;
  let lastDraw = 0;
  // Draw the newest streamed frame at most every 80 ms: the ODE delivers frames in bursts, and
  // drawing each one competes with the workers for the CPU on small machines.
  const draw = () => {
    if (!entry.molecule && entry.frames.length - 1 > shown && current === entry) {
      const now = performance.now();
      if (now - lastDraw < 80 && shown >= 0) return void setTimeout(() => requestAnimationFrame(draw), 80 - (now - lastDraw));
      lastDraw = now;
      shown = entry.frames.length - 1;
      $('scrub').max = String(shown);
      showFrame(entry, shown);
      if (shown === 0) viewer.fit();
      updateControls();
    }
  };
  try {
    // atoms 0 lets the seed draw the size from p(M), exactly as the first sample did.
    for await (const frame of model.sampleTrajectory({ atoms: atoms || undefined, seed, frames: FRAMES, rtol: tol, atol: tol, signal, rotation })) {
      entry.frames.push(frame);
      demoState.frames += 1;
      /** @type {any} */ ($('sample-progress')).value = 1 - frame.t;
      requestAnimationFrame(draw);
    }
  } catch (err) {
    // Nothing half-done stays on screen: the molecule shown before comes back, buttons and all.
    if (current === entry) {
      current = null;
      if (previous?.molecule) select(previous);
      else {
        viewer.show([], []);
        $('frame-info').textContent = '';
        updateControls();
      }
    }
    throw err;
  }
  // The last frame is the sampled molecule; its bonds and stability come from the core.
  const last = entry.frames[entry.frames.length - 1];
  const st = stability(last);
  entry.molecule = { elements: last.elements, positions: last.positions, bonds: bonds(last), stable: st.stable,
    stableAtoms: st.stableAtoms, formula: formula(last.elements) };
  addCard(entry);
  if (current === entry) select(entry);
  scoreCard(entry);
  return entry;
}

/** Reads the sampling fields; null (with the message next to the field) when one is out of range. */
function sampleSettings() {
  try {
    return {
      atoms: readNumber('atoms', { what: 'Atoms', min: 0, max: 29 }),
      seed: readNumber('seed', { what: 'Seed', min: 0, max: 2 ** 31 - 1 }),
      count: readNumber('count', { what: 'Count', min: 1, max: 20 }),
      tol: Number($('tol').value),
    };
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    setStatus(`Not sampled: ${err.message}.`, true);
    return null;
  }
}

async function runSampling(/** @type {{ atoms: number, seed: number, count: number, tol: number }} */ s) {
  sampleAbort = new AbortController();
  sampling = true;
  updateControls();
  writeUrl(s);
  // On a phone the viewer is below the controls: bring it into view.
  if (window.matchMedia('(max-width: 980px)').matches) $('viewer').scrollIntoView({ behavior: 'smooth', block: 'start' });
  try {
    for (let k = 0; k < s.count; k++) {
      setStatus(`Sampling ${k + 1}/${s.count} (seed ${s.seed + k})…`);
      const t0 = performance.now();
      const e = await streamSample({ seed: s.seed + k, atoms: s.atoms, tol: s.tol, signal: sampleAbort.signal });
      demoState.samples += 1;
      setStatus(`Sampled ${e.molecule?.formula} (seed ${e.seed}) in ${((performance.now() - t0) / 1000).toFixed(2)} s on this machine.`);
    }
  } catch (err) {
    setStatus(isAbort(err) ? 'Sampling cancelled.' : `Sampling failed: ${messageOf(err)}`, !isAbort(err));
    demoState.sampleErrors = (demoState.sampleErrors ?? 0) + 1;
  } finally {
    sampling = false;
    sampleAbort = null;
    /** @type {any} */ ($('sample-progress')).value = 0;
    updateControls();
  }
}

$('sample').addEventListener('click', () => {
  const s = sampleSettings();
  if (s) void runSampling(s);
});
$('cancel-sample').addEventListener('click', () => sampleAbort?.abort());
$('dice').addEventListener('click', () => {
  $('seed').value = String(Math.floor(Math.random() * 1e6));
  $('seed').dispatchEvent(new Event('input'));
});

// ---------- shareable URL: ?atoms=&seed=&tol=&count= and #view ----------
/** @param {{ atoms: number, seed: number, count: number, tol: number }} s */
function writeUrl(s) {
  const q = new URLSearchParams({ atoms: String(s.atoms), seed: String(s.seed), tol: String(s.tol) });
  if (s.count > 1) q.set('count', String(s.count));
  history.replaceState(null, '', `?${q}${location.hash}`);
}
/** Fills the fields from the URL; true when it names a sample to show. */
function readUrl() {
  const q = new URLSearchParams(location.search);
  for (const key of ['atoms', 'seed', 'count']) if (q.has(key)) $(key).value = /** @type {string} */ (q.get(key));
  const tol = q.get('tol');
  if (tol && [...$('tol').querySelectorAll('option')].some((o) => Number(o.value) === Number(tol)))
    $('tol').value = /** @type {string} */ ([...$('tol').querySelectorAll('option')].find((o) => Number(o.value) === Number(tol))?.value);
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  return q.has('seed');
}

// ---------- export ----------
/** @param {Entry} entry @param {'xyz' | 'sdf'} kind */
function exportEntry(entry, kind) {
  if (!entry.molecule) return;
  const name = entry.kind === 'scored' ? 'scored' : `enf-${entry.seed}${entry.kind === 'rotated' ? '-rotated' : ''}`;
  const title = entry.kind === 'scored' ? `${entry.label}` : `enf-wasm sample, seed ${entry.seed}`;
  if (kind === 'xyz') download(`${name}.xyz`, toXYZ(entry.molecule, title), 'chemical/x-xyz');
  else download(`${name}.sdf`, toSDF(entry.molecule, title), 'chemical/x-mdl-sdfile');
}
$('export-xyz').addEventListener('click', () => current && exportEntry(current, 'xyz'));
$('export-sdf').addEventListener('click', () => current && exportEntry(current, 'sdf'));
$('copy-xyz').addEventListener('click', async () => {
  if (!current?.molecule) return;
  try {
    await navigator.clipboard.writeText(toXYZ(current.molecule));
    setStatus('XYZ copied to the clipboard.');
  } catch (err) {
    setStatus(`Clipboard unavailable (${messageOf(err)}); use the XYZ button instead.`, true);
  }
});

// ---------- equivariance ----------
$('rotate').addEventListener('click', async () => {
  const base = current;
  if (!base?.molecule || sampling || base.kind === 'scored') return;
  const R = randomRotation();
  sampleAbort = new AbortController();
  sampling = true;
  updateControls();
  $('equivariance').textContent = 'Sampling the same latent, rotated…';
  try {
    // The exact latent of the shown molecule: same seed, same size request (a p(M) draw included),
    // same tolerance; only the rotation differs.
    const entry = await streamSample({ seed: base.seed, atoms: base.atoms, tol: base.tol, signal: sampleAbort.signal, rotation: R, kind: 'rotated' });
    const p = base.molecule.positions;
    const q = /** @type {Shown} */ (entry.molecule).positions;
    const same = entry.frames.at(-1)?.elements.every((e, i) => e === base.molecule?.elements[i]) &&
      q.length === p.length;
    let worst = Infinity;
    let rmsd = Infinity;
    if (same) {
      worst = 0;
      for (let i = 0; i < p.length / 3; i++)
        for (let r = 0; r < 3; r++) {
          const rp = R[3 * r] * p[3 * i] + R[3 * r + 1] * p[3 * i + 1] + R[3 * r + 2] * p[3 * i + 2];
          worst = Math.max(worst, Math.abs(rp - q[3 * i + r]));
        }
      rmsd = kabsch(p, q).rmsd;
    }
    demoState.equivariance = { same, worst, rmsd };
    $('equivariance').textContent = same
      ? `Rotated latent → the same atoms, rotated: RMSD after optimal alignment ${rmsd.toExponential(1)} Å; ` +
        `max |R·x − x_rot| = ${worst.toExponential(1)} Å (solver tolerance ${base.tol.toExponential(0)}).`
      : 'Rotated latent → different atoms: equivariance is broken here (please report it).';
  } catch (err) {
    $('equivariance').textContent = isAbort(err) ? 'Cancelled.' : messageOf(err);
  } finally {
    sampling = false;
    sampleAbort = null;
    /** @type {any} */ ($('sample-progress')).value = 0;
    updateControls();
  }
});

// ---------- scoring ----------
async function loadBuiltins() {
  try {
    const res = await fetch(new URL('qm9-samples.json', document.baseURI));
    if (!res.ok) return;
    const list = await res.json();
    for (const m of list) {
      const opt = document.createElement('option');
      opt.value = m.xyz;
      opt.textContent = `${m.name}: ${m.formula}`;
      $('builtin').append(opt);
    }
  } catch { /* the built-in set is optional */ }
}
$('builtin').addEventListener('change', () => {
  if ($('builtin').value) $('xyz-input').value = $('builtin').value;
  updateEstimate();
});

const input = $('xyz-input');
input.addEventListener('dragover', (e) => e.preventDefault());
input.addEventListener('drop', async (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (file) input.value = await file.text();
  updateEstimate();
});
input.addEventListener('input', () => {
  // Edited text is no longer the picked QM9 molecule.
  if ($('builtin').value && $('builtin').value !== input.value) $('builtin').value = '';
  updateEstimate();
});
$('trace').addEventListener('change', () => updateEstimate());

// Exact-trace cost grows as M³ (9M Jacobian columns per step, each an O(M²) network pass): measured
// 18.7 s for 19 atoms in Node on a 2-core machine. The estimate rescales by this machine's speed,
// taken from the last Hutchinson score when there is one (its cost grows as M²).
let speed = { atoms: 19, hutchMs: 0 };
// A cross-origin-isolated page splits the exact trace over all workers (about 1.8x faster on two).
const splitParts = () => (globalThis.crossOriginIsolated && model ? model.workers : 1);
function exactEstimateSeconds(/** @type {number} */ atoms) {
  const base = (18.7 * (atoms / 19) ** 3) / (splitParts() > 1 ? 0.9 * splitParts() : 1);
  if (!speed.hutchMs) return base;
  // Reference: a 4-probe Hutchinson score of 19 atoms took 0.66 s on the machine above.
  const factor = speed.hutchMs / (660 * (speed.atoms / 19) ** 2);
  return base * Math.min(10, Math.max(0.1, factor));
}

function updateEstimate() {
  const el = $('score-estimate');
  if ($('trace').value !== 'exact') {
    el.textContent = 'Hutchinson: one stochastic estimate of the trace per probe; more probes shrink the standard error.';
    $('probes').disabled = false;
    return;
  }
  $('probes').disabled = true;
  let atoms = 0;
  try {
    const many = isSdf(input.value) ? parseSDF(input.value).filter((r) => r.molecule) : [];
    atoms = many.length > 1 ? Math.max(...many.map((r) => r.molecule?.elements.length ?? 0)) : parseMolecule(input.value).elements.length;
  } catch { /* estimated once the text parses */ }
  const s = atoms ? exactEstimateSeconds(atoms) : 0;
  el.textContent = atoms
    ? `Exact trace: about ${s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`} for ${atoms} atoms on this machine (an estimate; Cancel stops it).`
    : 'Exact trace: the whole Jacobian per step, deterministic but slow (about 20 s for 19 atoms, over a minute for 29).';
}

/** @param {string} name @param {string} value @param {string} [title] */
function resultRow(name, value, title) {
  const tr = document.createElement('tr');
  const a = document.createElement('td');
  const b = document.createElement('td');
  a.textContent = name;
  b.textContent = value;
  if (title) a.title = title;
  tr.append(a, b);
  return tr;
}

$('score').addEventListener('click', async () => {
  if (!model) return;
  $('score-error').textContent = '';
  $('score-result').replaceChildren();
  const trace = /** @type {'exact' | 'hutchinson'} */ ($('trace').value);
  let probes = 1;
  try {
    if (trace === 'hutchinson') probes = readNumber('probes', { what: 'Probes', min: 1, max: 64 });
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    $('score-error').textContent = `Not scored: ${err.message}.`;
    return;
  }
  // An SDF with several records: all of them, each a card (scoreMany over the pool).
  if (isSdf(input.value)) {
    let records;
    try {
      records = parseSDF(input.value);
    } catch (err) {
      $('score-error').textContent = messageOf(err);
      return;
    }
    if (records.length > 1) return scoreRecords(records, trace, probes);
  }
  let molecule;
  try {
    molecule = parseMolecule(input.value);
  } catch (err) {
    $('score-error').textContent = messageOf(err);
    return;
  }
  scoreAbort = new AbortController();
  $('score').disabled = true;
  $('cancel-score').disabled = false;
  try {
    const r = await model.score(molecule, {
      trace, probes, samples: 1, seed: 0, signal: scoreAbort.signal, ...(trace === 'exact' ? { split: 'pool' } : {}),
      onProgress: (p) => { /** @type {any} */ ($('score-progress')).value = p; },
    });
    if (trace === 'hutchinson') speed = { atoms: r.atoms, hutchMs: (r.ms * 4) / probes };
    demoState.lastScore = r;
    /** @param {number | null} x */
    const fmt = (x) => (x !== null && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
    $('score-result').append(
      resultRow('log p(x, h, M)', `${fmt(r.logLikelihood)} nats`, 'A lower bound on the log-likelihood of positions, atom types and atom count (variational dequantization of the types).'),
      resultRow('per atom', `${fmt(r.perAtom)} nats`, TYPICAL),
      resultRow('std. error', r.stderr !== null && Number.isFinite(r.stderr) ? `${fmt(r.stderr)} nats (${probes} probes)` : trace === 'exact' ? 'exact trace: none from the trace' : 'one probe: n/a (use 2 or more)'),
      resultRow('log p_Z', fmt(r.terms.logPz), 'The Gaussian prior density of the latent the ODE reaches (zero centre of mass).'),
      resultRow('Δ log p', fmt(r.terms.deltaLogp), 'The change of volume along the flow: the integral of the velocity field\'s divergence (trace).'),
      resultRow('log q', fmt(r.terms.logQ), 'The dequantization distribution\'s log density of the noise added to the discrete atom types (subtracted).'),
      resultRow('log p(M)', fmt(r.terms.logPM), 'The probability of this atom count under the QM9 training distribution.'),
      resultRow('evaluations', String(r.nfe)),
      resultRow('time', `${(r.ms / 1000).toFixed(2)} s (${trace}${r.parts && r.parts > 1 ? `, split over ${r.parts} workers` : ''})`));
    $('score-typical').textContent = `${TYPICAL}. Higher is more typical of QM9; log p is a density, so it can exceed 0.`;
    showScored(molecule, r.logLikelihood, r.stderr);
  } catch (err) {
    $('score-error').textContent = isAbort(err) ? 'Scoring cancelled.' : messageOf(err);
  } finally {
    $('score').disabled = false;
    $('cancel-score').disabled = true;
    /** @type {any} */ ($('score-progress')).value = 0;
  }
});
$('cancel-score').addEventListener('click', () => scoreAbort?.abort());

/** Whether the text is an SDF / MOL file (its 4th line is a V2000 / V3000 counts line). */
function isSdf(/** @type {string} */ text) {
  return /^(?:[^\n]*\n){3}[^\n]*V[23]000/.test(text);
}

/**
 * Scores every record of an SDF: a card per molecule, a line per record that could not be read.
 * @param {import('enf-wasm').SdfRecord[]} records @param {'exact' | 'hutchinson'} trace @param {number} probes
 */
async function scoreRecords(records, trace, probes) {
  if (!model) return;
  scoreAbort = new AbortController();
  $('score').disabled = true;
  $('cancel-score').disabled = false;
  try {
    const items = await model.scoreMany(input.value, {
      trace, probes, samples: 1, seed: 0, signal: scoreAbort.signal,
      onProgress: (f) => { /** @type {any} */ ($('score-progress')).value = f; },
    });
    let scored = 0;
    const failures = [];
    for (const it of items) {
      const r = records[it.index];
      if (it.score && r?.molecule) {
        scored += 1;
        showScored(r.molecule, it.score.logLikelihood, it.score.stderr, r.title || `record ${it.index + 1}`);
      } else failures.push(it.error?.message ?? `record ${it.index + 1} failed`);
    }
    demoState.lastScoreMany = { scored, failed: failures.length };
    $('score-result').replaceChildren(resultRow('molecules scored', `${scored} of ${items.length} (each is a card)`));
    $('score-typical').textContent = `${TYPICAL}.`;
    $('score-error').textContent = failures.join('\n');
  } catch (err) {
    $('score-error').textContent = isAbort(err) ? 'Scoring cancelled.' : messageOf(err);
  } finally {
    $('score').disabled = false;
    $('cancel-score').disabled = true;
    /** @type {any} */ ($('score-progress')).value = 0;
  }
}

/** The scored molecule joins the gallery and the viewer. */
function showScored(/** @type {{ elements: string[], positions: ArrayLike<number> }} */ m, /** @type {number} */ logp, /** @type {number | null} */ stderr, /** @type {string} */ title = '') {
  const positions = Float32Array.from(m.positions);
  const frame = { index: 0, t: 0, elements: m.elements, positions };
  const st = stability(frame);
  const opt = /** @type {HTMLSelectElement} */ (/** @type {unknown} */ ($('builtin'))).selectedOptions[0];
  const label = title || (opt && opt.value === input.value ? opt.textContent ?? 'scored molecule' : 'your molecule');
  /** @type {Entry} */
  const entry = {
    kind: 'scored', seed: 0, atoms: m.elements.length, tol: 0, label,
    frames: [/** @type {any} */ (frame)],
    molecule: { elements: m.elements, positions, bonds: bonds(frame), stable: st.stable, stableAtoms: st.stableAtoms, formula: formula(m.elements) },
  };
  addCard(entry);
  setCardScore(entry, `log p ${logp.toFixed(1)}${stderr !== null && Number.isFinite(stderr) ? ` ± ${stderr.toFixed(1)}` : ''} nats`);
  select(entry);
}

// ---------- start ----------
const PHASE_TEXT = { download: 'downloading the weights', compile: 'compiling WebAssembly', workers: 'starting workers', ready: 'ready' };
(async () => {
  setPlayButton(false);
  updateEstimate();
  void loadBuiltins();
  const fromUrl = readUrl();
  try {
    const t0 = performance.now();
    // Leave one core to the page itself so it stays responsive while the workers compute.
    const workers = Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
    model = await loadModel('qm9', {
      workers,
      onProgress: (fraction, p) => setStatus(`Loading the model: ${PHASE_TEXT[p.phase]}` +
        (p.phase === 'download' && p.loaded ? ` (${(p.loaded / 1e6).toFixed(1)}${p.total ? ` of ${(p.total / 1e6).toFixed(1)}` : ''} MB)` : '') +
        `, ${Math.round(100 * fraction)} %`),
    });
    setStatus(`Model loaded in ${Math.round(performance.now() - t0)} ms.`);
    // Call the main-thread helpers once now: the browser compiles WebAssembly functions lazily, on
    // their first call, and that should not happen while frames stream.
    const h2 = { elements: ['H', 'H'], positions: [0, 0, 0, 0, 0, 0.74] };
    bonds(h2);
    stability(h2);
    $('score').disabled = false;
    reportView.enable();
    updateControls();
    // First visit: a stable molecule to look at; a shared link: the molecule it names.
    if (!fromUrl) {
      $('atoms').value = String(SHOWCASE.atoms);
      $('seed').value = String(SHOWCASE.seed);
      $('tol').value = SHOWCASE.tol;
    }
    const s = sampleSettings();
    if (s) {
      const t1 = performance.now();
      await runSampling({ ...s, count: fromUrl ? s.count : 1 });
      const shown = /** @type {Entry | null} */ (current);
      if (!fromUrl && shown?.molecule)
        setStatus(`A first molecule, ${shown.molecule.formula}, sampled here in ${((performance.now() - t1) / 1000).toFixed(1)} s. ` +
          'Press Random, then Sample, for another.');
    }
    // The tests' counters start after the first molecule.
    Object.assign(demoState, { frames: 0, samples: 0, sampleErrors: 0, ready: true });
  } catch (err) {
    setStatus(`Could not load the model: ${messageOf(err)}`, true);
  }
})();
