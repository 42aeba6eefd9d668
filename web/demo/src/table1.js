// @ts-check
// The demo's "Table 1" view: two rows of the paper's Table 1 train side by side on the same MCMC
// data (live validation curves), then the symmetry check scores one held-out configuration and its
// rotation, reflection and relabelling under both: an equivariant flow (E-NF, Simple or Kernel
// dynamics) gives them one log-likelihood, GNF does not, and GNF-att-aug, trained on rotated data,
// moves less. Each trainer runs in its own worker.
import { FieldError, readNumber } from './fields.js';
import { BUILT_IN_SYSTEMS, TRAINING_METHODS, createTrainer, loadParticleFlow } from 'enf-wasm';

// The paper's Table 1 (test NLL, mean of 3 runs), from the core's registry: its training sizes per
// system and each method's figures.
const PAPER = Object.fromEntries(
  ['dw4', 'lj13'].map((system) => [
    system,
    {
      sizes: Object.keys(TRAINING_METHODS[0].paper[system]).map(Number),
      ...Object.fromEntries(TRAINING_METHODS.map((m) => [m.name, Object.values(m.paper[system])])),
    },
  ]),
);
// The runs we trained with the paper's schedule and ship (weights/table1/README.md is their card;
// LJ13's E-NF is weights/lj13, trained before the grid existed); Vite copies them into the build.
const SHIPPED = {
  dw4: {
    n: 1000,
    'E-NF': new URL('../../../weights/table1/dw4-n1000-e-nf-run1.safetensors', import.meta.url),
    GNF: new URL('../../../weights/table1/dw4-n1000-gnf-run1.safetensors', import.meta.url),
    'GNF-att': new URL('../../../weights/table1/dw4-n1000-gnf-att-run1.safetensors', import.meta.url),
    'GNF-att-aug': new URL('../../../weights/table1/dw4-n1000-gnf-att-aug-run1.safetensors', import.meta.url),
    'Simple dynamics': new URL('../../../weights/table1/dw4-n1000-simple-dynamics-run1.safetensors', import.meta.url),
    'Kernel dynamics': new URL('../../../weights/table1/dw4-n1000-kernel-dynamics-run1.safetensors', import.meta.url),
  },
  lj13: {
    n: 100,
    'E-NF': new URL('../../../weights/lj13.safetensors', import.meta.url),
    GNF: new URL('../../../weights/table1/lj13-n100-gnf-run1.safetensors', import.meta.url),
    'GNF-att': new URL('../../../weights/table1/lj13-n100-gnf-att-run1.safetensors', import.meta.url),
    'GNF-att-aug': new URL('../../../weights/table1/lj13-n100-gnf-att-aug-run1.safetensors', import.meta.url),
    'Simple dynamics': new URL('../../../weights/table1/lj13-n100-simple-dynamics-run1.safetensors', import.meta.url),
    'Kernel dynamics': new URL('../../../weights/table1/lj13-n100-kernel-dynamics-run1.safetensors', import.meta.url),
  },
};

/** The safetensors header's __metadata__. */
function metadataOf(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))).__metadata__ ?? {};
}

