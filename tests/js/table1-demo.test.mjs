// The demo's "Table 1" view in headless Chromium: E-NF and GNF train side by side on the same DW4
// data with both validation curves growing, the symmetry check keeps the E-NF's log-likelihood of
// a rotated, reflected and relabelled configuration and moves GNF's; changing a method mid-run
// stops the pair and clears the view; Stop leaves it usable; the Train view trains any method; no
// console errors and no horizontal overflow at 390 px.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifacts, buildDemo, collectProblems, launchChromium, serveDemo, skipNoChromium } from './helpers.mjs';

test('demo: Table 1 view (two methods side by side, symmetry check, switching mid-run, phone width)', { skip: skipNoChromium, timeout: 400_000 }, async (t) => {
  buildDemo();
  const { server, url } = await serveDemo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = collectProblems(page);
    await page.goto(url);
    await page.waitForFunction(() => window.__enfDemo?.table1, null, { timeout: 60_000 });
    const methods = await page.$$eval('#t1-a option', (os) => os.map((o) => o.value));
    assert.deepEqual(methods, ['E-NF', 'GNF', 'GNF-att', 'GNF-att-aug', 'Simple dynamics', 'Kernel dynamics']);
    assert.equal(await page.inputValue('#t1-a'), 'E-NF');
    assert.equal(await page.inputValue('#t1-b'), 'GNF');

    // A bad field stops the action with a message; nothing starts.
    await page.fill('#t1-n', '5');
    await page.click('#t1-train');
    assert.match(await page.textContent('#t1-status'), /Not started: Training samples must be from 10 to 100000/);

    await page.selectOption('#t1-system', 'dw4');
    await page.fill('#t1-n', '100');
    await page.fill('#t1-epochs', '2');
    const t0 = Date.now();
    await page.click('#t1-train');
    await page.waitForFunction(() => window.__enfDemo.table1.trained >= 1, null, { timeout: 240_000 });
    t.diagnostic(`E-NF and GNF, 2 epochs of 100 DW4 samples side by side: ${Date.now() - t0} ms`);
    const runs = await page.evaluate(() => window.__enfDemo.table1.runs);
    assert.deepEqual(runs.map((r) => r.method), ['E-NF', 'GNF']);
    for (const r of runs) {
      assert.equal(r.losses.length, 2, `${r.method}: one step per epoch at batch 100`);
      assert.equal(r.validation.length, 3, `${r.method}: the untrained flow and two epochs`);
      assert.ok(r.validation.every((v) => Number.isFinite(v.nll)));
    }
    assert.equal(await page.locator('#t1-curve path.series-0').count(), 1);
    assert.equal(await page.locator('#t1-curve path.series-1').count(), 1);
    assert.match(await page.textContent('#t1-table'), /paper, test NLL \(n = 100\)/);
    assert.match(await page.textContent('#t1-table'), /8\.31/); // the paper's E-NF at DW4 n = 100

    // The symmetry check: the same physical state five ways.
    await page.click('#t1-check');
    await page.waitForFunction(() => window.__enfDemo.table1.check, null, { timeout: 120_000 });
    const check = await page.evaluate(() => window.__enfDemo.table1.check);
    t.diagnostic(`log p spread under rotation, reflection, relabelling: E-NF ${check.spread[0].toExponential(2)}, GNF ${check.spread[1].toExponential(2)} nats`);
    assert.deepEqual(check.methods, ['E-NF', 'GNF']);
    assert.equal(check.logp[0].length, 5);
    assert.ok(check.spread[0] < 1e-3, `the E-NF moved by ${check.spread[0]}`);
    assert.ok(check.spread[1] > 1e-2, `GNF moved by only ${check.spread[1]}`);
    assert.equal(await page.locator('#t1-check-out tr').count(), 6);
    await page.locator('#table1-view').screenshot({ path: join(artifacts, 'demo-table1.png') });

    // Our trained pair (weights/table1, the paper's schedule): the E-NF keeps the log-likelihood of
    // the moved configuration, GNF moves it, and GNF-att-aug, trained on rotated data, moves it less.
    const shippedCheck = async (b) => {
      await page.selectOption('#t1-b', b);
      await page.click('#t1-shipped');
      await page.waitForFunction(() => window.__enfDemo.table1.shipped, null, { timeout: 120_000 });
      await page.click('#t1-check');
      await page.waitForFunction(() => window.__enfDemo.table1.check?.shipped, null, { timeout: 120_000 });
      return page.evaluate(() => window.__enfDemo.table1.check);
    };
    const gnf = await shippedCheck('GNF');
    assert.match(await page.textContent('#t1-table'), /ours, test NLL \(n = 1000\)/);
    const aug = await shippedCheck('GNF-att-aug');
    t.diagnostic(`our trained DW4 flows, log p spread: E-NF ${gnf.spread[0].toExponential(2)}, GNF ${gnf.spread[1].toFixed(3)}, GNF-att-aug ${aug.spread[1].toFixed(3)} nats`);
    assert.ok(gnf.spread[0] < 1e-3 && aug.spread[0] < 1e-3, 'the trained E-NF is invariant');
    assert.ok(gnf.spread[1] > 1e-2, `the trained GNF moved by only ${gnf.spread[1]}`);
    assert.ok(aug.spread[1] < gnf.spread[1], `GNF-att-aug moved by ${aug.spread[1]}, GNF by ${gnf.spread[1]}`);
    await page.locator('#table1-view').screenshot({ path: join(artifacts, 'demo-table1-shipped.png') });
    await page.selectOption('#t1-b', 'GNF');

    // Another method mid-run: the pair stops and the view clears; Stop on a new run leaves it usable.
    await page.fill('#t1-epochs', '50');
    await page.click('#t1-train');
    await page.waitForFunction(() => window.__enfDemo.table1.runs.some((r) => r.losses.length >= 1), null, { timeout: 120_000 });
    await page.selectOption('#t1-b', 'GNF-att-aug');
    assert.equal(await page.evaluate(() => window.__enfDemo.table1.runs.length), 0);
    assert.equal(await page.textContent('#t1-check-out'), '');
    await page.waitForFunction(() => !document.querySelector('#t1-train').disabled, null, { timeout: 60_000 });
    await page.click('#t1-train');
    await page.waitForFunction(() => window.__enfDemo.table1.runs.some((r) => r.losses.length >= 1), null, { timeout: 120_000 });
    await page.click('#t1-stop');
    await page.waitForFunction(() => /Stopped/.test(document.querySelector('#t1-status').textContent), null, { timeout: 60_000 });
    assert.ok(await page.isEnabled('#t1-train'));
    assert.ok(await page.isEnabled('#t1-check'), 'a stopped pair can still be checked');

    // The Train view trains any row of Table 1.
    await page.selectOption('#train-system', 'dw4');
    await page.selectOption('#train-method', 'Kernel dynamics');
    assert.equal(await page.inputValue('#train-lr'), '0.001', "the authors' learning rate for the baselines");
    await page.fill('#train-n', '40');
    await page.fill('#train-nval', '20');
    await page.click('#train-data');
    await page.waitForFunction(() => window.__enfDemo.train.dataRuns >= 1, null, { timeout: 120_000 });
    assert.match(await page.textContent('#train-status'), /Kernel dynamics\. Press Train/);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows a 390 px viewport by ${overflow} px`);
    await page.locator('#table1-view').screenshot({ path: join(artifacts, 'demo-table1-phone.png') });
    assert.deepEqual(problems, [], problems.join('\n'));
  } finally {
    await browser.close();
    server.close();
  }
});
