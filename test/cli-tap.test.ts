// `logship tap`: the records the agent would produce, without Kafka and without the registry —
// on the shipped demo config, on a Kubernetes-style config (parser, filters, JSON routing),
// following new lines until SIGINT; and the located error of a config with a broken regex.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { BIN } from './helpers/agent-process.js';
import { tempDir } from './helpers/configs.js';

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Tapped {
  topic: string;
  key: string | null;
  headers: Record<string, string> | null;
  value: string;
}

async function tap(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ records: Tapped[]; stderr: string }> {
  const { stdout, stderr } = await execFileP(process.execPath, [BIN, 'tap', ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
  return { records: stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Tapped), stderr };
}

test('on the shipped demo config: the demo files\' records, topic logs.demo.<file>, host/path/offset headers, raw values; no registry written', async () => {
  const dir = tempDir('tap-demo');
  dirs.push(dir);
  copyFileSync(join(REPO, 'agent.yaml'), join(dir, 'agent.yaml'));
  mkdirSync(join(dir, 'demo/logs'), { recursive: true });
  writeFileSync(join(dir, 'demo/logs/app.log'), 'app line 1\napp line 2\n');
  writeFileSync(join(dir, 'demo/logs/access.log'), 'GET /index.html 200\n');
  const { records } = await tap(['-c', join(dir, 'agent.yaml'), '--from-beginning', '-n', '3'], { HOSTNAME: 'tap-host' });
  const app = join(dir, 'demo/logs/app.log');
  const access = join(dir, 'demo/logs/access.log');
  assert.deepEqual(
    records.sort((a, b) => a.topic.localeCompare(b.topic) || Number(a.headers?.offset) - Number(b.headers?.offset)),
    [
      { topic: 'logs.demo.access', key: null, headers: { host: 'tap-host', path: access, offset: '0' }, value: 'GET /index.html 200' },
      { topic: 'logs.demo.app', key: null, headers: { host: 'tap-host', path: app, offset: '0' }, value: 'app line 1' },
      { topic: 'logs.demo.app', key: null, headers: { host: 'tap-host', path: app, offset: '11' }, value: 'app line 2' },
    ],
  );
  assert.equal(existsSync(join(dir, '.logship-data')), false, 'the registry (data_dir) is not touched');
});

test('parsers, filters and routing by field: tap prints what the agent would ship, follows new lines, and exits 0 on SIGINT', async () => {
  const dir = tempDir('tap-k8s');
  dirs.push(dir);
  const podDir = join(dir, 'var/log/pods/shop_web-0_0f3c7a7e-5b6d-4c8e-9a1b-2c3d4e5f6a7b/app');
  mkdirSync(podDir, { recursive: true });
  const log = join(podDir, '0.log');
  const T = '2024-03-15T10:20:30Z';
  writeFileSync(log, `${T} stdout F {"service":"cart","level":"info"}\n${T} stdout F DEBUG dropped\n${T} stdout P {"service":"we\n${T} stdout F b"}\n`);
  const config = join(dir, 'agent.yaml');
  writeFileSync(
    config,
    [
      'agent: {name: node-1, data_dir: data}',
      'inputs:',
      '  - id: pods',
      `    paths: ["${dir}/var/log/pods/*/*/*.log"]`,
      '    parser: cri',
      '    parse: json',
      "    exclude_lines: ['^DEBUG']",
      '    topic: "k8s.{k8s.namespace}.{json.service:-unknown}"',
      '    key: "{k8s.pod}/{stream}"',
      'kafka: {brokers: ["nowhere:9092"]}',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [BIN, 'tap', '-c', config, '--from-beginning'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const got: Tapped[] = [];
  let wanted = 2;
  let reached: () => void = () => undefined;
  lines.on('line', (l) => {
    got.push(JSON.parse(l) as Tapped);
    if (got.length >= wanted) reached();
  });
  const have = (n: number): Promise<void> =>
    new Promise((resolve) => {
      wanted = n;
      reached = resolve;
      if (got.length >= n) resolve();
    });
  await have(2);
  assert.deepEqual(got, [
    { topic: 'k8s.shop.cart', key: 'web-0/stdout', headers: null, value: '{"service":"cart","level":"info"}' },
    { topic: 'k8s.shop.web', key: 'web-0/stdout', headers: null, value: '{"service":"web"}' },
  ]);
  appendFileSync(log, `${T} stderr F not json\n`);
  await have(3);
  assert.deepEqual(got[2], { topic: 'k8s.shop.unknown', key: 'web-0/stderr', headers: null, value: 'not json' });
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.equal(existsSync(join(dir, 'data')), false, 'the registry is not touched');
});

test('a config with a broken regex: the located config error, exit code 1 (invalid configuration)', async () => {
  const dir = tempDir('tap-broken');
  dirs.push(dir);
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, ['agent: {data_dir: data}', 'inputs:', '  - id: app', `    paths: ["${dir}/*.log"]`, "    exclude_lines: ['^(DEBUG']", 'kafka: {brokers: ["k:9092"]}', ''].join('\n'));
  const failed = await tap(['-c', config]).then(
    () => null,
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  assert.ok(failed, 'tap must fail');
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, '', 'no record printed');
  assert.match(failed.stderr, new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: inputs\\[0\\]\\.exclude_lines\\[0\\]`), failed.stderr);
});
