// The logship command: check on the shipped and on a broken config, version, help, usage
// errors, and a clean SIGTERM/SIGINT stop with exit code 0.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { AgentProcess, BIN } from './helpers/agent-process.js';
import { tempDir } from './helpers/configs.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function logship(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('check accepts the shipped agent.yaml and prints the effective config', async () => {
  const r = await logship(['check', '-c', join(ROOT, 'agent.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(r.stdout) as { kafka: { brokers: unknown }; inputs: Array<{ id: string }> };
  assert.equal(cfg.kafka.brokers, 'embedded');
  assert.equal(cfg.inputs[0]!.id, 'demo');
});

test('check accepts the production example and the example surface', async () => {
  const r = await logship(['check', '-c', join(ROOT, 'examples/systemd/agent.yaml')]);
  assert.equal(r.code, 0, r.stderr);
});

test('check on a broken file exits 1 naming file, line, column and key; secrets stay redacted', async () => {
  const dir = tempDir('cli');
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'inputs:\n  - id: a\n    paths: ["/tmp/*.log"]\n    topic: t\nkafka:\n  brokers: [x:9092]\n  compresion: lz4\n');
    const r = await logship(['check', '-c', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7:3: kafka.compresion`));
    assert.match(r.stderr, /did you mean "compression"/);

    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'inputs:\n  - id: a\n    paths: ["/tmp/*.log"]\n    topic: t\nkafka:\n  brokers: [x:9092]\n  sasl: {mechanism: PLAIN, username: u, password: "${PW}"}\n');
    const ok = await logship(['check', '-c', good], { PW: 'hunter2-secret' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!ok.stdout.includes('hunter2-secret') && !ok.stderr.includes('hunter2-secret'), 'password printed');
    assert.match(ok.stdout, /\[redacted\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config error longer than a pipe holds reaches a slow reader whole before the exit', async () => {
  // 3,000 unknown keys: ~250 KB of located problems, far more than a pipe (64 KiB) plus the
  // reader's buffer take. The reader waits 500 ms after the first bytes arrive before reading
  // on: an agent that exits without flushing loses the rest (it did: the last line cut in half).
  const dir = tempDir('cli-long-error');
  const file = join(dir, 'agent.yaml');
  const keys = Array.from({ length: 3_000 }, (_, i) => `  unknown_key_${i}: 1`).join('\n');
  writeFileSync(file, `inputs:\n  - id: a\n    paths: ["/tmp/none/*.log"]\n    topic: t\nkafka:\n  brokers: ["127.0.0.1:9092"]\n${keys}\n`);
  const child = spawn(process.execPath, [BIN, 'check', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = child.stderr!;
  await new Promise<void>((resolve) => stderr.once('readable', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const chunks: Buffer[] = [];
  for await (const chunk of stderr) chunks.push(chunk as Buffer);
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 1);
  const lines = Buffer.concat(chunks).toString().trimEnd().split('\n');
  assert.equal(lines[0], 'logship: invalid configuration');
  const problems = lines.slice(1);
  assert.equal(problems.length, 3_000, `every problem printed (got ${problems.length})`);
  assert.match(problems.at(-1)!, /:\d+:\d+: kafka\.unknown_key_2999: unknown key "unknown_key_2999"/);
});

test('a mapping key that is a collection is a located problem, with no unlocated library warning', async () => {
  const dir = tempDir('cli-collection-key');
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, 'inputs: [{id: a, paths: [/tmp/a.log], topic: t}]\nkafka: {brokers: embedded, {}}\n');
  const r = await logship(['check', '-c', file]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.code, 1);
  const [first, ...problems] = r.stderr.trimEnd().split('\n');
  assert.equal(first, 'logship: invalid configuration');
  assert.ok(problems.length > 0);
  for (const line of problems) assert.ok(line.startsWith(`${file}:2:`), `located: ${line}`);
});

test('--version, --help and usage errors', async () => {
  const v = await logship(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^logship \d+\.\d+\.\d+/);
  const h = await logship(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Exit codes:/);
  assert.match(h.stdout, /logship top \[-c FILE \| --url URL\]/);
  assert.equal((await logship(['frobnicate'])).code, 2);
  assert.equal((await logship(['run', '--no-such-flag'])).code, 2);
  assert.equal((await logship(['check', '-c', '/nonexistent/agent.yaml'])).code, 1);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} stops the agent cleanly with exit code 0, also when Kafka is unreachable`, async () => {
    const dir = tempDir('sig');
    try {
      // Port 9 (discard) on loopback: nothing listens, the producer never connects.
      const agent = AgentProcess.start(
        dir,
        `agent: {data_dir: ${dir}/data, shutdown_timeout: 2s}\ninputs:\n  - id: a\n    paths: ["${dir}/*.log"]\n    topic: t\nkafka:\n  brokers: ["127.0.0.1:9"]\nmetrics: {listen: ""}\n`,
      );
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
      const started = Date.now();
      const exit = await agent.stop(signal);
      assert.equal(exit.code, 0, agent.stderr.join('\n'));
      assert.ok(Date.now() - started < 6_000, 'the shutdown deadline holds');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('in a terminal, run shows a one-line periodic summary; not when stderr is a pipe', async () => {
  const dir = tempDir('tty');
  try {
    writeFileSync(join(dir, 'agent.yaml'), `agent: {data_dir: ${dir}/data, shutdown_timeout: 2s}\ninputs:\n  - id: a\n    paths: ["${dir}/*.log"]\n    topic: t\nkafka:\n  brokers: ["127.0.0.1:9"]\nmetrics: {listen: ""}\n`);
    // util-linux `script` runs the agent on a pseudo-terminal and copies what it shows.
    const { spawn } = await import('node:child_process');
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} run -c ${join(dir, 'agent.yaml')}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress line within 30 s; screen:\n${screen}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        screen += d.toString();
        if (/logship: \d[\d,]* lines\/s · [\d,]+ shipped · lag .* · in flight .* · \d+ files/.test(screen)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    const piped = AgentProcess.start(dir, readFileSync(join(dir, 'agent.yaml'), 'utf8'));
    await piped.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    assert.equal((await piped.stop('SIGTERM')).code, 0);
    assert.ok(!piped.stderr.some((l) => l.includes('lines/s')), 'no progress line on a pipe');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
