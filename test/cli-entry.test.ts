// The entry point loads the one-file bundle of the command line only while it matches the
// compiled modules (src/cli/entry.ts), and the bundle runs: built here from the current
// compiled code, it prints the version and checks a configuration like the modules do, and its
// source map leads back to the TypeScript.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chooseEntry, COPY_MARGIN_MS } from '../src/cli/entry.js';
import { snapshotFiles } from '../src/cli/launcher.js';

const CLI_DIR = fileURLToPath(new URL('../src/cli/', import.meta.url));

test('no bundle: the modules', () => {
  assert.equal(chooseEntry({ bundleMs: undefined, compiledMs: 1_000_000 }), 'modules');
  assert.equal(chooseEntry({ bundleMs: undefined, compiledMs: undefined }), 'modules');
});

test('a bundle written after the last compile is loaded; one compiled over since is not', () => {
  assert.equal(chooseEntry({ bundleMs: 1_001_000, compiledMs: 1_000_000 }), 'bundle');
  // tsc ran again after the build (an edit): the bundle holds the old code.
  assert.equal(chooseEntry({ bundleMs: 1_000_000, compiledMs: 1_000_000 + COPY_MARGIN_MS + 1 }), 'modules');
  assert.equal(chooseEntry({ bundleMs: 1_000_000, compiledMs: 1_000_000 + 60_000 }), 'modules');
});

test('a copied build (times shuffled by the copy within the margin) keeps its bundle; without .tsbuildinfo the bundle is the build', () => {
  assert.equal(chooseEntry({ bundleMs: 1_000_000, compiledMs: 1_000_000 + COPY_MARGIN_MS }), 'bundle');
  assert.equal(chooseEntry({ bundleMs: 1_000_000, compiledMs: undefined }), 'bundle');
});

test('the bundle built from the compiled code prints the version and checks a configuration', () => {
  const bundle = join(CLI_DIR, `cli.bundle.test-${process.pid}.js`);
  const dir = mkdtempSync(join(os.tmpdir(), 'logship-entry-'));
  try {
    const built = spawnSync(process.execPath, [join(CLI_DIR, 'bundle.js'), bundle], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const version = spawnSync(process.execPath, [bundle, '--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^logship \d+\.\d+\.\d+/);
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, `agent: {data_dir: ${JSON.stringify(join(dir, 'data'))}}\ninputs:\n  - id: app\n    paths: [${JSON.stringify(join(dir, '*.log'))}]\n    topic: logs.app\nkafka: {brokers: ["127.0.0.1:9092"]}\n`);
    const check = spawnSync(process.execPath, [bundle, 'check', '-c', config], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /logs\.app/);
    // An invalid one is refused with the same located error as the modules give.
    writeFileSync(config, 'inputs: 7\n');
    const refused = spawnSync(process.execPath, [bundle, 'check', '-c', config], { encoding: 'utf8' });
    const modules = spawnSync(process.execPath, [join(CLI_DIR, 'start.js'), 'check', '-c', config], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr, modules.stderr);
    // Its source map leads a stack frame in the bundle back to the TypeScript (through tsc's
    // maps): the line that creates the logger is src/log.ts's.
    const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as SourceMapPayload);
    const text = readFileSync(bundle, 'utf8');
    const at = text.indexOf('function createLogger(');
    assert.ok(at >= 0, 'the bundle holds createLogger, by its name');
    const line = text.slice(0, at).split('\n').length - 1;
    const entry = map.findEntry(line, at - (text.lastIndexOf('\n', at) + 1)) as { originalSource?: string };
    assert.match(entry.originalSource ?? '', /\/src\/log\.ts$/);
  } finally {
    rmSync(bundle, { force: true });
    rmSync(`${bundle}.map`, { force: true });
    // The build's startup snapshot files, named with the same suffix (test/startup-snapshot.test.ts).
    const files = snapshotFiles(`.test-${process.pid}`);
    for (const name of [files.source, `${files.source}.map`, files.blob, files.id, files.launcher]) rmSync(join(CLI_DIR, name), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
