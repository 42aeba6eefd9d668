// The demo page in headless Chromium, served with the demo's Content-Security-Policy: it loads
// without console errors, streams a trajectory into the viewer while the main thread stays free,
// exports XYZ that parses back, scores a built-in QM9 molecule like the Node API does, and shows
// a readable error for malformed XYZ. Screenshots go to test-results/ for people to look at.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifacts, buildDemo, collectProblems, launchChromium, root, serveDemo, skipNoChromium, skipNoWeights } from './helpers.mjs';

const skip = skipNoWeights || skipNoChromium;

function parseXyz(text) {
  const lines = text.trim().split(/\r?\n/);
  const n = Number(lines[0]);
  return lines.slice(2, 2 + n).map((l) => l.trim().split(/\s+/)[0]);
}

test('demo: loads under CSP, streams, exports, scores, reports errors', { skip, timeout: 600_000 }, async () => {
  buildDemo();
  const { server, url } = await serveDemo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    const problems = collectProblems(page);
    await page.goto(url);
    await page.waitForFunction(() => window.__enfDemo?.ready, null, { timeout: 120_000 });

    // Long tasks on the main thread while sampling.
    await page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
        .observe({ type: 'longtask' });
    });
    await page.fill('#atoms', '12');
    await page.fill('#seed', '7');
    // 1e-5 keeps the equivariance check below well clear of the solver's own error.
    await page.selectOption('#tol', '1e-5');
    await page.click('#sample');
    await page.waitForFunction(() => window.__enfDemo.samples >= 1, null, { timeout: 120_000 });
    const longTasks = await page.evaluate(() => window.__longTasks);
    const frames = await page.evaluate(() => window.__enfDemo.frames);
    // An early frame (scrubbed back) and the final molecule must look different. The viewer draws
    // in a worker: wait until it has drawn the scrubbed frame.
    const showFrameAt = async (k) => {
      await page.waitForTimeout(300); // draws queued before the scrub land first
      const before = await page.evaluate(() => window.__enfDemo.viewer.renders);
      await page.locator('#scrub').fill(String(k));
      await page.waitForFunction((b) => window.__enfDemo.viewer.renders > b, before);
      await page.waitForTimeout(200);
      // The scrubbed frame is still the one shown (nothing drew over it meanwhile).
      assert.equal(await page.locator('#scrub').inputValue(), String(k));
      assert.match(await page.locator('#frame-info').textContent(), new RegExp(`^frame ${k + 1}/`));
    };
    await showFrameAt(12);
    const early = await page.locator('#viewer').screenshot({ path: join(artifacts, 'demo-mid-trajectory.png') });
    await showFrameAt(frames - 1);
    const late = await page.locator('#viewer').screenshot({ path: join(artifacts, 'demo-end.png') });
    assert.ok(frames >= 20, `only ${frames} frames streamed`);
    assert.notDeepEqual(early, late, 'the viewer did not change between an early and the last frame');
    // Main-thread long tasks while sampling are recorded, not asserted: in headless Chromium without
    // a GPU on 2 cores, the compositor commit waits on software WebGL while a worker holds a core
    // (measured 60-130 ms; JS work itself stays under 15 ms). See the issue notes.
    console.log(`demo: ${frames} frames streamed; main-thread long tasks while sampling (ms): [${longTasks.map(Math.round)}]`);
    await page.locator('.card .badge').first().waitFor();
    const badge = await page.locator('.card .badge').first().textContent();
    assert.match(badge, /^(stable|unstable)$/);
    await page.screenshot({ path: join(artifacts, 'demo-page.png'), fullPage: true });

    // Equivariance view: the rotated latent gives the same atoms, rotated.
    await page.click('#rotate');
    await page.waitForFunction(() => document.querySelector('#equivariance').textContent.includes('Å'), null, { timeout: 120_000 });
    const equivariance = await page.textContent('#equivariance');
    console.log(`demo: ${equivariance}`);
    assert.match(equivariance, /same atoms/);
    const worst = Number(/= ([0-9.e+-]+) Å/.exec(equivariance)[1]);
    assert.ok(worst < 2e-3, `rotated sample differs from the rotated molecule by ${worst} Å`);
    await page.click('.card');

    // Export XYZ and parse it back.
    const elements = await page.evaluate(() => window.__enfDemo.molecule.elements);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-xyz')]);
    const xyz = readFileSync(await download.path(), 'utf8');
    assert.deepEqual(parseXyz(xyz), elements);

    // Score a built-in QM9 molecule and compare with the Node API (same wasm, same seed).
    await page.selectOption('#builtin', { index: 1 });
    const input = await page.inputValue('#xyz-input');
    await page.click('#score');
    await page.waitForFunction(() => document.querySelector('#score-result td') || document.querySelector('#score-error').textContent, null, { timeout: 120_000 });
    const pageLogp = await page.evaluate(() => window.__enfDemo.lastScore?.logLikelihood);
    const { loadModel } = await import(join(root, 'web', 'dist', 'node.js'));
    const model = await loadModel('qm9', { workers: 1 });
    try {
      const node = await model.score(input, { trace: 'hutchinson', probes: 4, samples: 1, seed: 0 }); // the page's default probes
      assert.ok(Number.isFinite(pageLogp), `page score ${pageLogp}`);
      assert.ok(Math.abs(pageLogp - node.logLikelihood) <= 1e-3, `page ${pageLogp} vs node ${node.logLikelihood}`);
    } finally {
      model.dispose();
    }

    // Malformed XYZ: a readable error, and the page keeps working.
    await page.fill('#xyz-input', '3\nbroken\nH 0 0\n');
    await page.click('#score');
    await page.waitForFunction(() => document.querySelector('#score-error').textContent.length > 0);
    assert.match(await page.textContent('#score-error'), /XYZ line 3/);
    await page.fill('#xyz-input', input);
    await page.click('#score');
    await page.waitForFunction(() => document.querySelector('#score-result td'), null, { timeout: 120_000 });

    // A long exact score shows progress and can be cancelled; the page keeps working.
    await page.selectOption('#trace', 'exact');
    await page.click('#score');
    await page.waitForFunction(() => Number(document.querySelector('#score-progress').value) > 0, null, { timeout: 60_000 });
    await page.click('#cancel-score');
    await page.waitForFunction(() => document.querySelector('#score-error').textContent.length > 0, null, { timeout: 10_000 });
    assert.match(await page.textContent('#score-error'), /abort|cancel/i);
    assert.equal(await page.isEnabled('#score'), true);
    // Served cross-origin isolated (as vite preview serves it), the page splits an exact score over
    // its workers; a small molecule finishes.
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
    await page.fill('#xyz-input', '5\nmethane\nC 0 0 0\nH 0.629 0.629 0.629\nH -0.629 -0.629 0.629\nH -0.629 0.629 -0.629\nH 0.629 -0.629 -0.629\n');
    await page.click('#score');
    await page.waitForFunction(() => document.querySelector('#score-result td'), null, { timeout: 120_000 });
    // The demo starts one worker per core but one (the page keeps a core): two or more split.
    const workers = await page.evaluate(() => Math.max(1, navigator.hardwareConcurrency - 1));
    const timeRow = await page.textContent('#score-result');
    if (workers >= 2) assert.match(timeRow, /exact, split over \d+ workers/);
    else assert.match(timeRow, /\(exact\)/);
    await page.fill('#xyz-input', input);

    // Phone width: the layout reflows without horizontal scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows a 390 px viewport by ${overflow} px`);
    await page.screenshot({ path: join(artifacts, 'demo-phone.png'), fullPage: true });

    assert.deepEqual(problems, [], problems.join('\n'));
    writeFileSync(join(artifacts, 'demo-summary.json'), JSON.stringify({ frames, longTasks }, null, 1));
  } finally {
    await browser.close();
    server.close();
  }
});
