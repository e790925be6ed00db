// Security (issue #7): secrets — the SASL password given inline through ${ENV}, through
// password_file, or as a librdkafka passthrough property — never appear in anything the agent
// prints (JSON logs at debug level with librdkafka's own debug output, stderr, `logship check`,
// /metrics); the registry is private (file 0600, data_dir 0700, even under umask 000); the
// metrics endpoint listens on 127.0.0.1 only by default; a TLS file that cannot be read stops
// the agent at config load, naming the key. (TLS files librdkafka accepts are covered by
// test/e2e-producer-options.test.ts.)

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { AgentProcess, BIN, until, type LogEvent } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, numberedLines, tempDir } from './helpers/configs.js';
import { persistedOffsets } from './soak/deleted-files.js';

const execFileP = promisify(execFile);

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

async function logship(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

for (const carrier of ['inline ${KAFKA_PASSWORD}', 'password_file'] as const) {
  test(`the SASL password (${carrier}) never appears in debug logs, librdkafka debug output, stderr, logship check or /metrics`, async () => {
    const dir = tempDir('secret');
    const secret = `Zq9-${carrier === 'password_file' ? 'file' : 'env'}-s3cr3t-${process.pid}`;
    const passwordFile = join(dir, 'kafka.password');
    writeFileSync(passwordFile, `${secret}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'app.log'), 'a line\n');
    const port = await freePort();
    const sasl = carrier === 'password_file' ? `password_file: "${passwordFile}"` : 'password: "${KAFKA_PASSWORD}"';
    const yaml = agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      logLevel: 'debug',
      metrics: `127.0.0.1:${port}`,
      // The mock cluster speaks no SASL: with nothing to drain the stop is immediate.
      agent: '  drain_on_stop: false',
      inputs: `  - id: app\n    paths: ["${dir}/app.log"]\n    start_at: beginning\n    topic: "secret.app"`,
      // librdkafka's debug output goes through the agent's logger: every context, the most talkative setting there is.
      kafka: `  sasl: {mechanism: PLAIN, username: shipper, ${sasl}}\n  librdkafka: {debug: all, ssl.key.password: "\${KAFKA_PASSWORD}"}`,
    });
    const env = { KAFKA_PASSWORD: secret };
    const agent = AgentProcess.start(dir, yaml, env);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
      // The SASL exchange itself is what would print a password: wait until librdkafka tried it.
      await agent.waitForLog((e) => /SASL|Handshake/i.test(e.msg) && /thrd:sasl_plaintext/.test(e.msg), 20_000, 'a SASL attempt in librdkafka debug output');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /logship_lines_read_total/, 'the metrics body is real');
      assert.ok(!metrics.includes(secret), 'the password appeared in /metrics');
      // An invalid reload: its error message is logged too.
      writeFileSync(join(dir, 'agent.yaml'), `${yaml}\nunknown_section: {password: "\${KAFKA_PASSWORD}"}\n`);
      agent.child.kill('SIGHUP');
      await agent.waitForLog((e) => e.msg.startsWith('configuration NOT reloaded'), 20_000, 'the refused reload');
      assert.equal((await agent.stop('SIGTERM')).code, 0);
      const printed = agent.logs.map((e) => JSON.stringify(e)).join('\n') + agent.stderr.join('\n');
      assert.ok(agent.logs.length > 100, `librdkafka debug output was captured (${agent.logs.length} lines)`);
      assert.ok(!printed.includes(secret), `the password appeared in the agent's output: ${leakContext(printed, secret)}`);

      writeFileSync(join(dir, 'agent.yaml'), yaml);
      const check = await logship(['check', '-c', join(dir, 'agent.yaml')], env);
      assert.equal(check.code, 0, check.stderr);
      assert.ok(!(check.stdout + check.stderr).includes(secret), `logship check printed the password: ${leakContext(check.stdout + check.stderr, secret)}`);
      if (carrier !== 'password_file') assert.match(check.stdout, /"password": "\[redacted\]"/);
      assert.match(check.stdout, /"ssl\.key\.password": "\[redacted\]"/);
    } finally {
      await agent.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Found by this suite: "expected a string, got 123456789" echoed the password (fixed in e55186c).
test(
  'a SASL password written as a bare number is rejected without echoing it',
  async () => {
    const dir = tempDir('secret-number');
    try {
      const file = join(dir, 'agent.yaml');
      writeFileSync(file, `inputs: [{id: a, paths: [/tmp/x.log], topic: t}]\nkafka:\n  brokers: ["127.0.0.1:9092"]\n  sasl: {mechanism: PLAIN, username: u, password: 0123456789}\n`);
      const check = await logship(['check', '-c', file]);
      assert.equal(check.code, 1);
      assert.match(check.stderr, /kafka\.sasl\.password/);
      assert.doesNotMatch(check.stderr, /123456789/, 'the rejected password is printed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('registry.json and its .prev are 0600 and data_dir 0700, even when the agent runs under umask 000', async () => {
  const dir = tempDir('modes');
  const dataDir = join(dir, 'state', 'data');
  const log = join(dir, 'app.log');
  writeFileSync(log, '');
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: `  - id: app\n    paths: ["${log}"]\n    start_at: beginning\n    topic: "modes.app"`,
    registry: '  flush_interval: 100ms',
  }).replace(`data_dir: ${dir}/data`, `data_dir: ${dataDir}`);
  writeFileSync(join(dir, 'agent.yaml'), yaml);
  const agent = AgentProcess.startWith(['run', '-c', join(dir, 'agent.yaml')], {}, ['--import', 'data:text/javascript,process.umask(0)']);
  try {
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    const offset = (): number | undefined => persistedOffsets(join(dataDir, 'registry.json')).get(`${statSync(log).dev}:${statSync(log).ino}`);
    appendFileSync(log, numberedLines('m', 0, 10));
    await until(() => offset() === statSync(log).size, 20_000, 'a first registry write');
    appendFileSync(log, numberedLines('m', 10, 20));
    await until(() => offset() === statSync(log).size && existsSync(join(dataDir, 'registry.json.prev')), 20_000, 'a second write, keeping .prev');
    assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'data_dir mode');
    assert.equal(statSync(join(dataDir, 'registry.json')).mode & 0o777, 0o600, 'registry.json mode');
    assert.equal(statSync(join(dataDir, 'registry.json.prev')).mode & 0o777, 0o600, 'registry.json.prev mode');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Runs `logship run` in a network namespace of its own (so the default port 9464 is free
 * whatever else runs on the machine) that has a second address, 10.77.0.1, besides 127.0.0.1.
 */
async function agentInPrivateNetwork(configFile: string): Promise<{ pid: number; logs: LogEvent[]; stop: () => Promise<void> }> {
  const script = 'ip link set lo up && ip addr add 10.77.0.1/8 dev lo && exec "$0" "$@"';
  const child = spawn('unshare', ['--net', 'sh', '-c', script, process.execPath, BIN, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogEvent[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogEvent);
    } catch {
      logs.push({ level: 30, msg: line });
    }
  });
  const exited = once(child, 'exit');
  await until(() => logs.some((e) => e.msg === 'logship running') || child.exitCode !== null, 20_000, 'the agent to start in its namespace');
  assert.equal(child.exitCode, null, `the agent exited: ${stderr}`);
  return {
    pid: child.pid!,
    logs,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function inNamespace(pid: number, command: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await execFileP('nsenter', ['-t', String(pid), '-n', ...command]);
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, stdout: err.stdout };
  }
}

test('by default the metrics endpoint listens on 127.0.0.1:9464 only: not reachable on another address of the host', async () => {
  const dir = tempDir('bind');
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(join(dir, 'app.log'), '');
  // No metrics section: the default applies. Kafka is unreachable from the namespace; the agent runs anyway.
  writeFileSync(configFile, `agent: {data_dir: ${dir}/data}\ninputs: [{id: app, paths: ["${dir}/app.log"], topic: t}]\nkafka: {brokers: ["127.0.0.1:1"]}\n`);
  const agent = await agentInPrivateNetwork(configFile);
  try {
    const listening = agent.logs.find((e) => e.msg.startsWith('metrics endpoint listening'));
    assert.equal(listening?.address, '127.0.0.1:9464', 'the address the agent says it listens on');
    const sockets = (await inNamespace(agent.pid, ['ss', '-Hltn'])).stdout;
    const onPort = sockets.split('\n').filter((line) => /:9464\s/.test(line));
    assert.equal(onPort.length, 1, `one listening socket on 9464:\n${sockets}`);
    assert.match(onPort[0]!, /\s127\.0\.0\.1:9464\s/, `bound to 127.0.0.1, not a wildcard:\n${sockets}`);
    const loopback = await inNamespace(agent.pid, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', 'http://127.0.0.1:9464/healthz']);
    assert.equal(loopback.stdout, '200', 'reachable on 127.0.0.1');
    const other = await inNamespace(agent.pid, ['curl', '-s', '-o', '/dev/null', '-m', '5', 'http://10.77.0.1:9464/healthz']);
    assert.equal(other.code, 7, 'curl must fail to connect (exit 7) on the other address');
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a TLS file that cannot be read fails at config load, naming the key: check and run exit 1, nothing starts', async () => {
  const dir = tempDir('tls-path');
  try {
    mkdirSync(join(dir, 'certs'));
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      [
        `agent: {data_dir: ${dir}/data}`,
        `inputs: [{id: app, paths: ["${dir}/app.log"], topic: t}]`,
        'kafka:',
        '  brokers: ["127.0.0.1:9092"]',
        `  tls: {enabled: true, ca_file: ${dir}/certs/missing-ca.pem}`,
        '',
      ].join('\n'),
    );
    for (const command of ['check', 'run']) {
      const result = await logship([command, '-c', file]);
      assert.equal(result.code, 1, `${command}: exit code\n${result.stderr}`);
      assert.match(result.stderr, new RegExp(`agent\\.yaml:5:\\d+: kafka\\.tls\\.ca_file: cannot read ${dir}/certs/missing-ca\\.pem: ENOENT`), `${command}: the message names the key`);
      assert.doesNotMatch(result.stderr, /^\s+at /m, `${command}: no stack trace`);
    }
    assert.ok(!existsSync(join(dir, 'data')), 'run stopped before creating data_dir');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Where a leaked secret appears, for the failure message. */
function leakContext(text: string, secret: string): string {
  const at = text.indexOf(secret);
  return at < 0 ? '' : JSON.stringify(text.slice(Math.max(0, at - 200), at + secret.length + 50));
}
