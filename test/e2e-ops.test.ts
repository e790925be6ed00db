// Operations (issue #5): the systemd unit verifies, SIGHUP reloads (valid: an input is added
// without losing or repeating a line of the file that stays; invalid: the old config keeps
// running), /metrics agrees with what kcat reads, /readyz follows Kafka, `logship status`
// shows the lag behind a stalled broker, and a sidecar's SIGTERM ships what is on disk.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { AgentProcess, BIN, until } from './helpers/agent-process.js';
import { agentYaml, freePort, numberedLines, tally, tempDir } from './helpers/configs.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** Prometheus text exposition -> "name{labels}" -> value; throws on a malformed line. */
function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case. prom-client writes
    // "Nan" for the event-loop lag before its first sample (sampled every 100 ms since d1fea25).
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-][Ii][Nn][Ff])$/.exec(line);
    assert.ok(m, `not Prometheus text: ${JSON.stringify(line)}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function running(agent: AgentProcess): Promise<unknown> {
  return agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
}

test('the systemd unit passes systemd-analyze verify', async () => {
  const unit = join(ROOT, 'packaging/systemd/logship.service');
  const { stderr } = await execFileP('systemd-analyze', ['verify', unit]);
  // verify prints problems on stderr and may still exit 0 for some of them.
  const problems = stderr.split('\n').filter((l) => l.includes('logship.service') && !/Failed to resolve unit|not found|nonexistent user/i.test(l));
  assert.deepEqual(problems, []);
});

test('SIGHUP: a valid config adds an input (its lines arrive) and the file that stays loses and repeats nothing; an invalid one keeps the old', async () => {
  const dir = tempDir('reload');
  const keep = join(dir, 'keep.log');
  const added = join(dir, 'added.txt');
  writeFileSync(keep, '');
  writeFileSync(added, 'first line of the added input\n');
  const base = { dir, bootstrap: cluster.bootstrap };
  const keepInput = `  - id: keep\n    paths: ["${dir}/*.log"]\n    start_at: beginning\n    topic: "reload.{file.stem}"`;
  const agent = AgentProcess.start(dir, agentYaml({ ...base, inputs: keepInput }));
  let written = 0;
  const write = (n: number): void => {
    appendFileSync(keep, numberedLines('keep', written, written + n));
    written += n;
  };
  try {
    await running(agent);
    // Lines keep coming while the configuration is reloaded, twice.
    const writer = setInterval(() => write(200), 5);
    try {
      await until(async () => (await cluster.count('reload.keep')) >= 2_000, 20_000, 'first lines');
      writeFileSync(join(dir, 'agent.yaml'), agentYaml({ ...base, inputs: `${keepInput}\n  - id: more\n    paths: ["${dir}/*.txt"]\n    start_at: beginning\n    topic: "reload.added"` }));
      agent.child.kill('SIGHUP');
      await agent.waitForLog((e) => e.msg === 'configuration reloaded', 20_000, 'reload');
      await until(async () => (await cluster.count('reload.added')) >= 1, 20_000, 'the added input shipping');

      writeFileSync(join(dir, 'agent.yaml'), 'inputs: [this is: not valid\n');
      agent.child.kill('SIGHUP');
      await agent.waitForLog((e) => /NOT reloaded/.test(e.msg), 20_000, 'the invalid config reported');
    } finally {
      clearInterval(writer);
    }
    appendFileSync(added, 'second line after the failed reload\n');
    await until(async () => (await cluster.count('reload.keep')) >= written && (await cluster.count('reload.added')) >= 2, 30_000, 'everything after the reloads');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    const counts = tally((await cluster.consume('reload.keep')).map((r) => r.value), 'keep');
    for (let i = 0; i < written; i++) assert.equal(counts.get(i), 1, `line ${i} of the file that stays: ${counts.get(i) ?? 0} times`);
    // Two records, possibly in two partitions: compare as a set.
    assert.deepEqual((await cluster.consume('reload.added')).map((r) => r.value.toString()).sort(), ['first line of the added input', 'second line after the failed reload']);
  } finally {
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('/metrics is Prometheus text whose counters match kcat; /healthz; /readyz follows a stalled cluster', async () => {
  const dir = tempDir('metrics');
  const port = await freePort();
  writeFileSync(join(dir, 'm.log'), '');
  const agent = AgentProcess.start(
    dir,
    agentYaml({ dir, bootstrap: cluster.bootstrap, metrics: `127.0.0.1:${port}`, inputs: `  - id: m\n    paths: ["${dir}/m.log"]\n    topic: "metrics.m"` }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await running(agent);
    await until(async () => (await get(`${url}/readyz`)).status === 200, 20_000, 'ready once connected');
    assert.equal((await get(`${url}/healthz`)).status, 200);
    appendFileSync(join(dir, 'm.log'), numberedLines('m', 0, 1_234));
    await until(async () => (await cluster.count('metrics.m')) >= 1_234, 20_000, 'lines in Kafka');
    let metrics = new Map<string, number>();
    await until(async () => {
      metrics = parsePrometheus((await get(`${url}/metrics`)).body);
      return metrics.get('logship_records_acknowledged_total{topic="metrics.m"}') === 1_234;
    }, 10_000, 'acknowledged counter = 1,234');
    assert.equal(metrics.get('logship_records_acknowledged_total{topic="metrics.m"}'), await cluster.count('metrics.m'));
    assert.equal(metrics.get('logship_lines_read_total{input="m"}'), 1_234);
    assert.equal(metrics.get('logship_bytes_read_total{input="m"}'), statSync(join(dir, 'm.log')).size);
    assert.ok((metrics.get('logship_process_resident_memory_bytes') ?? 0) > 0);

    cluster.stall();
    try {
      await until(async () => (await get(`${url}/readyz`)).status === 503, 20_000, 'unready while the cluster is stalled');
    } finally {
      cluster.resume();
    }
    await until(async () => (await get(`${url}/readyz`)).status === 200, 20_000, 'ready again after SIGCONT');
  } finally {
    cluster.resume();
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('/readyz is not ready until the producer is connected', async () => {
  const dir = tempDir('ready');
  const port = await freePort();
  cluster.stall();
  const agent = AgentProcess.start(dir, agentYaml({ dir, bootstrap: cluster.bootstrap, metrics: `127.0.0.1:${port}`, inputs: `  - id: r\n    paths: ["${dir}/*.log"]\n    topic: "ready.r"` }));
  try {
    await running(agent);
    assert.equal((await get(`http://127.0.0.1:${port}/readyz`)).status, 503);
    cluster.resume();
    await until(async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, 'ready after connecting');
  } finally {
    cluster.resume();
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('logship status shows the lag accumulated behind a stalled broker, then none', async () => {
  const dir = tempDir('status');
  const file = join(dir, 's.log');
  writeFileSync(file, numberedLines('s', 0, 100));
  const yaml = agentYaml({ dir, bootstrap: cluster.bootstrap, inputs: `  - id: s\n    paths: ["${file}"]\n    start_at: beginning\n    topic: "status.s"`, registry: '  flush_interval: 100ms' });
  const agent = AgentProcess.start(dir, yaml);
  const cfg = join(dir, 'agent.yaml');
  const status = async (): Promise<{ lag: number | null; committed: number | null }> => {
    const { stdout } = await execFileP(process.execPath, [BIN, 'status', '-c', cfg, '--json']);
    const report = JSON.parse(stdout) as { files: Array<{ path: string; lag: number | null; committed: number | null }> };
    const f = report.files.find((x) => x.path === file);
    assert.ok(f, 'the file is listed');
    return f;
  };
  try {
    await running(agent);
    await until(async () => (await status()).lag === 0, 20_000, 'no lag before the stall');
    const before = statSync(file).size;
    cluster.stall();
    await cluster.stalled(); // SIGSTOP is asynchronous: no broker may acknowledge what follows
    try {
      appendFileSync(file, numberedLines('s', 100, 600));
      const behind = statSync(file).size - before;
      const s = await status();
      assert.equal(s.committed, before);
      assert.equal(s.lag, behind, 'lag = every byte written during the stall');
    } finally {
      cluster.resume();
    }
    await until(async () => (await status()).lag === 0, 30_000, 'lag back to 0 after SIGCONT');
  } finally {
    cluster.resume();
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('sidecar stop: SIGTERM right after the application wrote its last lines ships them all before exit', async () => {
  const dir = tempDir('sidecar');
  const file = join(dir, 'app.log');
  writeFileSync(file, '');
  const agent = AgentProcess.start(
    dir,
    agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      inputs: `  - id: app\n    paths: ["${file}"]\n    start_at: beginning\n    topic: "sidecar.app"`,
      // A small in-flight window: reading 60,000 lines takes many acknowledgement rounds.
      kafka: '  max_in_flight_bytes: 128KiB\n  flush: {max_bytes: 32KiB}',
    }),
  );
  try {
    await running(agent);
    appendFileSync(file, numberedLines('side', 0, 60_000));
    const exit = await agent.stop('SIGTERM');
    assert.equal(exit.code, 0);
    assert.equal(await cluster.count('sidecar.app'), 60_000, 'every line written before SIGTERM shipped before exit');
  } finally {
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
