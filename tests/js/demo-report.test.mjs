// The demo's "Model report" view in headless Chromium under the demo's Content-Security-Policy: a
// live report of a few samples shows progress and the three histogram plots against the QM9 test
// split, with the same figures (stability, histograms, RDKit's SMILES) the Node API computes for
// the same seeds; a running report can be
// cancelled; a report.json from the CLI opens in the view; no console errors, and no horizontal
// overflow at 390 px.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifacts, buildDemo, collectProblems, launchChromium, serveDemo, shared, skipNoChromium, skipNoWeights } from './helpers.mjs';

const skip = skipNoWeights || skipNoChromium;
const hasData = existsSync(join(shared, 'data', 'qm9_test.npz'));

test('demo: Model report view (live, cancel, open report.json) under CSP', { skip, timeout: 600_000 }, async (t) => {
  buildDemo();
  const { server, url } = await serveDemo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const problems = collectProblems(page);
    await page.goto(url);
    await page.waitForFunction(() => window.__enfDemo?.ready, null, { timeout: 120_000 });

    // A live report: 12 samples (seeds 3..14), 2 built-in test molecules scored.
    await page.fill('#report-samples', '12');
    await page.fill('#report-nll', '2');
    await page.fill('#report-seed', '3');
    const t0 = Date.now();
    await page.click('#report-run');
    await page.waitForFunction(() => Number(document.querySelector('#report-progress').value) > 0, null, { timeout: 60_000 });
    await page.waitForFunction(() => window.__enfDemo.reportRuns >= 1, null, { timeout: 300_000 });
    t.diagnostic(`live report of 12 samples: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const plots = await page.$$eval('#report-out svg.enf-plot', (list) =>
      list.map((s) => ({ id: s.dataset.plot, width: s.getBoundingClientRect().width, samples: s.querySelectorAll('.series-samples').length, data: s.querySelectorAll('.series-data').length })));
    assert.deepEqual(plots.map((p) => p.id), ['distances', 'atom-counts', 'atom-types']);
    for (const p of plots) {
      assert.ok(p.width > 200, `${p.id} is ${p.width} px wide`);
      assert.ok(p.samples >= 1, `${p.id} has no sample marks`);
      if (hasData) assert.ok(p.data >= 1, `${p.id} has no data marks`);
    }
    const page_ = await page.evaluate(() => window.__enfDemo.report);
    assert.equal(page_.settings.samples, 12);
    assert.deepEqual(page_.samples.map((s) => s.seed), Array.from({ length: 12 }, (_, k) => 3 + k));
    assert.equal(page_.nll.molecules, 2);
    // RDKit ran in the page (patched at build time to need no 'unsafe-eval'): every stable sample has its verdict.
    assert.match(page_.chemistry.rdkit, /^\d{4}\./, `no RDKit in the page: ${page_.chemistry.note}`);
    assert.equal(page_.chemistry.valid.n, page_.chemistry.stable);
    for (const s of page_.samples) assert.equal('smiles' in s, s.stable);
    if (hasData) assert.equal(page_.data.molecules, 13083);

    // The same seeds in Node give the same molecules, hence the same stability and histograms.
    const { loadModel, evaluate } = await import('enf-wasm');
    const model = await loadModel('qm9', { workers: 1 });
    try {
      const node = await evaluate(model, { samples: 12, seed: 3, nllMolecules: 0 });
      assert.deepEqual(node.samples.map((s) => [s.formula, s.stableAtoms, s.smiles]), page_.samples.map((s) => [s.formula, s.stableAtoms, s.smiles]));
      assert.deepEqual(node.chemistry.unique, page_.chemistry.unique);
      assert.deepEqual(node.stability, page_.stability);
      assert.deepEqual(node.histograms.distances.samples, page_.histograms.distances.samples);
    } finally {
      model.dispose();
    }
    await page.locator('#report-view').screenshot({ path: join(artifacts, 'demo-report.png') });

    // Cancel a running report: a message, the button comes back, the earlier report stays.
    await page.fill('#report-samples', '60');
    await page.click('#report-run');
    await page.waitForFunction(() => /Sampling [1-9]/.test(document.querySelector('#report-status').textContent), null, { timeout: 60_000 });
    await page.click('#report-cancel');
    await page.waitForFunction(() => /cancelled/i.test(document.querySelector('#report-status').textContent), null, { timeout: 30_000 });
    assert.equal(await page.isEnabled('#report-run'), true);
    assert.equal(await page.locator('#report-out svg.enf-plot').count(), 3);

    // A report.json written by the CLI (here: a report with SMILES made in Node) opens in the view.
    const file = join(tmpdir(), `enf-report-${process.pid}.json`);
    const cliReport = { ...page_, runtime: 'wasm-node', chemistry: { ...page_.chemistry, rdkit: '2026.09.1', note: null, top: [{ smiles: 'C#C', count: 2 }] } };
    writeFileSync(file, JSON.stringify(cliReport));
    await page.setInputFiles('#report-file', file);
    await page.waitForFunction(() => /Opened/.test(document.querySelector('#report-status').textContent));
    assert.match(await page.textContent('#report-out table.smiles'), /C#C/);

    // Phone width: no horizontal overflow with the report open.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows a 390 px viewport by ${overflow} px`);
    // Plot text stays readable on the phone (was 5.6 px): the plots scroll sideways instead of shrinking.
    const smallest = await page.$$eval('#report-view svg text', (ts) => Math.min(...ts.map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)));
    assert.ok(smallest >= 9, `plot text ${smallest.toFixed(1)} px high on a 390 px screen`);
    console.log(`phone: smallest plot text ${smallest.toFixed(1)} px`);
    await page.locator('#report-view').screenshot({ path: join(artifacts, 'demo-report-phone.png') });
    assert.deepEqual(problems, [], problems.join('\n'));
  } finally {
    await browser.close();
    server.close();
  }
});
