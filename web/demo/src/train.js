// @ts-check
// The demo's "Train" view: the particle E-NF trained in this page on DW4 or LJ13 (the paper's
// section 5.1). Data by MCMC, training with a live train / validation NLL curve, then samples of
// the model against held-out data (pair distances, energies, and a 2-D scatter for DW4) with
// Boltzmann reweighting, log w = -E(x) - log p(x), and its effective sample size. Everything heavy
// runs in the trainer's worker; this thread only draws SVG.
import { download } from './download.js';
import { FieldError, readNumber } from './fields.js';
import { BUILT_IN_SYSTEMS, TRAINING_METHODS, createTrainer, effectiveSampleSize, histogram, histogramSvg, jensenShannon, loadParticleFlow } from 'enf-wasm';

// The page's settings per system size: the paper's training-set size (the core's registry), and for
// 13 particles (a graph 13x larger per sample) small batches and a validation set that takes
// seconds, not minutes.
const DEFAULTS = Object.fromEntries(
  BUILT_IN_SYSTEMS.map((s) => [
    s.name,
    s.particles <= 4
      ? { nTrain: s.nTrain, nVal: 200, batch: 100, epochs: 3, count: 300, trace: 'exact' }
      : { nTrain: s.nTrain, nVal: 50, batch: 10, epochs: 1, count: 60, trace: 'hutchinson' },
  ]),
);
const COLORS = { samples: '#e8702a', data: '#3b8fd9' };
// The registry's display name ("LJ13 (fluid)") for messages; the name itself for anything else.
const labelOf = (name) => BUILT_IN_SYSTEMS.find((s) => s.name === name)?.label ?? name;

function pairDistances(flat, n, d) {
  const rows = flat.length / (n * d);
  const out = new Float64Array((rows * n * (n - 1)) / 2);
  let k = 0;
  for (let r = 0; r < rows; ++r) {
    const o = r * n * d;
    for (let i = 0; i < n; ++i)
      for (let j = i + 1; j < n; ++j) {
        let s = 0;
        for (let c = 0; c < d; ++c) s += (flat[o + i * d + c] - flat[o + j * d + c]) ** 2;
        out[k++] = Math.sqrt(s);
      }
  }
  return out;
}

function quantile(values, q) {
  const s = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0;
}

function compareHistogram(samples, data, lo, hi, bins) {
  const S = histogram(samples, lo, hi, bins);
  const D = histogram(data, lo, hi, bins);
  return { edges: S.edges, samples: S.counts, data: D.counts, jsd: jensenShannon(S.counts, D.counts) };
}

const fmt = (v, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** The loss curve: the training loss of every step and the validation NLL after each epoch. */
function curveSvg(losses, validation) {
  const W = 640;
  const H = 220;
  const m = { l: 46, r: 12, t: 14, b: 30 };
  const values = [...losses, ...validation.map((v) => v.nll)].filter(Number.isFinite);
  const steps = Math.max(1, losses.length);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  // Step 0 is the untrained model (the first validation point); loss k is drawn at step k.
  const X = (s) => m.l + ((W - m.l - m.r) * s) / steps;
  const Y = (v) => m.t + (H - m.t - m.b) * (1 - (v - lo) / (hi - lo));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="train-curve" data-plot="loss" data-points="${losses.length}" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Training loss and validation NLL per step" font-family="system-ui, sans-serif" font-size="11" fill="currentColor">`,
  ];
  for (let k = 0; k <= 4; ++k) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="currentColor" stroke-opacity="0.15"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  parts.push(`<text x="${W - m.r}" y="${H - 8}" text-anchor="end">step ${losses.length}</text>`);
  if (losses.length) {
    const d = losses.map((v, i) => `${i ? 'L' : 'M'}${X(i + 1).toFixed(1)},${Y(v).toFixed(1)}`).join('');
    parts.push(`<path class="series-train" d="${d}" fill="none" stroke="${COLORS.samples}" stroke-width="1.5"/>`);
  }
  if (validation.length) {
    const d = validation.map((v, i) => `${i ? 'L' : 'M'}${X(v.step).toFixed(1)},${Y(v.nll).toFixed(1)}`).join('');
    parts.push(`<path class="series-val" d="${d}" fill="none" stroke="${COLORS.data}" stroke-width="1.5"/>`);
    for (const v of validation)
      parts.push(`<circle class="series-val" cx="${X(v.step).toFixed(1)}" cy="${Y(v.nll).toFixed(1)}" r="3" fill="${COLORS.data}"/>`);
  }
  // The legend sits under the axis, clear of the curves.
  const ly = H - 8;
  parts.push(`<g font-size="12"><rect x="${m.l}" y="${ly - 5}" width="10" height="3" fill="${COLORS.samples}"/><text x="${m.l + 14}" y="${ly}">training loss (batch), nats</text>`);
  parts.push(`<rect x="${m.l + 190}" y="${ly - 5}" width="10" height="3" fill="${COLORS.data}"/><text x="${m.l + 204}" y="${ly}">validation NLL</text></g></svg>`);
  return parts.join('');
}

