// Debian's real logrotate against the real agent, as an operator's host runs it: copytruncate +
// compress + delaycompress. The rotation happens while the agent is down (stopped cleanly, or
// killed after its last offsets were persisted): the lines that only the copy holds are shipped
// at the restart, and none twice. One rotation while the agent runs comes first, so the
// directory holds what a real one does (app.log, app.log.1, app.log.2.gz).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeRegistry } from '../src/registry/registry-file.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, numberedLines, tally, tempDir } from './helpers/configs.js';

const LOGROTATE = ['/usr/sbin/logrotate', '/sbin/logrotate'].find((path) => existsSync(path));

describe('logrotate (copytruncate, compress, delaycompress)', { skip: LOGROTATE === undefined ? 'logrotate is not installed (scripts/setup.sh installs it)' : false }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  function logrotate(dir: string): void {
    const conf = join(dir, 'logrotate.conf');
    writeFileSync(conf, `${join(dir, 'app.log')} {\n  copytruncate\n  compress\n  delaycompress\n  rotate 5\n  missingok\n}\n`);
    execFileSync(LOGROTATE!, ['-f', '-s', join(dir, 'logrotate.state'), conf], { stdio: 'pipe' });
  }

  /** The offset registry.json holds for the file now at `path` (0 when none). */
  function persistedOffset(dir: string, path: string): number {
    const file = join(dir, 'data', 'registry.json');
    if (!existsSync(file)) return 0;
    const decoded = decodeRegistry(readFileSync(file, 'utf8'));
    if (!decoded.ok) return 0;
    const { ino } = statSync(path);
    return decoded.entries.find((cp) => cp.identity.ino === ino)?.offset ?? 0;
  }

  function assertExactlyOnce(counts: Map<number, number>, total: number): void {
    const missing: number[] = [];
    for (let i = 0; i < total; i++) if ((counts.get(i) ?? 0) === 0) missing.push(i);
    const twice = [...counts].filter(([, n]) => n > 1).map(([line]) => line);
    assert.deepEqual({ missing: missing.length, firstMissing: missing[0], twice: twice.length, firstTwice: twice[0] }, { missing: 0, firstMissing: undefined, twice: 0, firstTwice: undefined });
    assert.equal([...counts.keys()].filter((n) => n >= total).length, 0, 'lines that were never written');
  }

  for (const stop of ['SIGTERM', 'SIGKILL'] as const) {
    test(`rotated while the agent is down (${stop}): the lines only the copy holds are shipped at restart, none twice`, async () => {
      const dir = tempDir(`logrotate-${stop.toLowerCase()}`);
      const live = join(dir, 'app.log');
      const topic = `logrotate.${stop.toLowerCase()}`;
      const yaml = agentYaml({
        dir,
        bootstrap: cluster.bootstrap,
        inputs: `  - id: app\n    paths: ["${live}"]\n    start_at: beginning\n    topic: "${topic}"`,
        registry: '  flush_interval: 100ms',
      });
      try {
        writeFileSync(live, numberedLines('l', 0, 100));
        let agent = AgentProcess.start(dir, yaml);
        try {
          await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
          await until(async () => (await cluster.count(topic)) >= 100, 20_000, 'the first 100 lines');
          logrotate(dir); // while running: app.log.1 is the copy
          await agent.waitForLog((e) => e.msg.startsWith('file truncated after being copied'), 20_000, 'the running rotation seen');
          // 150 lines: the live file's size differs from before the rotation, so the offset
          // awaited below cannot be the one persisted for the old content.
          appendFileSync(live, numberedLines('l', 100, 250));
          await until(async () => (await cluster.count(topic)) >= 250, 20_000, '250 lines');
          if (stop === 'SIGKILL') {
            // Killed once its offsets are on disk: what it shipped is known, so nothing is owed twice.
            const size = statSync(live).size;
            await until(() => persistedOffset(dir, live) === size, 20_000, 'the offset of the live file persisted');
            await agent.stop('SIGKILL');
          } else {
            assert.equal((await agent.stop('SIGTERM')).code, 0);
          }
        } finally {
          await agent.stop('SIGKILL');
        }

        // Down: the application writes on, then the nightly logrotate runs.
        appendFileSync(live, numberedLines('l', 250, 300));
        logrotate(dir); // app.log.1 -> app.log.2.gz, app.log -> app.log.1 (copy), app.log truncated
        appendFileSync(live, numberedLines('l', 300, 350));
        assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('app.log')).sort(), ['app.log', 'app.log.1', 'app.log.2.gz']);

        agent = AgentProcess.start(dir, yaml);
        try {
          await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent restart');
          await until(async () => (await cluster.count(topic)) >= 350, 20_000, 'every line shipped').catch(async (err: unknown) => {
            const files = agent.logs.filter((e) => e.level >= 30 && !/^shipped /.test(e.msg)).map((e) => `${e.msg} ${JSON.stringify(e)}`);
            const listing = readdirSync(dir).map((name) => `${name} ino=${statSync(join(dir, name)).ino} size=${statSync(join(dir, name)).size}`);
            throw new Error(`${String(err)}; ${await cluster.count(topic)} records; files: ${listing.join(', ')}; registry: ${readFileSync(join(dir, 'data', 'registry.json'), 'utf8')}; agent said:\n${files.join('\n')}`);
          });
          assert.equal((await agent.stop('SIGTERM')).code, 0);
        } finally {
          await agent.stop('SIGKILL');
        }
        assertExactlyOnce(tally((await cluster.consume(topic)).map((r) => r.value), 'l'), 350);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
