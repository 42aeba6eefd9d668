// The CLI's command line: unknown commands and options are usage errors (exit 2) with a
// suggestion, never silently ignored; every command has its own --help; --version prints the
// package's version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from './helpers.mjs';

const enf = (...args) => spawnSync(process.execPath, [join(root, 'web', 'bin', 'enf.js'), ...args], { encoding: 'utf8', timeout: 60_000 });

test('enf: unknown options and commands are usage errors with a suggestion', () => {
  for (const [args, message] of [
    [['sample', '--atom', '12'], /enf sample: unknown option --atom \(did you mean --atoms\?\)/],
    [['score', 'm.xyz', '--trce', 'exact'], /enf score: unknown option --trce \(did you mean --trace\?\)/],
    [['eval', '--nll-molecule', '5'], /did you mean --nll-molecules\?/],
    [['bench', '--quick=yes'], /--quick takes no value/],
    [['samle'], /unknown command 'samle' \(did you mean 'sample'\?\)/],
    [['sample', '--atoms'], /option --atoms needs a value/],
  ]) {
    const r = enf(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '', `${args.join(' ')} printed a result`);
  }
});

test('enf: per-command --help and --version', () => {
  const version = JSON.parse(readFileSync(join(root, 'web', 'package.json'), 'utf8')).version;
  for (const flag of ['--version', '-V']) {
    const r = enf(flag);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `enf-wasm ${version}`);
  }
  for (const cmd of ['sample', 'trajectory', 'score', 'verify', 'bench', 'eval']) {
    for (const args of [[cmd, '--help'], [cmd, '-h'], ['help', cmd]]) {
      const r = enf(...args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: enf ${cmd}`), args.join(' '));
    }
  }
  const r = enf('sample', '--atoms', '5', '--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--format xyz\|sdf\|json/);
});
