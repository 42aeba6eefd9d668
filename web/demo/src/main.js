// The demo page: sample molecules while their trajectories stream into the viewer, browse them,
// export them, check equivariance, and score molecules. All heavy work runs in the package's
// worker pool; this file only wires the page.
import { bonds, formula, loadModel, stability, toSDF, toXYZ } from 'enf-wasm';
import { download } from './download.js';
import { MoleculeViewer } from './viewer.js';
import { setupReport } from './report.js';
import { setupTrain } from './train.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
const viewer = new MoleculeViewer($('viewer'));
let model = null;
let current = null;       // { molecule, frames, score }
const gallery = [];       // entries like `current`
let playing = false;
let sampleAbort = null;
let scoreAbort = null;
// Counters the browser tests read (frames streamed, molecules finished).
const demoState = (window.__enfDemo = { frames: 0, samples: 0, ready: false, viewer });
const reportView = setupReport({ getModel: () => model, state: demoState });
setupTrain({ state: demoState });

function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function showError(where, err) {
  const msg = err && err.message ? err.message : String(err);
  if (where) where.textContent = msg;
  else setStatus(msg, true);
}

// ---------- trajectory playback ----------
function showFrame(entry, k) {
  const f = entry.frames[k];
  f.bonds ??= bonds(f);
  viewer.show(f.elements, f.positions, f.bonds);
  $('scrub').value = String(k);
  $('frame-info').textContent = `frame ${k + 1}/${entry.frames.length}  t = ${f.t.toFixed(3)}` +
    (k === entry.frames.length - 1 ? '  (molecule)' : '');
}

function select(entry) {
  current = entry;
  demoState.molecule = entry.molecule;
  $('scrub').max = String(entry.frames.length - 1);
  $('scrub').disabled = false;
  $('play').disabled = false;
  for (const id of ['export-xyz', 'export-sdf', 'copy-xyz', 'rotate']) $(id).disabled = !entry.molecule;
  showFrame(entry, entry.frames.length - 1);
  viewer.fit();
  for (const card of document.querySelectorAll('.card')) card.classList.toggle('selected', card.entry === entry);
}

async function play() {
  if (!current || playing) return;
  playing = true;
  $('play').textContent = '⏸';
  const n = current.frames.length;
  let k = Number($('scrub').value);
  if (k >= n - 1) k = 0;
  while (playing) {
    showFrame(current, k);
    await new Promise((r) => setTimeout(r, 60));
    k += 1;
    if (k >= n) {
      if (!$('loop').checked) break;
      await new Promise((r) => setTimeout(r, 600));
      k = 0;
    }
  }
  playing = false;
  $('play').textContent = '▶';
}

$('play').addEventListener('click', () => (playing ? (playing = false) : play()));
$('scrub').addEventListener('input', () => { playing = false; if (current) showFrame(current, Number($('scrub').value)); });
$('fit').addEventListener('click', () => viewer.fit());

// ---------- gallery ----------
function addCard(entry) {
  const card = document.createElement('div');
  card.className = 'card';
  card.entry = entry;
  const m = entry.molecule;
  const stable = m.stable;
  card.innerHTML = `<div><span class="formula"></span><span class="badge ${stable ? 'stable' : 'unstable'}">${stable ? 'stable' : 'unstable'}</span></div>
    <div class="meta seed"></div><div class="meta ll">log p: scoring…</div>`;
  card.querySelector('.formula').textContent = m.formula;
  card.querySelector('.seed').textContent = `seed ${entry.seed} · ${m.elements.length} atoms`;
  card.addEventListener('click', () => { playing = false; select(entry); });
  $('gallery').prepend(card);
  entry.card = card;
}

function setCardScore(entry, text) {
  if (entry.card) entry.card.querySelector('.ll').textContent = text;
}

