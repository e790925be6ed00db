// The registry file format: exact roundtrip, the checksum, one validator for reading and
// writing, and what serialising and loading 10,000 entries costs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffsetRegistry } from '../src/registry/offset-registry.js';
import { copyCheckpoint, decodeRegistry, encodeRegistry, parseCheckpoint } from '../src/registry/registry-file.js';
import type { Checkpoint } from '../src/core/file.js';
import { checkpoint, makeTempDir, manualClock, removeDir, silentLog } from './helpers/registry-fixtures.js';

function encode(entries: Checkpoint[], writtenAt = 1_700_000_000_000): string {
  return encodeRegistry(
    entries.map((cp) => Buffer.from(JSON.stringify(copyCheckpoint(cp, cp.lastSeen)))),
    writtenAt,
  ).toString('utf8');
}

describe('registry file format', () => {
  it('roundtrips entries exactly, including odd paths and identities beyond 2^53', () => {
    const entries = [
      checkpoint(1, 0),
      checkpoint(2 ** 60, Number.MAX_SAFE_INTEGER, { identity: { dev: 2 ** 62, ino: 2 ** 60 }, lastSeen: 1_700_000_000_123 }),
      checkpoint(3, 42, { path: '/var/log/\u00e9t\u00e9 "quoted" \\ \n\ud83d\ude00.log', input: 'in\u0000put' }),
    ];
    const decoded = decodeRegistry(encode(entries));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.problem);
    assert.deepEqual(decoded.entries, entries);
    assert.equal(decoded.writtenAt, 1_700_000_000_000);
  });

  it('is one line ending in a newline', () => {
    const text = encode([checkpoint(1, 10), checkpoint(2, 20)]);
    assert.equal(text.indexOf('\n'), text.length - 1);
  });

  it('the checksum covers the write time and every entry byte', () => {
    const text = encode([checkpoint(1, 10)]);
    assert.match(expectProblem(text.replace('"written_at":1700000000000', '"written_at":1700000000001')), /checksum mismatch/);
    assert.match(expectProblem(text.replace('"input":"nginx"', '"input":"nginy"')), /checksum mismatch/);
    assert.match(expectProblem(text.replace(/"sha256":"[0-9a-f]+"/, '"sha256":"00"')), /checksum mismatch/);
    assert.match(expectProblem(text.replace(/,"sha256":"[0-9a-f]+"/, '')), /sha256 is missing/);
  });

  it('parseCheckpoint returns the canonical copy: fixed key order, no stray properties', () => {
    const messy = { lastSeen: 5, marker: null, offset: 0, path: '/p', input: 'i', fingerprint: { hash: 'ab', len: 1, extra: 1 }, identity: { ino: 2, dev: 1 }, extra: true };
    const parsed = parseCheckpoint(messy);
    assert.notEqual(typeof parsed, 'string');
    assert.equal(
      JSON.stringify(parsed),
      '{"identity":{"dev":1,"ino":2},"fingerprint":{"len":1,"hash":"ab"},"input":"i","path":"/p","offset":0,"marker":null,"lastSeen":5}',
    );
  });

  const invalid: Record<string, unknown> = {
    'not an object': 42,
    'identity missing': { ...checkpoint(1, 1), identity: undefined },
    'negative ino': checkpoint(-1, 1),
    'fractional dev': checkpoint(1, 1, { identity: { dev: 1.5, ino: 1 } }),
    'NaN offset': checkpoint(1, Number.NaN),
    'negative offset': checkpoint(1, -1),
    'fractional offset': checkpoint(1, 1.5),
    'offset beyond 2^53': checkpoint(1, 2 ** 54),
    'offset as a string': { ...checkpoint(1, 1), offset: '10' },
    'empty input': checkpoint(1, 1, { input: '' }),
    'empty path': checkpoint(1, 1, { path: '' }),
    'non-hex fingerprint': checkpoint(1, 1, { fingerprint: { len: 1, hash: 'xyz' } }),
    'fingerprint without len': { ...checkpoint(1, 1), fingerprint: { hash: 'ab' } },
    'marker not an object': { ...checkpoint(1, 1), marker: 'ab' },
    'marker missing': { ...checkpoint(1, 1), marker: undefined },
    'lastSeen infinite': checkpoint(1, 1, { lastSeen: Number.POSITIVE_INFINITY }),
  };
  for (const [name, value] of Object.entries(invalid)) {
    it(`rejects an entry with ${name}, both as a value to write and in a file`, () => {
      assert.equal(typeof parseCheckpoint(value), 'string');
      // In a file: JSON turns NaN/Infinity into null and drops undefined, which must fail too.
      const text = encodeRegistry([Buffer.from(JSON.stringify(value))], 1).toString('utf8');
      assert.match(expectProblem(text), /entry 0 is invalid/);
    });
  }
});