/** DW4: every particle of every configuration as a dot, data and model side by side. */
function scatterSvg(data, samples, lim) {
  const S = 300;
  const panel = (flat, x0, color, title, cls) => {
    let d = '';
    for (let k = 0; k + 1 < flat.length; k += 2) {
      const x = x0 + S / 2 + ((S / 2 - 8) * flat[k]) / lim;
      const y = S / 2 + 14 - ((S / 2 - 8) * flat[k + 1]) / lim;
      if (x > x0 && x < x0 + S && y > 14 && y < S + 14) d += `M${x.toFixed(1)},${y.toFixed(1)}h0`;
    }
    return `<text x="${x0 + S / 2}" y="11" text-anchor="middle">${title}</text><rect x="${x0}" y="14" width="${S}" height="${S}" fill="none" stroke="currentColor" stroke-opacity="0.25"/><path class="${cls}" d="${d}" stroke="${color}" stroke-opacity="0.6" stroke-width="2.5" stroke-linecap="round"/>`;
  };
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="enf-plot" data-plot="train-scatter" viewBox="0 0 ${2 * S + 16} ${S + 18}" width="100%" role="img" aria-label="DW4 particle positions: data and model" font-family="system-ui, sans-serif" font-size="11" fill="currentColor">` +
    panel(data, 0, COLORS.data, 'data (validation set)', 'series-data') +
    panel(samples, S + 16, COLORS.samples, 'model samples', 'series-samples') +
    '</svg>'
  );
}


// The models we trained and ship in weights/ (each with a model card: data seed, settings, test
// NLL); Vite copies them into the build as assets.
const PRETRAINED = {
  dw4: new URL('../../../weights/dw4.safetensors', import.meta.url),
  lj13: new URL('../../../weights/lj13.safetensors', import.meta.url),
  'lj13-fluid': new URL('../../../weights/lj13-fluid.safetensors', import.meta.url),
};

/** Wires the view; `state` is the page's test hook (window.__enfDemo). */
export function setupTrain({ state }) {
  /** @param {string} id */
  const $ = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
  const progress = /** @type {HTMLProgressElement} */ (document.getElementById('train-progress'));
  const status = $('train-status');
  /** @type {any} */
  const ts = (state.train = { dataRuns: 0, fits: 0, steps: 0, losses: [], validation: [], compare: null, clicks: 0 });
  // The system list is the core's registry.
  $('train-system').replaceChildren(
    ...BUILT_IN_SYSTEMS.map((s) => {
      const option = document.createElement('option');
      option.value = s.name;
      option.textContent = `${s.label} (${s.particles} particles, ${s.dim}-D)`;
      option.title = s.description;
      return option;
    }),
  );
  // The model: a row of the paper's Table 1; its learning rate is the authors' for it.
  $('train-method').replaceChildren(
    ...TRAINING_METHODS.map((m) => Object.assign(document.createElement('option'), { value: m.name, textContent: m.name + (m.equivariant ? '' : ' (not equivariant)') })),
  );
  $('train-method').addEventListener('change', () => {
    const m = TRAINING_METHODS.find((x) => x.name === $('train-method').value);
    if (m) $('train-lr').value = String(m.lr);
    if (trainer) say(`${$('train-method').value} trains from the next Generate data.`);
  });
  let trainer = null;
  let flow = null; // an imported flow, compared instead of the trainer's current weights
  let abort = null;
  let losses = [];
  let validation = [];

  const busy = (on) => {
    for (const id of ['train-data', 'train-system', 'train-method', 'train-n']) $(id).disabled = on;
    $('train-fit').disabled = on || !trainer;
    $('train-compare').disabled = on || (!trainer && !flow);
    $('train-export').disabled = on || !trainer;
    $('train-pretrained').disabled = on || !PRETRAINED[system()];
    $('train-stop').disabled = !on;
  };
  const say = (text, error = false) => {
    status.textContent = text;
    status.classList.toggle('error', error);
  };
  const fail = (err) => say(err && err.name === 'AbortError' ? 'Stopped.' : `${err && err.message ? err.message : err}`, !(err && err.name === 'AbortError'));
  // Before any training there is nothing to plot: say where the curve will come from.
  const drawCurve = () => ($('train-curve').innerHTML = losses.length || validation.length
    ? curveSvg(losses, validation)
    : '<p class="hint train-curve-empty">The loss curve appears here when training starts: the training loss of every step and the validation NLL after each epoch, in nats.</p>');
  const system = () => $('train-system').value;
  // A field out of range stops the action with the message next to the field (never a silent clamp).
  const int = (id, lo, hi) => readNumber(id, { what: $(id).closest('label')?.firstChild?.textContent?.trim() || id, min: lo, max: hi });
  const guard = (fn) => async () => {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      say(`Not started: ${err.message}.`, true);
      busy(false);
    }
  };

  function applyDefaults() {
    const d = DEFAULTS[system()];
    $('train-n').value = String(d.nTrain);
    $('train-nval').value = String(d.nVal);
    $('train-batch').value = String(d.batch);
    $('train-epochs').value = String(d.epochs);
    $('train-count').value = String(d.count);
    $('train-trace').value = d.trace;
  }
  const describeSystem = () => {
    const s = BUILT_IN_SYSTEMS.find((x) => x.name === system());
    $('train-system-note').textContent = s ? s.description : '';
  };
  // A new system starts from nothing: the old trainer, curve, comparison and imported flow go.
  $('train-system').addEventListener('change', () => {
    abort?.abort();
    trainer?.dispose();
    trainer = null;
    flow?.dispose();
    flow = null;
    losses = [];
    validation = [];
    Object.assign(ts, { losses: [], validation: [], steps: 0, compare: null, system: null });
    $('train-compare-out').innerHTML = '';
    progress.value = 0;
    drawCurve();
    applyDefaults();
    describeSystem();
    busy(false);
    say(`${labelOf(system())}: press Generate data to sample its training set, or load our trained model.`);
  });
  applyDefaults();
  describeSystem();

  $('train-data').addEventListener('click', guard(async () => {
    const name = system();
    const settings = {
      nTrain: int('train-n', 1, 100000),
      nVal: int('train-nval', 1, 100000),
      batch: int('train-batch', 1, 1000),
      lr: readNumber('train-lr', { what: 'Learning rate', integer: false, positive: true, max: 1 }),
      seed: int('train-seed', 0, 2 ** 31),
    };
    trainer?.dispose();
    trainer = null;
    losses = [];
    validation = [];
    ts.losses = [];
    ts.validation = [];
    ts.steps = 0;
    $('train-compare-out').innerHTML = '';
    drawCurve();
    abort = new AbortController();
    busy(true);
    const t0 = performance.now();
    try {
      say(`Sampling ${labelOf(name)} by MCMC…`);
      trainer = await createTrainer({
        system: /** @type {any} */ (name),
        method: /** @type {any} */ ($('train-method').value),
        ...settings,
        signal: abort.signal,
        onProgress: ({ fraction }) => (progress.value = fraction),
      });
      progress.value = 1;
      const d = trainer.data;
      ts.dataRuns++;
      ts.system = trainer.system;
      say(
        `${d.nTrain} training and ${d.nVal} validation samples in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
          `(Metropolis acceptance ${(100 * (d.acceptance ?? NaN)).toFixed(0)} %); ${trainer.parameters.toLocaleString('en')} parameters, ` +
          `${trainer.stepsPerEpoch} steps per epoch; ${trainer.method}. Press Train.`,
      );
    } catch (err) {
      trainer = null;
      fail(err);
    } finally {
      abort = null;
      busy(false);
    }
  }));

  $('train-fit').addEventListener('click', guard(async () => {
    if (!trainer) return;
    const epochs = int('train-epochs', 1, 1000);
    // From now on Compare shows the model being trained, not an imported one.
    flow?.dispose();
    flow = null;
    abort = new AbortController();
    busy(true);
    const base = trainer.steps;
    say(`Training ${epochs} epoch${epochs > 1 ? 's' : ''}…`);
    if (!validation.length && trainer.steps === 0) {
      // The curve starts at the untrained model's validation NLL.
      try {
        validation.push({ step: 0, nll: await trainer.validate({ signal: abort.signal }) });
      } catch (err) {
        fail(err);
        abort = null;
        busy(false);
        return;
      }
    }
    const stepMs = [];
    try {
      await trainer.fit({
        epochs,
        signal: abort.signal,
        onProgress: (p) => {
          losses.push(p.loss);
          stepMs.push(p.ms);
          if (p.validationNll !== undefined) validation.push({ step: p.step, nll: p.validationNll });
          ts.steps = p.step;
          ts.losses = losses.slice();
          ts.validation = validation.slice();
          progress.value = p.fraction;
          drawCurve();
          const v = validation.at(-1);
          say(
            `Step ${p.step} (epoch ${p.epoch}): loss ${fmt(p.loss)} nats` + (v ? `, validation NLL ${fmt(v.nll)}` : '') +
              `; ${Math.round(p.ms)} ms per step (batch ${trainer.batch}).`,
          );
        },
      });
      ts.fits++;
      const v = validation.at(-1);
      say(`Trained ${trainer.steps - base} steps; validation NLL ${v ? fmt(v.nll) : '—'} nats (median ${Math.round(stepMs.sort((a, b) => a - b)[stepMs.length >> 1])} ms per step). Compare the model with the data, or train on.`);
    } catch (err) {
      fail(err);
    } finally {
      abort = null;
      busy(false);
    }
  }));

  $('train-stop').addEventListener('click', () => {
    ts.clicks++;
    if (!abort) return;
    abort.abort();
    say('Stopping after the step in flight…');
  });

  $('train-compare').addEventListener('click', guard(async () => {
    const source = flow ?? trainer;
    if (!source) return;
    const count = int('train-count', 10, 5000);
    const seed = int('train-seed', 0, 2 ** 31) + 1_000_000;
    abort = new AbortController();
    busy(true);
    const trace = $('train-trace').value;
    let snapshot = null;
    try {
      const model = flow ?? (snapshot = await trainer.model());
      const { particles: n, dim: d, name } = model.system;
      say(`Sampling ${count} configurations…`);
      const samples = await model.sample({
        count,
        seed,
        signal: abort.signal,
        onProgress: (f) => (progress.value = 0.5 * f),
      });
      say(`Scoring ${count} samples (${trace} trace)…`);
      const scores = await model.scoreBatch(samples, {
        trace,
        signal: abort.signal,
        onProgress: (f) => (progress.value = 0.5 + 0.5 * f),
      });
      progress.value = 1;
      const flat = new Float32Array(count * n * d);
      samples.forEach((s, k) => flat.set(s.positions, k * n * d));
      // The reference: held-out validation samples (a new chain for an imported flow).
      const ref = trainer && trainer.system.name === name ? trainer : null;
      const energies = ref ? await ref.energy(flat) : null;
      const data = ref ? ref.data.val : null;
      const dataE = ref ? ref.data.valEnergies : null;
      const logp = scores.map((s) => s.logLikelihood);
      const out = [];
      const distS = pairDistances(flat, n, d);
      if (data) {
        const distD = pairDistances(data, n, d);
        const hi = quantile(distD, 0.999) * 1.15;
        const h = compareHistogram(distS, distD, 0, hi, 40);
        out.push(`<figure>${histogramSvg(h, { id: 'train-distances', title: 'Inter-particle distances', xLabel: 'r' })}</figure>`);
        // The range covers the data and most samples, but never squeezes the data into less than a
        // quarter of the axis; samples beyond it fall into the overflow bin (counted in the JSD).
        const lo = Math.min(quantile(dataE, 0), quantile(energies, 0));
        const eh = quantile(dataE, 0.995) + 0.1 * (quantile(dataE, 0.995) - lo);
        const he = compareHistogram(energies, dataE, lo, Math.min(lo + 4 * (eh - lo), Math.max(eh, quantile(energies, 0.9))), 40);
        out.push(`<figure>${histogramSvg(he, { id: 'train-energies', title: 'Energies E(x)', xLabel: 'E' })}</figure>`);
        if (d === 2) {
          const lim = quantile(Array.from(data, Math.abs), 0.995) * 1.2;
          out.push(`<figure class="wide">${scatterSvg(data, flat, lim)}</figure>`);
        }
        // Boltzmann reweighting of the model's samples toward exp(-E).
        const logW = logp.map((lp, k) => -energies[k] - lp);
        const { ess, fraction, weights, logMeanWeight } = effectiveSampleSize(logW);
        let meanW = 0;
        weights.forEach((w, k) => (meanW += Number.isFinite(energies[k]) ? w * energies[k] : 0));
        const mean = (v) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
        const finiteE = Array.from(energies).filter(Number.isFinite);
        // The data's entropy H = <E>_data + log Z is the floor of any model's NLL on them:
        // E_q[log w] <= log Z bounds it from below, log(mean w) estimates log Z.
        const entropyBound = mean(dataE) + mean(logW);
        const entropyIS = mean(dataE) + logMeanWeight;
        // Both figures need samples that overlap the data: with an ESS of a few, the bound is
        // dominated by samples of absurd energy (an untrained LJ13 model gave -6.6e8) and says nothing.
        const entropyAvailable = ess >= 5 && Number.isFinite(entropyBound) && Number.isFinite(entropyIS);
        const entropyText = entropyAvailable
          ? `&ge; ${fmt(entropyBound)} / &asymp; ${fmt(entropyIS)} nats`
          : `not available yet: the model's samples barely overlap the data (ESS ${fmt(ess, 1)} &lt; 5); train longer`;
        ts.compare = { entropyAvailable, count, ess, fraction, jsdDistances: h.jsd, jsdEnergies: he.jsd, meanLogp: mean(logp), imported: !!flow, entropyBound, entropyIS };
        out.unshift(
          `<table class="result train-summary"><tr><td>effective sample size</td><td id="train-ess">${fmt(ess, 1)} of ${count} (${fmt(100 * fraction, 1)} %)</td></tr>` +
            `<tr><td>mean energy: data / model / reweighted</td><td>${fmt(mean(dataE))} / ${fmt(mean(finiteE))} / ${fmt(meanW)}</td></tr>` +
            `<tr><td>mean log p(x) of the samples</td><td>${fmt(mean(logp))} nats</td></tr>` +
            `<tr><td title="H = &lt;E&gt; + log Z, the lowest NLL any model can reach on these data">entropy of the data: bound / estimate</td><td id="train-entropy">${entropyText}</td></tr>` +
            `<tr><td>Jensen-Shannon divergence: distances / energies</td><td>${fmt(h.jsd, 4)} / ${fmt(he.jsd, 4)} nats</td></tr></table>`,
        );
        say(`Compared ${count} samples of the ${flow ? 'imported flow' : 'trained model'} with ${data.length / (n * d)} validation samples; log w = -E(x) - log p(x).`);
      } else {
        ts.compare = { count, ess: null };
        const hi = quantile(distS, 0.999) * 1.15;
        /** @type {any} */
        const h = compareHistogram(distS, [], 0, hi, 40);
        h.data = null;
        h.jsd = null;
        out.push(`<figure>${histogramSvg(h, { id: 'train-distances', title: 'Inter-particle distances', xLabel: 'r' })}</figure>`);
        say(`Sampled ${count} configurations from the imported ${labelOf(name)} flow; generate ${labelOf(name)} data to compare and reweight.`);
      }
      $('train-compare-out').innerHTML = out.join('');
      ts.compareRuns = (ts.compareRuns ?? 0) + 1;
    } catch (err) {
      fail(err);
    } finally {
      snapshot?.dispose();
      abort = null;
      busy(false);
    }
  }));

  $('train-export').addEventListener('click', async () => {
    if (!trainer) return;
    try {
      const bytes = await trainer.exportWeights({ source: 'enf-wasm demo' });
      download(`${trainer.system.name}-${trainer.steps}-steps.safetensors`, bytes);
    } catch (err) {
      fail(err);
    }
  });

  $('train-import').addEventListener('change', async () => {
    const file = $('train-import').files?.[0];
    if (!file) return;
    try {
      flow?.dispose();
      flow = await loadParticleFlow(new Uint8Array(await file.arrayBuffer()));
      say(`Loaded ${file.name}: a ${flow.system.name} flow (${flow.system.particles} particles in ${flow.system.dim}-D). Press Compare.`);
      busy(false);
    } catch (err) {
      flow = null;
      fail(err);
    }
  });

  $('train-pretrained').addEventListener('click', async () => {
    const name = system();
    if (!PRETRAINED[name]) return;
    busy(true);
    try {
      const res = await fetch(PRETRAINED[name]);
      if (!res.ok) throw new Error(`could not fetch the trained ${name} weights (HTTP ${res.status})`);
      const loaded = await loadParticleFlow(new Uint8Array(await res.arrayBuffer()));
      flow?.dispose();
      flow = loaded;
      say(`Loaded our trained ${name} flow (weights/${name}.safetensors; its model card gives the data seed and test NLL). Press Sample & compare.`);
    } catch (err) {
      fail(err);
    } finally {
      busy(false);
    }
  });

  drawCurve();
  busy(false);
}