// ---------- sampling ----------
async function sampleOne(seed, atoms, tol, signal) {
  const entry = { seed, frames: [], molecule: null };
  gallery.push(entry);
  current = entry;
  let shown = -1;
  let lastDraw = 0;
  let streaming = true;  // a throttled draw still pending after the solve must not undo a scrub
  // Draw the newest streamed frame at most every 80 ms: the ODE delivers frames in bursts, and
  // drawing each one competes with the workers for the CPU on small machines.
  const draw = () => {
    if (streaming && entry.frames.length - 1 > shown && current === entry) {
      const now = performance.now();
      if (now - lastDraw < 80 && shown >= 0) return void setTimeout(() => requestAnimationFrame(draw), 80 - (now - lastDraw));
      lastDraw = now;
      shown = entry.frames.length - 1;
      showFrame(entry, shown);
      if (shown === 0) viewer.fit();
    }
  };
  for await (const frame of model.sampleTrajectory({ atoms: atoms || undefined, seed, frames: 50, rtol: tol, atol: tol, signal })) {
    entry.frames.push(frame);
    demoState.frames += 1;
    $('sample-progress').value = (1 - frame.t);
    requestAnimationFrame(draw);
  }
  streaming = false;
  // The last frame is the sampled molecule; its bonds and stability come from the core.
  const last = entry.frames[entry.frames.length - 1];
  const st = stability(last);
  entry.molecule = { elements: last.elements, positions: last.positions, bonds: bonds(last), stable: st.stable,
    stableAtoms: st.stableAtoms, formula: formula(last.elements) };
  addCard(entry);
  select(entry);
  demoState.samples += 1;
  model.score(entry.molecule, { trace: 'hutchinson', seed: 0 })
    .then((r) => setCardScore(entry, `log p ${r.logLikelihood.toFixed(2)} nats`))
    .catch((e) => setCardScore(entry, `score failed: ${e.message}`));
  return entry;
}

$('sample').addEventListener('click', async () => {
  const atoms = Number($('atoms').value);
  const seed = Number($('seed').value);
  const count = Math.max(1, Math.min(20, Number($('count').value) || 1));
  const tol = Number($('tol').value);
  sampleAbort = new AbortController();
  $('sample').disabled = true;
  $('cancel-sample').disabled = false;
  try {
    for (let k = 0; k < count; k++) {
      setStatus(`Sampling ${k + 1}/${count} (seed ${seed + k})…`);
      const t0 = performance.now();
      const e = await sampleOne(seed + k, atoms, tol, sampleAbort.signal);
      setStatus(`Sampled ${e.molecule.formula} in ${((performance.now() - t0) / 1000).toFixed(2)} s on this machine.`);
    }
  } catch (err) {
    showError(null, err);
  } finally {
    $('sample').disabled = false;
    $('cancel-sample').disabled = true;
    $('sample-progress').value = 0;
  }
});
$('cancel-sample').addEventListener('click', () => sampleAbort && sampleAbort.abort());
$('dice').addEventListener('click', () => { $('seed').value = String(Math.floor(Math.random() * 1e6)); });

// ---------- export ----------
$('export-xyz').addEventListener('click', async () => {
  download(`enf-${current.seed}.xyz`, toXYZ(current.molecule, `enf-wasm sample, seed ${current.seed}`), 'chemical/x-xyz');
});
$('export-sdf').addEventListener('click', async () => {
  download(`enf-${current.seed}.sdf`, toSDF(current.molecule, `enf-wasm sample, seed ${current.seed}`), 'chemical/x-mdl-sdfile');
});
$('copy-xyz').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(toXYZ(current.molecule));
    setStatus('XYZ copied to the clipboard.');
  } catch (err) {
    showError(null, new Error(`Clipboard unavailable (${err.message}); use the XYZ button instead.`));
  }
});

// ---------- equivariance ----------
function randomRotation() {
  // Uniform random rotation from a random unit quaternion.
  const u = [Math.random(), Math.random(), Math.random()];
  const q = [Math.sqrt(1 - u[0]) * Math.sin(2 * Math.PI * u[1]), Math.sqrt(1 - u[0]) * Math.cos(2 * Math.PI * u[1]),
    Math.sqrt(u[0]) * Math.sin(2 * Math.PI * u[2]), Math.sqrt(u[0]) * Math.cos(2 * Math.PI * u[2])];
  const [x, y, z, w] = q;
  return [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)];
}

