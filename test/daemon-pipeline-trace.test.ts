// The pipeline trace's switch (LOGSHIP_TRACE_FILE, LOGSHIP_TRACE_MS): off unless a file is named,
// a bad interval keeps it off with the reason — decided from the environment alone.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceSettings } from '../src/daemon/pipeline-trace.js';

test('the trace is off unless LOGSHIP_TRACE_FILE names a file', () => {
  assert.deepEqual(traceSettings({}), { on: false });
  assert.deepEqual(traceSettings({ LOGSHIP_TRACE_FILE: '' }), { on: false });
  assert.deepEqual(traceSettings({ LOGSHIP_TRACE_MS: '5' }), { on: false });
});

test('a named file turns it on, every 10 ms unless LOGSHIP_TRACE_MS says otherwise', () => {
  assert.deepEqual(traceSettings({ LOGSHIP_TRACE_FILE: '/tmp/t.jsonl' }), { on: true, file: '/tmp/t.jsonl', everyMs: 10 });
  assert.deepEqual(traceSettings({ LOGSHIP_TRACE_FILE: '/tmp/t.jsonl', LOGSHIP_TRACE_MS: '2' }), { on: true, file: '/tmp/t.jsonl', everyMs: 2 });
});

test('an interval that is not a whole number of ms >= 1 keeps it off, saying why', () => {
  for (const bad of ['0', '-3', '1.5', 'fast']) {
    const s = traceSettings({ LOGSHIP_TRACE_FILE: '/tmp/t.jsonl', LOGSHIP_TRACE_MS: bad });
    assert.equal(s.on, false, bad);
    assert.match('problem' in s ? s.problem : '', /LOGSHIP_TRACE_MS/, bad);
  }
});
