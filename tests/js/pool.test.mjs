// The worker pool on fake workers (no WebAssembly): aborting running calls where there is no shared
// memory replaces their workers, and that must not count toward the crash-loop limit (a lifetime
// cap once left a non-isolated page without workers after about 120 aborts); a real crash loop
// still gives up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerPool } from '../../web/dist/pool.js';

/** Workers that start at once, finish 'quick' jobs at once, never finish 'slow' ones, and crash on 'crash'. */
function fakeFactory(stats) {
  return (onReply, onCrash) => {
    stats.started += 1;
    return {
      post(m) {
        if (m.op === 'init') queueMicrotask(() => onReply({ id: m.id, kind: 'result', value: { maxAtoms: 29, elements: [], instantiateMs: 0, loadMs: 0 } }));
        else if (m.op === 'quick') queueMicrotask(() => onReply({ id: m.id, kind: 'result', value: 'done' }));
        else if (m.op === 'crash') queueMicrotask(() => onCrash('requested'));
      },
      terminate() {
        stats.terminated += 1;
      },
      setBusy() {},
    };
  };
}

test('pool: 500 aborted running calls without shared memory leave a working pool', async () => {
  const stats = { started: 0, terminated: 0 };
  const pool = new WorkerPool(fakeFactory(stats), 2, false);
  await pool.start({ module: {}, weights: new Uint8Array(0), checksumVerified: true });
  for (let k = 0; k < 500; k++) {
    const ac = new AbortController();
    const running = pool.run({ op: 'slow' }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 0));
    ac.abort();
    await assert.rejects(running, (e) => e.name === 'AbortError');
  }
  assert.equal(await pool.run({ op: 'quick' }), 'done');
  assert.ok(stats.terminated >= 500, `${stats.terminated} workers stopped for 500 aborts`);
  pool.dispose();
});

test('pool: a crash loop gives up with WorkerCrashedError instead of respawning forever', async () => {
  const stats = { started: 0, terminated: 0 };
  const pool = new WorkerPool(fakeFactory(stats), 1, false);
  await pool.start({ module: {}, weights: new Uint8Array(0), checksumVerified: true });
  let crashes = 0;
  for (let k = 0; k < 100; k++) {
    try {
      await pool.run({ op: 'crash' });
    } catch (e) {
      assert.equal(e.name, 'WorkerCrashedError');
      crashes += 1;
      if (/no worker is running|giving up/.test(e.message)) break;
    }
  }
  assert.ok(crashes < 40, `still respawning after ${crashes} crashes`);
  await assert.rejects(pool.run({ op: 'quick' }), (e) => e.name === 'WorkerCrashedError');
  pool.dispose();
});