const SYSTEMS = BUILT_IN_SYSTEMS.filter((s) => s.name in PAPER);
// Page-sized runs: LJ13's graph is 13x larger per sample, so smaller batches and validation sets.
const DEFAULTS = { dw4: { nTrain: 1000, nVal: 200, batch: 100, epochs: 3 }, lj13: { nTrain: 100, nVal: 50, batch: 10, epochs: 2 } };
const COLORS = ['#3b8fd9', '#e8702a'];
const fmt = (v, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** Validation NLL after each epoch for both methods (dots), and their training losses (thin). */
function curvesSvg(runs) {
  const W = 640;
  const H = 220;
  const m = { l: 46, r: 12, t: 14, b: 30 };
  const values = runs.flatMap((r) => [...r.losses, ...r.validation.map((v) => v.nll)]).filter(Number.isFinite);
  const steps = Math.max(1, ...runs.map((r) => r.losses.length));
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  lo -= 0.05 * (hi - lo);
  hi += 0.05 * (hi - lo);
  const X = (s) => m.l + ((W - m.l - m.r) * s) / steps;
  const Y = (v) => m.t + (H - m.t - m.b) * (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="train-curve" data-plot="table1" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Validation NLL of both methods per step" font-family="system-ui, sans-serif" font-size="11" fill="currentColor">`,
  ];
  for (let k = 0; k <= 4; ++k) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="currentColor" stroke-opacity="0.15"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  runs.forEach((r, k) => {
    if (r.losses.length)
      parts.push(`<path d="${r.losses.map((v, i) => `${i ? 'L' : 'M'}${X(i + 1).toFixed(1)},${Y(v).toFixed(1)}`).join('')}" fill="none" stroke="${COLORS[k]}" stroke-opacity="0.35" stroke-width="1"/>`);
    if (r.validation.length) {
      parts.push(`<path class="series-${k}" d="${r.validation.map((v, i) => `${i ? 'L' : 'M'}${X(v.step).toFixed(1)},${Y(v.nll).toFixed(1)}`).join('')}" fill="none" stroke="${COLORS[k]}" stroke-width="2"/>`);
      for (const v of r.validation) parts.push(`<circle cx="${X(v.step).toFixed(1)}" cy="${Y(v.nll).toFixed(1)}" r="3" fill="${COLORS[k]}"/>`);
    }
  });
  const ly = H - 8;
  runs.forEach((r, k) => {
    const x = m.l + k * 230;
    parts.push(`<rect x="${x}" y="${ly - 5}" width="10" height="3" fill="${COLORS[k]}"/><text x="${x + 14}" y="${ly}" font-size="12">${r.method}: validation NLL (dots)</text>`);
  });
  parts.push(`<text x="${W - m.r}" y="${ly}" text-anchor="end">step ${Math.max(0, ...runs.map((r) => r.losses.length))}</text></svg>`);
  return parts.join('');
}

/** A rotation by `angle` (2-D) or about a random axis (3-D), as rows. */
function rotation(dim, angle, axisSeed) {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  if (dim === 2) return [[c, -s], [s, c]];
  const a = [Math.sin(axisSeed), Math.cos(axisSeed * 1.7), Math.sin(axisSeed * 2.3) + 0.5];
  const n = Math.hypot(...a);
  const [x, y, z] = a.map((v) => v / n);
  return [
    [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
    [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
    [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)],
  ];
}

/** Particle i of the result is R x[perm[i]]. */
function act(x, dim, R, perm) {
  const out = new Float64Array(x.length);
  for (let i = 0; i < perm.length; ++i)
    for (let r = 0; r < dim; ++r) {
      let v = 0;
      for (let c = 0; c < dim; ++c) v += R[r][c] * x[perm[i] * dim + c];
      out[i * dim + r] = v;
    }
  return out;
}

/** Wires the view; `state` is the page's test hook (window.__enfDemo). */
export function setupTable1({ state }) {
  /** @param {string} id */
  const $ = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
  const progress = /** @type {HTMLProgressElement} */ (document.getElementById('t1-progress'));
  /** @type {any} */
  const ts = (state.table1 = { runs: [], check: null, trained: 0 });
  const option = (value, text) => Object.assign(document.createElement('option'), { value, textContent: text });
  $('t1-system').replaceChildren(...SYSTEMS.map((s) => option(s.name, `${s.label} (${s.particles} particles, ${s.dim}-D)`)));
  for (const [id, pick] of [['t1-a', 'E-NF'], ['t1-b', 'GNF']]) {
    $(id).replaceChildren(...TRAINING_METHODS.map((m) => option(m.name, `${m.name}${m.equivariant ? '' : ' (not equivariant)'}`)));
    $(id).value = pick;
  }
  /** @type {any[]} */
  let trainers = [];
  /** @type {AbortController | null} */
  let abort = null;
  /** @type {{ method: string, losses: number[], validation: { step: number, nll: number }[] }[]} */
  let runs = [];
  /** Our trained pair, when loaded: its flows, their test NLL and a held-out configuration. */
  /** @type {{ methods: string[], flows: any[], testNll: number[], x: Float64Array } | null} */
  let shipped = null;

  const system = () => $('t1-system').value;
  const say = (text, error = false) => {
    $('t1-status').textContent = text;
    $('t1-status').classList.toggle('error', error);
  };
  const busy = (on) => {
    // System and methods stay live: changing one stops the pair in flight and clears the view.
    for (const id of ['t1-n', 't1-seed', 't1-train']) $(id).disabled = on;
    $('t1-stop').disabled = !on;
    $('t1-check').disabled = on || (trainers.length !== 2 && !shipped);
    $('t1-shipped').disabled = on;
  };
  const int = (id, lo, hi, what) => readNumber(id, { what, min: lo, max: hi });
  const draw = () => {
    $('t1-curve').innerHTML = runs.length
      ? curvesSvg(runs)
      : '<p class="hint train-curve-empty">Both validation curves appear here while the two methods train, on the same data.</p>';
    const name = system();
    const paper = PAPER[name];
    // The paper's column matches what is shown: our trained pair's training size once loaded.
    const n = shipped ? SHIPPED[name].n : Number($('t1-n').value);
    const k = paper.sizes.indexOf(n);
    const ours = shipped ? ` · ours, test NLL (n = ${SHIPPED[name].n})` : '';
    const rows = [$('t1-a').value, $('t1-b').value].map((method, i) => {
      const run = runs[i]?.method === method ? runs[i] : null;
      const best = run && run.validation.length ? Math.min(...run.validation.map((v) => v.nll)) : NaN;
      const mine = shipped ? `<td>${fmt(shipped.testNll[i], 2)}</td>` : '';
      return `<tr><td><span class="swatch swatch-${i}"></span>${method}</td><td>${k >= 0 ? fmt(paper[method][k], 2) : '—'}</td><td>${fmt(best)}</td>${mine}</tr>`;
    });
    $('t1-table').innerHTML =
      `<table class="result t1-summary"><tr><th>method</th><th>paper, test NLL (n = ${k >= 0 ? n : `${paper.sizes.join(', ')} only`})</th><th>here, best validation NLL</th>${ours ? `<th>${ours.slice(3)}</th>` : ''}</tr>${rows.join('')}</table>`;
  };
  // Each run and check belongs to one generation; a change of system or method starts a new one, and
  // late callbacks of the old pair (progress, errors) are ignored.
  let generation = 0;
  const dispose = () => {
    generation++;
    abort?.abort();
    for (const t of trainers) t.dispose();
    trainers = [];
    for (const f of shipped?.flows ?? []) f.dispose();
    shipped = null;
  };

  const applyDefaults = () => {
    const d = DEFAULTS[system()];
    $('t1-n').value = String(d.nTrain);
    $('t1-epochs').value = String(d.epochs);
  };
  // Another system or method discards the pair: the curves and the check belong to what trained.
  for (const id of ['t1-system', 't1-a', 't1-b'])
    $(id).addEventListener('change', () => {
      dispose();
      abort = null;
      runs = [];
      Object.assign(ts, { runs: [], check: null, shipped: null });
      $('t1-check-out').innerHTML = '';
      if (id === 't1-system') applyDefaults();
      draw();
      busy(false);
      say('Press Train both: the two methods learn the same data side by side.');
    });
  applyDefaults();

  $('t1-train').addEventListener('click', async () => {
    let settings;
    try {
      settings = {
        nTrain: int('t1-n', 10, 100000, 'Training samples'),
        epochs: int('t1-epochs', 1, 1000, 'Epochs'),
        seed: int('t1-seed', 0, 2 ** 31, 'Seed'),
      };
    } catch (err) {
      if (err instanceof FieldError) return say(`Not started: ${err.message}.`, true);
      throw err;
    }
    dispose();
    const gen = generation;
    const live = () => gen === generation;
    const name = system();
    const d = DEFAULTS[name];
    const methods = [$('t1-a').value, $('t1-b').value];
    runs = methods.map((method) => ({ method, losses: [], validation: [] }));
    ts.runs = runs;
    ts.check = null;
    $('t1-check-out').innerHTML = '';
    abort = new AbortController();
    const signal = abort.signal;
    busy(true);
    draw();
    try {
      say(`Sampling ${settings.nTrain} training configurations by MCMC…`);
      const first = await createTrainer({
        system: /** @type {any} */ (name), method: /** @type {any} */ (methods[0]), nTrain: settings.nTrain, nVal: d.nVal,
        batch: d.batch, seed: settings.seed, signal, onProgress: ({ fraction }) => (progress.value = fraction),
      });
      if (!live()) return first.dispose();
      trainers.push(first);
      // The second trains on the first's samples: the same data, not merely the same chain.
      const second = await createTrainer({
        system: /** @type {any} */ (name), method: /** @type {any} */ (methods[1]), batch: d.batch, seed: settings.seed, signal,
        data: { train: first.data.train, val: first.data.val },
      });
      if (!live()) return second.dispose();
      trainers.push(second);
      say(`${methods[0]} and ${methods[1]}: validating the untrained flows…`);
      const untrained = await Promise.all(trainers.map((t) => t.validate({ signal })));
      if (!live()) return;
      untrained.forEach((nll, k) => runs[k].validation.push({ step: 0, nll }));
      draw();
      const fraction = [0, 0];
      await Promise.all(
        trainers.map((t, k) =>
          t.fit({
            epochs: settings.epochs,
            signal,
            onProgress: (p) => {
              if (!live()) return;
              runs[k].losses.push(p.loss);
              if (p.validationNll !== undefined) runs[k].validation.push({ step: p.step, nll: p.validationNll });
              fraction[k] = p.fraction;
              progress.value = (fraction[0] + fraction[1]) / 2;
              ts.runs = runs.map((r) => ({ ...r }));
              draw();
              say(runs.map((r) => `${r.method}: step ${r.losses.length}, validation NLL ${fmt(r.validation.at(-1)?.nll)}`).join(' · '));
            },
          }),
        ),
      );
      if (!live()) return;
      ts.trained++;
      say(`Trained both for ${settings.epochs} epoch${settings.epochs > 1 ? 's' : ''}. Run the symmetry check, or train again with more epochs.`);
    } catch (err) {
      if (!live()) return; // a changed system or method stopped this pair
      const stopped = err && err.name === 'AbortError';
      say(stopped ? 'Stopped.' : `${err && err.message ? err.message : err}`, !stopped);
      if (!stopped) dispose();
    } finally {
      if (live()) {
        abort = null;
        busy(false);
      }
    }
  });

  $('t1-stop').addEventListener('click', () => {
    abort?.abort();
    say('Stopping after the steps in flight…');
  });

  $('t1-check').addEventListener('click', async () => {
    const trained = trainers.length === 2;
    if (!trained && !shipped) return;
    abort = new AbortController();
    const signal = abort.signal;
    const gen = generation;
    busy(true);
    const flows = []; // snapshots of the trainers' weights, disposed after the check
    try {
      if (trained) flows.push(...(await Promise.all(trainers.map((t) => t.model()))));
      const pair = trained ? flows : /** @type {any} */ (shipped).flows;
      const methodsChecked = trained ? runs.map((r) => r.method) : /** @type {any} */ (shipped).methods;
      const { particles: n, dim } = pair[0].system;
      const x = trained ? Float64Array.from(trainers[0].data.val.subarray(0, n * dim)) : /** @type {any} */ (shipped).x;
      const id = [...Array(n).keys()];
      const I = rotation(dim, 0, 0);
      // The rotation follows the Seed field: the same check gives the same numbers.
      const seed = Number($('t1-seed').value) || 0;
      const R = rotation(dim, 1.1 + ((seed * 2.399963) % 4), 1 + ((seed * 7.13) % 9));
      const F = I.map((row, r) => row.map((v) => (r === 0 ? -v : v))); // x -> -x in the first coordinate
      const P = id.slice().reverse();
      const cases = [
        ['held-out configuration', I, id],
        ['rotated', R, id],
        ['reflected', F, id],
        ['particles relabelled', I, P],
        ['all three', R.map((row) => [0, 1, 2].slice(0, dim).map((c) => row.reduce((s, v, k) => s + v * F[k][c], 0))), P],
      ];
      const rows = cases.map(([, M, perm]) => act(x, dim, M, perm));
      say('Scoring the configuration and its transforms (exact trace)…');
      // A tight solve: at the default 1e-4 a trained flow's solver error alone moves log p by
      // ~0.01 nats between transformed inputs (measured for our DW4 E-NF), which is not the model's.
      const scores = await Promise.all(pair.map((f) => f.scoreBatch(rows, { trace: 'exact', rtol: 1e-6, atol: 1e-6, signal })));
      if (gen !== generation) return;
      const logp = scores.map((s) => s.map((r) => r.logLikelihood));
      const spread = logp.map((l) => Math.max(...l.map((v) => Math.abs(v - l[0]))));
      ts.check = { methods: methodsChecked, logp, spread, shipped: !trained };
      const cell = (l, i) => {
        const delta = l[i] - l[0];
        const moved = Math.abs(delta) > 1e-3;
        const text = Math.abs(delta) < 5e-5 ? '0.0000' : `${delta > 0 ? '+' : '−'}${fmt(Math.abs(delta), 4)}`;
        return `<td>${fmt(l[i])}</td><td class="${moved ? 'moved' : 'kept'}">${i === 0 ? '' : text}</td>`;
      };
      $('t1-check-out').innerHTML =
        `<table class="result t1-check"><tr><th>input</th>${methodsChecked.map((m, k) => `<th colspan="2"><span class="swatch swatch-${k}"></span>${m}: log p, change</th>`).join('')}</tr>` +
        cases.map(([label], i) => `<tr><td>${label}</td>${logp.map((l) => cell(l, i)).join('')}</tr>`).join('') +
        `</table><p class="hint">The same configuration, moved rigidly or relabelled, is the same physical state (exact trace, solver tolerance 1e-6). ` +
        methodsChecked.map((m, k) => `${m} ${spread[k] <= 1e-3 ? 'gives it one log-likelihood (largest change ' + fmt(spread[k], 6) + ' nats)' : 'moves it by up to ' + fmt(spread[k], 3) + ' nats'}`).join('; ') +
        '.</p>';
      say('Symmetry check done.');
    } catch (err) {
      if (gen !== generation) return;
      const stopped = err && err.name === 'AbortError';
      say(stopped ? 'Stopped.' : `${err && err.message ? err.message : err}`, !stopped);
    } finally {
      for (const f of flows) f.dispose();
      if (gen === generation) {
        abort = null;
        busy(false);
      }
    }
  });

  // Our trained pair (the paper's schedule, weights/table1): the symmetry check on converged flows.
  $('t1-shipped').addEventListener('click', async () => {
    const name = system();
    const methods = [$('t1-a').value, $('t1-b').value];
    dispose();
    runs = [];
    Object.assign(ts, { runs: [], check: null, shipped: null });
    $('t1-check-out').innerHTML = '';
    const gen = generation;
    abort = new AbortController();
    const signal = abort.signal;
    busy(true);
    const loaded = [];
    try {
      say(`Loading our trained ${methods.join(' and ')} flows for ${name}…`);
      const bytes = await Promise.all(
        methods.map(async (m) => {
          const res = await fetch(SHIPPED[name][m], { signal });
          if (!res.ok) throw new Error(`could not fetch our trained ${m} weights for ${name} (HTTP ${res.status})`);
          return new Uint8Array(await res.arrayBuffer());
        }),
      );
      for (const b of bytes) loaded.push(await loadParticleFlow(b));
      // A held-out configuration: a fresh chain (seed 4242), not the training data.
      const chain = await createTrainer({ system: /** @type {any} */ (name), nTrain: 1, nVal: 0, seed: 4242, signal });
      const x = Float64Array.from(chain.data.train);
      await chain.dispose();
      if (gen !== generation) throw new DOMException('superseded', 'AbortError');
      shipped = { methods, flows: loaded.splice(0), testNll: bytes.map((b) => Number(metadataOf(b).test_nll)), x };
      ts.shipped = { methods, testNll: shipped.testNll };
      draw();
      say(`Loaded our trained ${methods.join(' and ')} (${name}, n = ${SHIPPED[name].n}). Press Symmetry check.`);
    } catch (err) {
      for (const f of loaded) f.dispose();
      if (gen !== generation) return;
      const stopped = err && err.name === 'AbortError';
      say(stopped ? 'Stopped.' : `${err && err.message ? err.message : err}`, !stopped);
    } finally {
      if (gen === generation) {
        abort = null;
        busy(false);
      }
    }
  });

  draw();
  busy(false);
  say('Pick two methods and press Train both, or load our trained pair.');
}
