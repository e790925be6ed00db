// Dead letters as pure decisions: the value cut to fit at a character boundary, the headers
// naming origin and error, librdkafka's error names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEAD_LETTER_FRAMING_BYTES, deadLetter, errorName, truncateUtf8 } from '../src/shipper/dead-letter.js';

test('truncateUtf8 never cuts a character in two, and cuts non-UTF-8 bytes where asked', () => {
  const text = Buffer.from('a€😀b'); // 1 + 3 + 4 + 1 bytes
  assert.equal(truncateUtf8(text, 100).toString(), 'a€😀b', 'short enough: whole');
  assert.equal(truncateUtf8(text, 3).toString(), 'a', 'inside the euro sign: before it');
  assert.equal(truncateUtf8(text, 4).toString(), 'a€');
  assert.equal(truncateUtf8(text, 7).toString(), 'a€', 'inside the emoji: before it');
  assert.equal(truncateUtf8(text, 8).toString(), 'a€😀');
  assert.equal(truncateUtf8(text, 0).length, 0);
  const binary = Buffer.alloc(20, 0x80); // continuation bytes only: not UTF-8
  assert.equal(truncateUtf8(binary, 10).length, 10);
});

test('errorName: librdkafka names without ERR_, unknown codes by number', () => {
  assert.equal(errorName(10), 'MSG_SIZE_TOO_LARGE');
  assert.equal(errorName(29), 'TOPIC_AUTHORIZATION_FAILED');
  assert.equal(errorName(87), 'INVALID_RECORD');
  assert.equal(errorName(123456), 'ERROR_123456');
});

test('deadLetter: headers name the origin and error; key, headers and value fit max_message_bytes', () => {
  const base = { topic: 'logs.app', input: 'app', host: 'h1', path: '/var/log/app.log', offset: 4096, code: 10, message: 'Broker: Message size too large', key: Buffer.from('k') };
  const small = deadLetter({ ...base, value: Buffer.from('line') }, 1_000_000);
  const pairs = (h: Array<string | Uint8Array>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i < h.length; i += 2) out[String(h[i])] = Buffer.from(h[i + 1] as Uint8Array).toString();
    return out;
  };
  assert.equal(small.value.toString(), 'line');
  assert.deepEqual(pairs(small.headers), {
    'logship.topic': 'logs.app', 'logship.input': 'app', 'logship.host': 'h1', 'logship.path': '/var/log/app.log', 'logship.offset': '4096',
    'logship.error': 'MSG_SIZE_TOO_LARGE', 'logship.error_code': '10', 'logship.error_message': 'Broker: Message size too large',
    'logship.value_bytes': '4', 'logship.truncated': 'false',
  });
  for (const max of [1000, 5000, 100_000]) {
    const big = deadLetter({ ...base, value: Buffer.alloc(200_000, 'x') }, max);
    let size = big.value.length + base.key.length + DEAD_LETTER_FRAMING_BYTES;
    for (const [k, v] of Object.entries(pairs(big.headers))) size += k.length + v.length + 2;
    assert.ok(size <= max, `max ${max}: ${size} bytes with framing`);
    assert.ok(big.value.length > max - 600, `max ${max}: most of the room is the value (${big.value.length})`);
    assert.equal(pairs(big.headers)['logship.truncated'], 'true');
    assert.equal(pairs(big.headers)['logship.value_bytes'], '200000');
  }
});
