// `enf eval --samples 20` end to end: it samples, checks, scores a small seeded subset of the QM9
// test split (Hutchinson) and writes report.json and report.html; the HTML opens offline in headless
// Chromium, under the Content-Security-Policy it carries, with no scripts and no requests beyond
// itself, and shows the three histogram plots.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// The test of sharding: 2 shards merged give the unsharded run's figures exactly; and a
// run interrupted mid-way (its checkpoint cut, the last line torn) resumes to the same figures.
test('enf eval --shard 0/2 and 1/2, merged, equal one unsharded run; an interrupted run resumes', { skip, timeout: 600_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'enf-shards-'));
  const run = (...args) =>
    promisify(execFile)(
      process.execPath,
      [join(root, 'web', 'bin', 'enf.js'), 'eval', ...args],
      { cwd: root, maxBuffer: 1 << 24 },
    );
  const common = ['--samples', '7', '--nll-molecules', '5', '--exact-molecules', '1', '--rtol', '1e-3', '--atol', '1e-3', '--data', data, '--workers', '2'];
  const figures = (dir) => {
    const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    return { ...r, created: null, timing: null, runtime: null, shard: null };
  };
  try {
    const t0 = performance.now();
    await run(...common, '--out-dir', join(base, 'whole'));
    await run(...common, '--shard', '0/2', '--out-dir', join(base, 's0'));
    const { stdout: s1 } = await run(...common, '--shard', '1/2', '--out-dir', join(base, 's1'));
    assert.match(s1, /^shard 1\/2: 4 samples, 3 test NLLs, 1 exact/);
    const { stdout } = await run('merge', join(base, 's1'), join(base, 's0'), '--out-dir', join(base, 'merged'));
    t.diagnostic(`3 runs and a merge: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const line of stdout.trim().split('\n')) t.diagnostic(line);
    const whole = figures(join(base, 'whole'));
    assert.equal(whole.nll.molecules, 5);
    assert.equal(whole.nllExact.molecules, 1);
    assert.ok(Number.isFinite(whole.nllExact.values[0]));
    assert.deepEqual(figures(join(base, 'merged')), whole);
    // A merge that lacks a shard, or mixes settings, is refused with the reason.
    await assert.rejects(run('merge', join(base, 's0'), '--out-dir', join(base, 'bad')), /shard\(s\) 1\/2 missing/);
    await assert.rejects(run('--shard', '2/2', '--out-dir', join(base, 'bad')), /--shard takes k\/n/);

    // Interrupted: keep the header and every other record, tear the last line; resume.
    const path = join(base, 'whole', 'records.jsonl');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const kept = [lines[0], ...lines.slice(1).filter((l, i) => i % 2 === 0 && !l.includes('"kind":"time"'))];
    const resumedDir = join(base, 'resumed');
    mkdirSync(resumedDir);
    writeFileSync(join(resumedDir, 'records.jsonl'), kept.join('\n') + '\n{"kind":"sample","k":3,"se');
    const { stderr } = await run(...common, '--out-dir', resumedDir);
    assert.match(stderr, /from the checkpoint/);
    assert.deepEqual(figures(resumedDir), whole);
    // Other settings on a checkpoint are refused rather than mixed.
    await assert.rejects(run(...common.map((a) => (a === '7' ? '8' : a)), '--out-dir', resumedDir), /other settings \(samples: 7 vs 8\)/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
