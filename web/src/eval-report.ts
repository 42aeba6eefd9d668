// Renders an evaluation report (eval.ts) as HTML with inline SVG plots. The same functions feed the
// CLI's self-contained report file and the demo's "Model report" view. The markup uses only SVG
// presentation attributes and `currentColor` (no style attributes, no scripts), so it displays
// under a strict Content-Security-Policy and follows the surrounding text colour.
import type { EvalReport, HistogramComparison } from './eval.js';
import { normalize, type Proportion } from './stats.js';

/** Colours of the two series (readable on light and dark backgrounds). */
export const COLORS = { samples: '#e8702a', data: '#3b8fd9' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const pct = (v: number, d = 1) => (Number.isFinite(v) ? `${(100 * v).toFixed(d)} %` : 'n/a');
const num = (v: number | null | undefined, d = 2) => (v !== null && v !== undefined && Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** Whether `v` lies in the proportion's interval. */
export function insideInterval(p: Proportion, v: number): boolean {
  return p.n > 0 && v >= p.low && v <= p.high;
}

/** "85.3 % [84.9, 85.7]" */
export function formatProportion(p: Proportion | null, digits = 1): string {
  if (!p || p.n === 0) return 'n/a';
  return `${pct(p.p, digits)} [${(100 * p.low).toFixed(digits)}, ${(100 * p.high).toFixed(digits)}] (${p.k}/${p.n})`;
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

export interface PlotOptions {
  /** Identifies the plot in the page (data-plot attribute). */
  id: string;
  title: string;
  xLabel: string;
  width?: number;
  height?: number;
}

/**
 * An SVG comparing the normalised histogram of samples with the data's: continuous bins as a
 * filled area (data) under a step line (samples), categories as paired bars.
 */
export function histogramSvg(h: HistogramComparison, o: PlotOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 260;
  const m = { l: 52, r: 12, t: 30, b: 42 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const continuous = !!h.edges;
  // Continuous: drop the overflow bin from the drawing (it is counted in the divergence).
  const S = normalize(h.samples);
  const D = h.data ? normalize(h.data) : null;
  const n = continuous ? h.edges!.length - 1 : h.categories!.length;
  const sv = S.slice(0, n);
  const dv = D ? D.slice(0, n) : null;
  const ymax = Math.max(1e-12, ...sv, ...(dv ?? []));
  const step = niceStep(ymax, 4);
  const top = Math.ceil(ymax / step) * step;
  const X = (i: number) => m.l + (pw * i) / n;
  const Y = (v: number) => m.t + ph * (1 - v / top);
  const parts: string[] = [];
  const label = `${o.title}: samples against data` + (h.jsd !== null ? `, Jensen-Shannon divergence ${h.jsd.toFixed(4)} nats` : '');
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="enf-plot" data-plot="${escapeHtml(o.id)}" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(label)}" font-family="system-ui, sans-serif" font-size="11" fill="currentColor">`,
    `<title>${escapeHtml(label)}</title>`,
  );
  // Grid and y axis.
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = Y(v).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="currentColor" stroke-opacity="0.15"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end">${(+v.toFixed(6)).toString()}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(0)}" y2="${Y(0)}" stroke="currentColor" stroke-opacity="0.6"/>`);
  if (continuous) {
    const edges = h.edges!;
    const bar = (vals: number[]) => {
      let d = `M${X(0).toFixed(1)},${Y(0).toFixed(1)}`;
      for (let i = 0; i < n; ++i) d += `L${X(i).toFixed(1)},${Y(vals[i]).toFixed(1)}L${X(i + 1).toFixed(1)},${Y(vals[i]).toFixed(1)}`;
      return d + `L${X(n).toFixed(1)},${Y(0).toFixed(1)}`;
    };
    if (dv) parts.push(`<path class="series-data" d="${bar(dv)}Z" fill="${COLORS.data}" fill-opacity="0.35" stroke="${COLORS.data}" stroke-width="1"/>`);
    parts.push(`<path class="series-samples" d="${bar(sv)}" fill="none" stroke="${COLORS.samples}" stroke-width="1.5"/>`);
    const lo = edges[0];
    const hi = edges[n];
    const xs = niceStep(hi - lo, 10);
    for (let v = lo; v <= hi + 1e-9; v += xs) {
      const x = (m.l + (pw * (v - lo)) / (hi - lo)).toFixed(1);
      parts.push(`<line x1="${x}" x2="${x}" y1="${Y(0)}" y2="${Y(0) + 4}" stroke="currentColor"/>`);
      parts.push(`<text x="${x}" y="${Y(0) + 16}" text-anchor="middle">${+v.toFixed(3)}</text>`);
    }
  } else {
    const cats = h.categories!;
    const every = Math.max(1, Math.ceil(n / 16));
    for (let i = 0; i < n; ++i) {
      const w = pw / n;
      const bw = Math.max(1, w * (dv ? 0.4 : 0.8));
      const x0 = X(i) + w * 0.1;
      if (dv) parts.push(`<rect class="series-data" x="${x0.toFixed(1)}" y="${Y(dv[i]).toFixed(1)}" width="${bw.toFixed(1)}" height="${(Y(0) - Y(dv[i])).toFixed(1)}" fill="${COLORS.data}"/>`);
      const xs = dv ? x0 + bw : x0;
      parts.push(`<rect class="series-samples" x="${xs.toFixed(1)}" y="${Y(sv[i]).toFixed(1)}" width="${bw.toFixed(1)}" height="${(Y(0) - Y(sv[i])).toFixed(1)}" fill="${COLORS.samples}"/>`);
      if (i % every === 0 || n <= 16) parts.push(`<text x="${(X(i) + w / 2).toFixed(1)}" y="${Y(0) + 16}" text-anchor="middle">${escapeHtml(cats[i])}</text>`);
    }
  }
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(12 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">fraction</text>`);
  // Title and legend.
  parts.push(`<text x="${m.l}" y="16" font-size="13" font-weight="600">${escapeHtml(o.title)}</text>`);
  const lx = W - m.r - 250;
  parts.push(`<rect x="${lx}" y="7" width="12" height="10" fill="${COLORS.samples}"/><text x="${lx + 16}" y="16">samples</text>`);
  if (dv) parts.push(`<rect x="${lx + 78}" y="7" width="12" height="10" fill="${COLORS.data}"/><text x="${lx + 94}" y="16">data</text>`);
  if (h.jsd !== null) parts.push(`<text x="${W - m.r}" y="16" text-anchor="end" class="jsd">JSD ${h.jsd.toFixed(4)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function row(cells: string[], head = false): string {
  const tag = head ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

/** The report's body (tables and plots) as an HTML fragment, for a page or the demo's view. */
export function reportBody(r: EvalReport): string {
  const s = r.settings;
  const out: string[] = [];
  out.push(`<section class="enf-report" data-samples="${s.samples}">`);
  out.push(
    `<p class="meta">${s.samples} samples (seeds ${s.seed}–${s.seed + s.samples - 1}, sizes from p(M)), dopri5 rtol ${s.rtol}, atol ${s.atol}; ` +
      `${escapeHtml(r.runtime)}, ${r.model.workers} worker${r.model.workers === 1 ? '' : 's'}; ${escapeHtml(r.created)}. Intervals: ${escapeHtml(s.interval)}.</p>`,
  );
  // Summary against the paper.
  const c = r.chemistry;
  const vs = (p: Proportion, v: number) => (p.n ? (insideInterval(p, v) ? ' (inside the interval)' : ' (outside the interval)') : '');
  const rows: string[][] = [
    ['Atom stability', formatProportion(r.stability.atoms), pct(r.paper.atomStability, 0) + vs(r.stability.atoms, r.paper.atomStability), r.data?.stability ? formatProportion(r.data.stability.atoms) : '—'],
    ['Molecule stability', formatProportion(r.stability.molecules), pct(r.paper.moleculeStability) + vs(r.stability.molecules, r.paper.moleculeStability), r.data?.stability ? formatProportion(r.data.stability.molecules) : '—'],
    [
      'NLL (nats), −log p(x, h, M)',
      r.nll ? `${num(r.nll.mean)} ± ${num(r.nll.stderr)} (s.e., ${escapeHtml(r.nll.source)}, ${s.trace}${s.trace === 'hutchinson' ? `, ${s.probes} probe${s.probes > 1 ? 's' : ''}` : ''})` : 'not computed',
      num(r.paper.nll, 1),
      '—',
    ],
    ...(r.nllExact
      ? [[
          'NLL (nats), exact trace',
          `${num(r.nllExact.mean)} ± ${num(r.nllExact.stderr)} (s.e., ${escapeHtml(r.nllExact.source)})` +
            (r.nllExact.difference ? `; estimator − exact on these ${num(r.nllExact.difference.mean)} ± ${num(r.nllExact.difference.stderr)}` : ''),
          '—',
          '—',
        ]]
      : []),
    ['Validity (stable molecules, RDKit)', c.valid ? formatProportion(c.valid) : 'n/a', pct(r.paper.validity, 0), '—'],
    ['Uniqueness (stable molecules)', c.unique ? `${pct(c.unique.fraction)} (${c.unique.count}/${c.unique.of})` : 'n/a', pct(r.paper.uniqueness), '—'],
    ['Connected (stable molecules)', c.connected ? formatProportion(c.connected) : 'n/a', '—', '—'],
    ['Novelty (stable molecules)', 'not computed (needs the QM9 training split)', pct(r.paper.novelty), '—'],
  ];
  out.push(
    `<div class="table-wrap"><table class="summary">${row(['Metric', 'This run', 'Paper (E-NF)', 'Test data'], true)}${rows.map((x) => row(x)).join('')}</table></div>`,
  );
  if (c.note) out.push(`<p class="note">${escapeHtml(c.note)}</p>`);
  // Plots.
  const hs = r.histograms;
  const jsd = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));
  out.push(
    `<div class="table-wrap"><table class="jsd-table">${row(['Histogram', 'Jensen-Shannon divergence (nats)'], true)}` +
      `${row(['Interatomic distances', jsd(hs.distances.jsd)])}${row(['Atom counts', jsd(hs.atomCounts.jsd)])}${row(['Atom types', jsd(hs.atomTypes.jsd)])}</table></div>`,
  );
  out.push(`<div class="plots">`);
  out.push(`<figure>${histogramSvg(hs.distances, { id: 'distances', title: 'Interatomic distances', xLabel: 'distance (Å), 0.05 Å bins' })}</figure>`);
  out.push(`<figure>${histogramSvg(hs.atomCounts, { id: 'atom-counts', title: 'Atoms per molecule', xLabel: 'atoms' })}</figure>`);
  out.push(`<figure>${histogramSvg(hs.atomTypes, { id: 'atom-types', title: 'Atom types', xLabel: 'element' })}</figure>`);
  out.push(`</div>`);
  if (r.data) out.push(`<p class="meta">Data: ${escapeHtml(r.data.source)} (${r.data.molecules} molecules).</p>`);
  // SMILES.
  if (c.top.length) {
    out.push(`<h3>Most frequent stable molecules (canonical SMILES of the graph, no stereochemistry; RDKit ${escapeHtml(c.rdkit ?? '')})</h3>`);
    out.push(
      `<div class="table-wrap"><table class="smiles">${row(['SMILES', 'count'], true)}${c.top.map((t) => row([`<code>${escapeHtml(t.smiles)}</code>`, String(t.count)])).join('')}</table></div>`,
    );
  }
  out.push(
    `<p class="meta">Time: sampling ${num(r.timing.sampleSeconds, 1)} s, SMILES ${num(r.timing.smilesSeconds, 1)} s, NLL ${num(r.timing.nllSeconds, 1)} s` +
      (r.timing.exactSeconds ? `, exact NLL ${num(r.timing.exactSeconds, 1)} s` : '') +
      (r.timing.sessions && r.timing.sessions > 1 ? `; ${num(r.timing.totalSeconds, 1)} s over ${r.timing.sessions} sessions or shards` : '') +
      (r.shard ? `. This report is shard ${r.shard.index} of ${r.shard.count}.` : '.') +
      `</p>`,
  );
  out.push('</section>');
  return out.join('\n');
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;padding:0 16px;color:#1b1f24;background:#fff}
h1{font-size:22px}h3{font-size:15px}table{border-collapse:collapse;margin:10px 0}td,th{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f3f5f7}.meta,.note{color:#57606a;font-size:13px}.plots{display:grid;gap:8px}figure{margin:0;max-width:720px}
.table-wrap{overflow-x:auto}code{font-size:12px;overflow-wrap:anywhere}`;

async function sha256Base64(text: string): Promise<string | null> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) return null;
  const digest = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let bin = '';
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * A self-contained HTML report: no scripts and no external resources. Its own
 * Content-Security-Policy (default-src 'none', the one stylesheet allowed by its hash) travels in
 * a meta tag; without the stylesheet the plots still draw.
 */
export async function reportHtml(r: EvalReport, title = 'enf-wasm model report: QM9 E-NF'): Promise<string> {
  const hash = await sha256Base64(STYLE);
  const csp = `default-src 'none'; style-src ${hash ? `'sha256-${hash}'` : "'none'"}; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Reproduces the paper's QM9 evaluation (Garcia Satorras et al., E(n) Equivariant Normalizing Flows, NeurIPS 2021: Table 2, section 5.3, and the histogram comparison of section 5.2) with the enf-wasm package. Paper figures: 10,000 samples; NLL on the 13,083-molecule test split.</p>
${reportBody(r)}
</body>
</html>
`;
}
