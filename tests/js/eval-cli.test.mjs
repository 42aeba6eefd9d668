// `enf eval --samples 20` end to end: it samples, checks, scores a small seeded subset of the QM9
// test split (Hutchinson) and writes report.json and report.html; the HTML opens offline in headless
// Chromium, under the Content-Security-Policy it carries, with no scripts and no requests beyond
// itself, and shows the three histogram plots.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { root, shared, skipNoWeights } from './helpers.mjs';

const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const data = join(shared, 'data', 'qm9_test.npz');
const skip = skipNoWeights || (!existsSync(data) && `no QM9 test split at ${data}`);

test('enf eval --samples 20 writes a JSON and an HTML report with the plots', { skip, timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'enf-eval-'));
  try {
    const t0 = performance.now();
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(root, 'web', 'bin', 'enf.js'), 'eval', '--samples', '20', '--nll-molecules', '8', '--seed', '0', '--data', data, '--out-dir', dir, '--workers', '2'],
      { cwd: root, maxBuffer: 1 << 24 },
    );
    const seconds = (performance.now() - t0) / 1000;
    t.diagnostic(`enf eval --samples 20 --nll-molecules 8: ${seconds.toFixed(1)} s`);
    for (const line of stdout.trim().split('\n')) t.diagnostic(line);
    assert.match(stderr, /sample 20\/20/, 'progress on stderr');
    assert.match(stdout, /atom stability/);

    const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(r.schema, 'enf-eval/1');
    assert.equal(r.settings.samples, 20);
    assert.equal(r.samples.length, 20);
    assert.deepEqual(r.samples.map((s) => s.seed), Array.from({ length: 20 }, (_, k) => k));
    const atoms = r.samples.reduce((a, s) => a + s.atoms, 0);
    assert.equal(r.stability.atoms.n, atoms);
    assert.equal(r.stability.atoms.k, r.samples.reduce((a, s) => a + s.stableAtoms, 0));
    assert.equal(r.stability.molecules.k, r.samples.filter((s) => s.stable).length);
    assert.ok(r.stability.atoms.low <= r.stability.atoms.p && r.stability.atoms.p <= r.stability.atoms.high);
    // Every stable sample went through RDKit; unstable ones did not.
    assert.match(r.chemistry.rdkit, /^\d{4}\./);
    for (const s of r.samples) assert.equal('smiles' in s, s.stable);
    assert.equal(r.chemistry.valid.n, r.chemistry.stable);
    // NLL over 8 seeded test molecules, Hutchinson.
    assert.equal(r.nll.molecules, 8);
    assert.equal(r.nll.values.length, 8);
    assert.ok(r.nll.values.every(Number.isFinite));
    assert.ok(Number.isFinite(r.nll.stderr) && r.nll.stderr > 0);
    // The data's own stability under the same rule (the paper: 99 % and 95.2 %).
    assert.equal(r.data.molecules, 13083);
    assert.ok(Math.abs(r.data.stability.molecules.p - 0.952) < 0.01, `data molecule stability ${r.data.stability.molecules.p}`);
    for (const h of ['distances', 'atomCounts', 'atomTypes']) {
      const c = r.histograms[h];
      assert.ok(c.jsd > 0 && c.jsd < Math.LN2, `${h} JSD ${c.jsd}`);
      assert.equal(c.samples.length, c.data.length);
    }
    assert.equal(r.histograms.atomCounts.samples.reduce((a, b) => a + b), 20);

    // The HTML: self-contained, opened from disk in Chromium.
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|\bsrc=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
    assert.match(html, /http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-/);
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      const problems = [];
      const requests = [];
      page.on('console', (m) => problems.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (q) => requests.push(q.url()));
      const url = pathToFileURL(join(dir, 'report.html')).href;
      await page.goto(url);
      assert.deepEqual(requests, [url]);
      const plots = await page.$$eval('svg.enf-plot', (list) =>
        list.map((s) => ({
          id: s.dataset.plot,
          width: s.getBoundingClientRect().width,
          height: s.getBoundingClientRect().height,
          samples: s.querySelectorAll('.series-samples').length,
          data: s.querySelectorAll('.series-data').length,
        })),
      );
      assert.deepEqual(plots.map((p) => p.id), ['distances', 'atom-counts', 'atom-types']);
      for (const p of plots) {
        assert.ok(p.width > 400 && p.height > 150, `${p.id} drawn at ${p.width} x ${p.height}`);
        assert.ok(p.samples >= 1 && p.data >= 1, `${p.id}: ${p.samples} sample and ${p.data} data marks`);
      }
      // The stylesheet applied (its hash is in the page's policy): the table has its header colour.
      const th = await page.$eval('table.summary th', (e) => getComputedStyle(e).backgroundColor);
      assert.equal(th, 'rgb(243, 245, 247)');
      assert.equal(await page.locator('table.summary tr').count(), 8);
      await page.screenshot({ path: join(root, 'test-results', 'eval-report.png'), fullPage: true }).catch(() => {});
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