function expectProblem(text: string): string {
  const decoded = decodeRegistry(text);
  assert.equal(decoded.ok, false, 'expected the file to be rejected');
  return decoded.ok ? '' : decoded.problem;
}

describe('registry performance (10,000 entries)', () => {
  it('serialises, writes and loads 10,000 entries; commit stays a map set', async (t) => {
    const dataDir = await makeTempDir('registry-perf');
    try {
      const clock = manualClock();
      const registry = await OffsetRegistry.open({ dataDir, flushIntervalMs: 1_000, cleanAfterMs: 0, log: silentLog, now: clock.now });
      const files = 10_000;
      const make = (i: number, offset: number): Checkpoint =>
        checkpoint(1_000_000 + i, offset, { path: `/var/log/service-${i % 100}/app-${i}.log`, fingerprint: { len: 1024, hash: 'a1'.repeat(32) } });

      const batches = Array.from({ length: files }, (_, i) => make(i, i));
      let started = performance.now();
      const commits = 1_000_000;
      for (let n = 0; n < commits; n++) registry.commit(batches[n % files] as Checkpoint);
      const commitNs = ((performance.now() - started) * 1e6) / commits;

      await registry.flush();
      const fullMs = registry.stats.lastWriteMs;
      const fullEncodeMs = registry.stats.lastEncodeMs;
      for (let i = 0; i < 500; i++) registry.commit(make(i, 5_000_000 + i));
      await registry.flush();
      const incrementalMs = registry.stats.lastWriteMs;
      const incrementalEncodeMs = registry.stats.lastEncodeMs;
      assert.ok(incrementalEncodeMs > 0 && incrementalEncodeMs <= incrementalMs);

      started = performance.now();
      const reopened = await OffsetRegistry.open({ dataDir, flushIntervalMs: 1_000, cleanAfterMs: 0, log: silentLog, now: clock.now });
      const loadMs = performance.now() - started;
      assert.equal(reopened.stats.entries, files);
      assert.equal(reopened.get({ dev: 2049, ino: 1_000_000 + 499 })?.offset, 5_000_499);
      assert.equal(reopened.get({ dev: 2049, ino: 1_000_000 + 9_999 })?.offset, 9_999);

      t.diagnostic(
        `commit ${commitNs.toFixed(0)} ns; flush of 10,000 entries, all changed: ${fullMs.toFixed(1)} ms ` +
          `(event loop blocked ${fullEncodeMs.toFixed(1)} ms); 500 changed: ${incrementalMs.toFixed(1)} ms (blocked ${incrementalEncodeMs.toFixed(1)} ms); ` +
          `load ${loadMs.toFixed(1)} ms`,
      );
      // Loose bounds: they catch an accidental O(n^2), not a slow machine.
      assert.ok(commitNs < 20_000, `commit took ${commitNs} ns`);
      assert.ok(fullMs < 2_000 && incrementalMs < 2_000, `flush took ${fullMs} / ${incrementalMs} ms`);
    } finally {
      await removeDir(dataDir);
    }
  });
});
