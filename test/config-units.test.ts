// Durations and sizes as operators write them in agent.yaml.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSize, parseDuration, parseSize, UnitError } from '../src/config/units.js';

describe('parseDuration', () => {
  test('reads ms, s, m, h, d and zero', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(' 2s '), 2000);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration('0s'), 0);
  });

  test('rejects a bare number other than 0, suggesting units', () => {
    assert.throws(() => parseDuration(30), { name: 'UnitError', message: '30 has no unit: say 30s or 30ms' });
    assert.throws(() => parseDuration('30'), { message: '"30" has no unit: say 30s or 30ms' });
  });

  test('rejects negatives, garbage, fractions of a millisecond and non-strings', () => {
    assert.throws(() => parseDuration('-5s'), /is negative/);
    assert.throws(() => parseDuration(-5), /is negative/);
    assert.throws(() => parseDuration('5 parsecs'), { message: '"5 parsecs" is not a duration (e.g. 250ms, 5s, 24h)' });
    assert.throws(() => parseDuration(''), /is not a duration/);
    assert.throws(() => parseDuration('0.5ms'), /not a whole number of milliseconds/);
    assert.throws(() => parseDuration(true), /expected a duration .*, got true/);
    assert.throws(() => parseDuration(null), (e: unknown) => e instanceof UnitError && e.value === null);
  });
});

describe('parseSize', () => {
  test('reads IEC and SI units, plain integers and YAML numbers as bytes', () => {
    assert.equal(parseSize('64KiB'), 65_536);
    assert.equal(parseSize('1MiB'), 1_048_576);
    assert.equal(parseSize('16MiB'), 16_777_216);
    assert.equal(parseSize('16 MiB'), 16_777_216);
    assert.equal(parseSize('1MB'), 1_000_000);
    assert.equal(parseSize('1000000'), 1_000_000);
    assert.equal(parseSize(1_000_000), 1_000_000);
    assert.equal(parseSize(0), 0);
  });

  test('rejects negatives, garbage, fractional byte counts and non-strings', () => {
    assert.throws(() => parseSize('-1MiB'), /"-1MiB" is negative/);
    assert.throws(() => parseSize(-1), /-1 is negative/);
    assert.throws(() => parseSize('lots'), { message: '"lots" is not a size (e.g. 64KiB, 1MiB, or a number of bytes)' });
    assert.throws(() => parseSize('1 parsec'), /is not a size/);
    assert.throws(() => parseSize(1.5), /not a whole number of bytes/);
    assert.throws(() => parseSize([1]), /expected a size .*, got a list/);
  });

  test('formatSize renders binary units for messages', () => {
    assert.equal(formatSize(1_048_576), '1 MiB');
    assert.equal(formatSize(65_536), '64 KiB');
  });
});
