// `logship tap` with `headers` as a map of templates: each record shows its own header values,
// rendered from its own line (a read of several lines, so per-record values are indexed right).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { BIN } from './helpers/agent-process.js';
import { agentYaml, tempDir } from './helpers/configs.js';

const execFileP = promisify(execFile);

test('tap: header templates show each record\'s own values, defaults where the line lacks the field', async () => {
  const dir = tempDir('tap-headers');
  try {
    mkdirSync(join(dir, 'logs'));
    const lines = [{ service: 'cart', trace_id: 't1' }, { service: 'auth' }, 'plain text', { service: 'search', trace_id: 't3' }];
    writeFileSync(join(dir, 'logs/app.log'), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l)) + '\n').join(''));
    const config = join(dir, 'agent.yaml');
    const inputs = [
      '  - id: app',
      `    paths: ["${dir}/logs/*.log"]`,
      '    topic: "apps.{json.service:-unknown}"',
      '    parse: json',
      '    headers: {service: "{json.service:-unknown}", trace: "{json.trace_id:-none}", file: "{file.name}"}',
    ].join('\n');
    writeFileSync(config, agentYaml({ dir, bootstrap: '127.0.0.1:9092', inputs }));
    const { stdout } = await execFileP(process.execPath, [BIN, 'tap', '-c', config, '--from-beginning', '-n', '4'], { timeout: 60_000 });
    const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; headers: Record<string, string> });
    assert.deepEqual(
      records.map((r) => [r.topic, r.headers]),
      [
        ['apps.cart', { service: 'cart', trace: 't1', file: 'app.log' }],
        ['apps.auth', { service: 'auth', trace: 'none', file: 'app.log' }],
        ['apps.unknown', { service: 'unknown', trace: 'none', file: 'app.log' }],
        ['apps.search', { service: 'search', trace: 't3', file: 'app.log' }],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
