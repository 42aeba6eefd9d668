// The demo's "Train" view in headless Chromium under the demo's Content-Security-Policy: DW4 data
// by MCMC with progress, a few training steps with the loss curve growing step by step while the
// page keeps drawing frames, Stop, then samples against the validation data (distance and energy
// histograms, the 2-D scatter) with the effective sample size of the reweighted samples; no console
// errors, and no horizontal overflow at 390 px.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifacts, buildDemo, collectProblems, launchChromium, serveDemo, skipNoChromium } from './helpers.mjs';

const skip = skipNoChromium;

test('demo: Train view (DW4 data, live loss curve, responsive page, compare and reweight) under CSP', { skip, timeout: 300_000 }, async (t) => {
  buildDemo();
  const { server, url } = await serveDemo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = collectProblems(page);
    await page.goto(url);
    await page.waitForFunction(() => window.__enfDemo?.train, null, { timeout: 60_000 });

    await page.selectOption('#train-system', 'dw4');
    await page.fill('#train-n', '60');
    await page.fill('#train-nval', '40');
    await page.fill('#train-batch', '20');
    await page.fill('#train-epochs', '2');
    await page.fill('#train-count', '40');
    // Record the progress bar and the page's frames from here on.
    await page.evaluate(() => {
      const s = (window.__trainProbe = { progress: [], frames: 0, maxGap: 0, last: performance.now(), on: true });
      const bar = document.querySelector('#train-progress');
      setInterval(() => s.progress.push(Number(bar.value)), 5);
      const tick = (now) => {
        if (!s.on) return;
        s.frames++;
        s.maxGap = Math.max(s.maxGap, now - s.last);
        s.last = now;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });

    const t0 = Date.now();
    await page.click('#train-data');
    await page.waitForFunction(() => window.__enfDemo.train.dataRuns >= 1, null, { timeout: 120_000 });
    t.diagnostic(`DW4 data (60 + 40 samples) in ${Date.now() - t0} ms`);
    assert.match(await page.textContent('#train-status'), /60 training and 40 validation samples/);
    assert.ok(await page.isEnabled('#train-fit'));

    // Train 2 epochs of 3 steps: the curve gains a point per step, while the page keeps drawing.
    await page.evaluate(() => Object.assign(window.__trainProbe, { frames: 0, maxGap: 0, last: performance.now() }));
    const t1 = Date.now();
    await page.click('#train-fit');
    await page.waitForFunction(() => Number(document.querySelector('#train-curve svg')?.dataset.points) >= 1, null, { timeout: 120_000 });
    const firstPoints = Number(await page.getAttribute('#train-curve svg', 'data-points'));
    // A click during training is answered at once (the Seed field takes focus and input).
    const c0 = Date.now();
    await page.fill('#train-seed', '0');
    const clickMs = Date.now() - c0;
    await page.waitForFunction(() => window.__enfDemo.train.fits >= 1, null, { timeout: 180_000 });
    const trainMs = Date.now() - t1;
    const probe = await page.evaluate(() => ({ ...window.__trainProbe, progress: undefined }));
    const ts = await page.evaluate(() => window.__enfDemo.train);
    t.diagnostic(`6 steps in ${trainMs} ms; ${probe.frames} frames, longest gap ${probe.maxGap.toFixed(0)} ms; a fill answered in ${clickMs} ms`);
    assert.equal(ts.steps, 6);
    assert.equal(ts.losses.length, 6);
    assert.ok(ts.losses.every(Number.isFinite));
    assert.equal(ts.validation.length, 3, 'the untrained model and two epochs');
    assert.equal(Number(await page.getAttribute('#train-curve svg', 'data-points')), 6);
    assert.ok(firstPoints < 6, 'the curve was drawn while training ran');
    assert.equal(await page.locator('#train-curve circle.series-val').count(), 3);
    assert.ok(probe.frames >= (trainMs / 1000) * 10, `only ${probe.frames} frames in ${trainMs} ms`);
    assert.ok(probe.maxGap < 500, `the page froze for ${probe.maxGap} ms`);
    assert.ok(clickMs < 2000, `a fill took ${clickMs} ms`);
    assert.match(await page.textContent('#train-status'), /Trained 6 steps; validation NLL \d/);

    // Stop: a longer run stops after the step in flight; the view stays usable.
    await page.fill('#train-epochs', '20');
    await page.click('#train-fit');
    await page.waitForFunction(() => window.__enfDemo.train.steps >= 7, null, { timeout: 60_000 });
    await page.click('#train-stop');
    await page.waitForFunction(() => /Stopped/.test(document.querySelector('#train-status').textContent), null, { timeout: 60_000 });
    assert.ok(await page.isEnabled('#train-fit'));
    const stoppedAt = await page.evaluate(() => window.__enfDemo.train.steps);
    assert.ok(stoppedAt < 6 + 60, `stopped at step ${stoppedAt}`);

    // Samples against the validation data, and Boltzmann reweighting.
    await page.click('#train-compare');
    await page.waitForFunction(() => window.__enfDemo.train.compare, null, { timeout: 120_000 });
    const cmp = await page.evaluate(() => window.__enfDemo.train.compare);
    t.diagnostic(`compare: ESS ${cmp.ess.toFixed(1)} of ${cmp.count}, JSD distances ${cmp.jsdDistances.toFixed(3)}, energies ${cmp.jsdEnergies.toFixed(3)}`);
    assert.equal(cmp.count, 40);
    assert.ok(cmp.ess >= 1 && cmp.ess <= 40, `ESS ${cmp.ess}`);
    assert.ok(Number.isFinite(cmp.meanLogp));
    const plots = await page.$$eval('#train-compare-out svg.enf-plot', (list) =>
      list.map((s) => ({ id: s.dataset.plot, width: s.getBoundingClientRect().width, samples: s.querySelectorAll('.series-samples').length, data: s.querySelectorAll('.series-data').length })));
    assert.deepEqual(plots.map((p) => p.id), ['train-distances', 'train-energies', 'train-scatter']);
    for (const p of plots) {
      assert.ok(p.width > 200, `${p.id} is ${p.width} px wide`);
      assert.ok(p.samples >= 1 && p.data >= 1, `${p.id} lacks a series`);
    }
    assert.match(await page.textContent('#train-ess'), /of 40 \(/);
    const progress = await page.evaluate(() => window.__trainProbe.progress);
    assert.ok(progress.some((v) => v > 0 && v < 1), 'the progress bar moved');
    await page.locator('#train-view').screenshot({ path: join(artifacts, 'demo-train.png') });

    // Export the weights (a download), import them again: the imported flow draws the same samples
    // (same seed), so the same effective sample size.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#train-export')]);
    assert.match(download.suggestedFilename(), /^dw4-\d+-steps\.safetensors$/);
    const file = join(tmpdir(), `enf-train-demo-${process.pid}.safetensors`);
    await download.saveAs(file);
    await page.setInputFiles('#train-import', file);
    await page.waitForFunction(() => /Loaded .*a dw4 flow/.test(document.querySelector('#train-status').textContent), null, { timeout: 60_000 });
    await page.click('#train-compare');
    await page.waitForFunction(() => window.__enfDemo.train.compareRuns >= 2, null, { timeout: 120_000 });
    const imported = await page.evaluate(() => window.__enfDemo.train.compare);
    assert.equal(imported.imported, true);
    assert.equal(imported.ess, cmp.ess);
    assert.equal(imported.meanLogp, cmp.meanLogp);
    assert.match(await page.textContent('#train-status'), /imported flow/);

    // Our shipped DW4 model (weights/dw4.safetensors, a build asset of the demo) against the same
    // validation data: its energies match the data's far better than the 3-epoch model's above.
    await page.click('#train-pretrained');
    await page.waitForFunction(() => /Loaded our trained dw4 flow/.test(document.querySelector('#train-status').textContent), null, { timeout: 60_000 });
    await page.click('#train-compare');
    await page.waitForFunction(() => window.__enfDemo.train.compareRuns >= 3, null, { timeout: 120_000 });
    const shipped = await page.evaluate(() => window.__enfDemo.train.compare);
    await page.locator('#train-view').screenshot({ path: join(artifacts, 'demo-train-shipped.png') });
    assert.equal(shipped.imported, true);
    assert.ok(shipped.jsdEnergies < cmp.jsdEnergies, `shipped model's energy JSD ${shipped.jsdEnergies} vs ${cmp.jsdEnergies} after 3 epochs`);
    // The data's entropy from reweighting: the bound never exceeds the estimate (Jensen), and the
    // estimate agrees with the native one (7.03 nats: enf_train_bench --reweight, 2,000 samples).
    assert.ok(shipped.entropyBound <= shipped.entropyIS, `${shipped.entropyBound} > ${shipped.entropyIS}`);
    assert.ok(Math.abs(shipped.entropyIS - 7.03) < 0.8, `entropy estimate ${shipped.entropyIS}`);
    console.log(`# energy JSD against validation data: shipped DW4 model ${shipped.jsdEnergies.toFixed(4)}, 3-epoch model ${cmp.jsdEnergies.toFixed(4)}; ESS ${shipped.ess.toFixed(1)} vs ${cmp.ess.toFixed(1)} of ${shipped.count}`);

    // LJ13 (3-D: histograms, no scatter): data, one step, compare.
    await page.selectOption('#train-system', 'lj13');
    assert.equal(await page.isDisabled('#train-pretrained'), false, 'the shipped LJ13 model can be loaded');
    await page.fill('#train-n', '8');
    await page.fill('#train-nval', '8');
    await page.fill('#train-batch', '8');
    await page.fill('#train-epochs', '1');
    await page.fill('#train-count', '10');
    await page.click('#train-data');
    await page.waitForFunction(() => window.__enfDemo.train.dataRuns >= 2, null, { timeout: 120_000 });
    await page.click('#train-fit');
    await page.waitForFunction(() => window.__enfDemo.train.fits >= 2, null, { timeout: 120_000 });
    await page.click('#train-compare');
    await page.waitForFunction(() => window.__enfDemo.train.compareRuns >= 4, null, { timeout: 120_000 });
    const lj = await page.evaluate(() => ({ ...window.__enfDemo.train.compare, system: window.__enfDemo.train.system }));
    assert.deepEqual(lj.system, { name: 'lj13', particles: 13, dim: 3 });
    assert.equal(lj.imported, false);
    assert.ok(lj.ess >= 1 && lj.ess <= 10);
    assert.deepEqual(await page.$$eval('#train-compare-out svg.enf-plot', (l) => l.map((s) => s.dataset.plot)), ['train-distances', 'train-energies']);

    // Our model of the fluid LJ13, sampled without data of its own system: a lone distance
    // histogram, capped in width rather than stretched across the view.
    await page.selectOption('#train-system', 'lj13-fluid');
    assert.equal(await page.isDisabled('#train-pretrained'), false, 'the shipped lj13-fluid model can be loaded');
    await page.fill('#train-count', '10');
    await page.click('#train-pretrained');
    await page.waitForFunction(() => /Loaded our trained lj13-fluid flow/.test(document.querySelector('#train-status').textContent), null, { timeout: 60_000 });
    await page.click('#train-compare');
    await page.waitForFunction(() => window.__enfDemo.train.compareRuns >= 5, null, { timeout: 120_000 });
    assert.match(await page.textContent('#train-status'), /Sampled 10 configurations from the imported LJ13 \(fluid\) flow/);
    const lone = await page.$$eval('#train-compare-out svg.enf-plot', (l) => l.map((s) => [s.dataset.plot, s.getBoundingClientRect().width]));
    assert.equal(lone.length, 1);
    assert.equal(lone[0][0], 'train-distances');
    assert.ok(lone[0][1] <= 761, `the lone histogram is ${lone[0][1]} px wide`);
    await page.locator('#train-view').screenshot({ path: join(artifacts, 'demo-train-lj13-fluid.png') });

    // Phone width: no horizontal overflow with the plots open.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows a 390 px viewport by ${overflow} px`);
    // Plot text stays readable on the phone (was 5.6 px): the plots scroll sideways instead of shrinking.
    const smallest = await page.$$eval('#train-view svg text', (ts) => Math.min(...ts.map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)));
    assert.ok(smallest >= 9, `plot text ${smallest.toFixed(1)} px high on a 390 px screen`);
    console.log(`phone: smallest plot text ${smallest.toFixed(1)} px`);
    await page.locator('#train-view').screenshot({ path: join(artifacts, 'demo-train-phone.png') });
    assert.deepEqual(problems, [], problems.join('\n'));
  } finally {
    await browser.close();
    server.close();
  }
});