$('rotate').addEventListener('click', async () => {
  if (!current || !current.molecule) return;
  const R = randomRotation();
  const tol = Number($('tol').value);
  const base = current;
  $('rotate').disabled = true;
  try {
    const entry = { seed: base.seed, frames: [], molecule: null, rotated: true };
    for await (const frame of model.sampleTrajectory({ atoms: base.molecule.elements.length, seed: base.seed, frames: 50, rtol: tol, atol: tol, rotation: R })) {
      entry.frames.push(frame);
      current = entry;
      requestAnimationFrame(() => showFrame(entry, entry.frames.length - 1));
    }
    const last = entry.frames[entry.frames.length - 1];
    const st = stability(last);
    entry.molecule = { elements: last.elements, positions: last.positions, formula: formula(last.elements),
      stable: st.stable, stableAtoms: st.stableAtoms, bonds: bonds(last) };
    select(entry);
    // Compare with R applied to the unrotated molecule.
    const p = base.molecule.positions, q = last.positions;
    let worst = 0;
    for (let i = 0; i < p.length / 3; i++) {
      for (let r = 0; r < 3; r++) {
        const rp = R[3 * r] * p[3 * i] + R[3 * r + 1] * p[3 * i + 1] + R[3 * r + 2] * p[3 * i + 2];
        worst = Math.max(worst, Math.abs(rp - q[3 * i + r]));
      }
    }
    const same = last.elements.every((e, i) => e === base.molecule.elements[i]);
    $('equivariance').textContent = `Rotated latent → ${same ? 'same atoms' : 'different atoms'}; ` +
      `max |R·x − x_rot| = ${worst.toExponential(1)} Å.`;
  } catch (err) {
    showError($('equivariance'), err);
  } finally {
    $('rotate').disabled = false;
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
      opt.textContent = `${m.name} (${m.formula})`;
      $('builtin').append(opt);
    }
  } catch { /* the built-in set is optional */ }
}
$('builtin').addEventListener('change', () => { if ($('builtin').value) $('xyz-input').value = $('builtin').value; });

const input = $('xyz-input');
input.addEventListener('dragover', (e) => e.preventDefault());
input.addEventListener('drop', async (e) => {
  e.preventDefault();
  const file = e.dataTransfer.files[0];
  if (file) input.value = await file.text();
});

function resultRow(name, value) {
  const tr = document.createElement('tr');
  const a = document.createElement('td');
  const b = document.createElement('td');
  a.textContent = name;
  b.textContent = value;
  tr.append(a, b);
  return tr;
}

$('score').addEventListener('click', async () => {
  $('score-error').textContent = '';
  $('score-result').replaceChildren();
  scoreAbort = new AbortController();
  $('score').disabled = true;
  $('cancel-score').disabled = false;
  const trace = $('trace').value;
  try {
    const r = await model.score(input.value, {
      trace, probes: 1, samples: 1, seed: 0, signal: scoreAbort.signal,
      onProgress: (p) => { $('score-progress').value = p; },
    });
    demoState.lastScore = r;
    const fmt = (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
    $('score-result').append(
      resultRow('log p(x, h, M)', `${fmt(r.logLikelihood)} nats`),
      resultRow('per atom', `${fmt(r.perAtom)} nats`),
      resultRow('std. error', Number.isFinite(r.stderr) ? `${fmt(r.stderr)} nats` : 'one sample: n/a'),
      resultRow('log p_Z', fmt(r.terms.logPz)),
      resultRow('Δ log p', fmt(r.terms.deltaLogp)),
      resultRow('log q', fmt(r.terms.logQ)),
      resultRow('log p(M)', fmt(r.terms.logPM)),
      resultRow('evaluations', String(r.nfe)),
      resultRow('time', `${(r.ms / 1000).toFixed(2)} s (${trace})`));
  } catch (err) {
    showError($('score-error'), err);
  } finally {
    $('score').disabled = false;
    $('cancel-score').disabled = true;
    $('score-progress').value = 0;
  }
});
$('cancel-score').addEventListener('click', () => scoreAbort && scoreAbort.abort());

// ---------- start ----------
(async () => {
  loadBuiltins();
  try {
    const t0 = performance.now();
    // Leave one core to the page itself so it stays responsive while the workers compute.
    const workers = Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
    model = await loadModel('qm9', { workers, onProgress: (p) => setStatus(`Loading model… ${p.phase} ${p.loaded}/${p.total || '?'}`) });
    setStatus(`Model loaded in ${Math.round(performance.now() - t0)} ms. Press Sample.`);
    // Call the main-thread helpers once now: the browser compiles WebAssembly functions lazily, on
    // their first call, and that should not happen while frames stream.
    const h2 = { elements: ['H', 'H'], positions: [0, 0, 0, 0, 0, 0.74] };
    bonds(h2);
    stability(h2);
    $('sample').disabled = false;
    $('score').disabled = false;
    reportView.enable();
    demoState.ready = true;
  } catch (err) {
    showError(null, err);
  }
})();
