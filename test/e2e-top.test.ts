// `logship top` as a person uses it (issue #13): a real agent follows two files being written,
// `logship top` runs in a tmux terminal, keys are typed with send-keys and the screen is read
// with capture-pane. Not on a terminal, it prints a plain table every interval.

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { AgentProcess, BIN, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, freePort, numberedLines, tempDir } from './helpers/configs.js';

const execFileP = promisify(execFile);

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

interface ScreenRow {
  input: string;
  file: string;
  state: string;
  lines: number;
  linesPerSecond: string;
  lag: string;
}

/** The file rows of a `logship top` screen, top to bottom. */
function rowsOf(screen: string): ScreenRow[] {
  const rows: ScreenRow[] = [];
  for (const line of screen.split('\n')) {
    const m = /^(fast|slow)\s+(\S+)\s+(live|rotated|removed)\s+([\d,]+)\s+([\d,]+|-)\s+(?:[\d.]+ \S+\/s|-)\s+([\d.]+ \S+)\s+\S+$/.exec(line);
    if (m) rows.push({ input: m[1]!, file: m[2]!, state: m[3]!, lines: Number(m[4]!.replace(/,/g, '')), linesPerSecond: m[5]!, lag: m[6]! });
  }
  return rows;
}

/** A running agent following fast.log (~400 lines/s) and slow.log (~40 lines/s). */
async function agentWithTwoFiles(prefix: string): Promise<{ dir: string; url: string; agent: AgentProcess; stopWriting: () => void; slow: string }> {
  const dir = tempDir(prefix);
  const port = await freePort();
  const fast = join(dir, 'fast.log');
  const slow = join(dir, 'slow.log');
  writeFileSync(fast, '');
  writeFileSync(slow, '');
  const inputs = `  - id: fast\n    paths: ["${fast}"]\n    topic: "top.fast"\n  - id: slow\n    paths: ["${slow}"]\n    topic: "top.slow"`;
  const agent = AgentProcess.start(dir, agentYaml({ dir, bootstrap: cluster.bootstrap, metrics: `127.0.0.1:${port}`, inputs }));
  await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
  let n = 0;
  const writer = setInterval(() => {
    appendFileSync(fast, numberedLines('fast', n * 40, n * 40 + 40));
    appendFileSync(slow, numberedLines('slow', n * 4, n * 4 + 4));
    n++;
  }, 100);
  return { dir, url: `http://127.0.0.1:${port}`, agent, stopWriting: () => clearInterval(writer), slow };
}

test('logship top under tmux: both files with rising counts, sorting by rate and by lag with the keys, q and Ctrl-C quit with exit 0', async () => {
  const { dir, url, agent, stopWriting, slow } = await agentWithTwoFiles('top-tmux');
  const socket = `logship-top-${process.pid}`;
  const tmux = (...args: string[]) => execFileP('tmux', ['-L', socket, ...args]);
  const screen = async (): Promise<string> => (await tmux('capture-pane', '-p', '-t', 'top')).stdout;
  const exitFile = join(dir, 'top.exit');
  let last = '';
  const waitScreen = async (what: string, ok: (text: string, rows: ScreenRow[]) => boolean, timeoutMs = 20_000): Promise<ScreenRow[]> => {
    try {
      await until(async () => {
        last = await screen();
        return ok(last, rowsOf(last));
      }, timeoutMs, what, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen:\n${last}`);
    }
    return rowsOf(last);
  };
  try {
    await tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '40', `${process.execPath} ${BIN} top --url ${url}; echo $? > ${exitFile}`);
    const first = await waitScreen('both files on screen with a rate', (_, rows) => rows.length === 2 && rows.every((r) => r.lines > 0 && r.linesPerSecond !== '-'));
    assert.match(last, /^logship top · http:\/\/127\.0\.0\.1:\d+ · \d\d:\d\d:\d\d · sorted by lag$/m);
    assert.match(last, /^Kafka reachable · in flight .* · ready · up /m);
    assert.match(last, /^TOTAL\s+2 files\s+[\d,]+/m);
    assert.ok(first.every((r) => r.state === 'live'));
    const at = (rows: ScreenRow[], input: string) => rows.find((r) => r.input === input)!;
    await waitScreen('counts rising', (_, rows) => rows.length === 2 && at(rows, 'fast').lines > at(first, 'fast').lines && at(rows, 'slow').lines > at(first, 'slow').lines);

    // r: by lines/s, the fast file first.
    await tmux('send-keys', '-t', 'top', 'r');
    const byRate = await waitScreen('sorted by lines/s', (text, rows) => /sorted by lines\/s/.test(text) && rows.length === 2);
    assert.deepEqual(byRate.map((r) => r.input), ['fast', 'slow']);
    assert.ok(Number(byRate[0]!.linesPerSecond.replace(/,/g, '')) > Number(byRate[1]!.linesPerSecond.replace(/,/g, '')));

    // A stalled cluster and a burst into the slow file: l puts the slow file first, by lag.
    cluster.stall();
    await cluster.stalled(); // SIGSTOP is asynchronous: no broker may acknowledge what follows
    try {
      appendFileSync(slow, numberedLines('burst', 0, 20_000));
      await tmux('send-keys', '-t', 'top', 'l');
      const byLag = await waitScreen('sorted by lag, the slow file first', (text, rows) => /sorted by lag/.test(text) && rows.length === 2 && rows[0]!.input === 'slow' && / (KiB|MiB)$/.test(rows[0]!.lag));
      assert.equal(byLag[1]!.input, 'fast');
      await waitScreen('Kafka unreachable shown', (text) => /^Kafka UNREACHABLE/m.test(text));
    } finally {
      cluster.resume();
    }

    await tmux('send-keys', '-t', 'top', 'q');
    await until(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', 10_000, 'logship top to quit on q');
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');

    // Ctrl-C quits too, with exit 0 (the terminal is in raw mode: it arrives as a key).
    const exitFile2 = join(dir, 'top2.exit');
    await tmux('new-session', '-d', '-s', 'top2', '-x', '160', '-y', '40', `${process.execPath} ${BIN} top --url ${url}; echo $? > ${exitFile2}`);
    await until(async () => rowsOf((await tmux('capture-pane', '-p', '-t', 'top2')).stdout).length === 2, 20_000, 'the second view up');
    await tmux('send-keys', '-t', 'top2', 'C-c');
    await until(() => existsSync(exitFile2) && readFileSync(exitFile2, 'utf8').trim() !== '', 10_000, 'logship top to quit on Ctrl-C');
    assert.equal(readFileSync(exitFile2, 'utf8').trim(), '0');
  } finally {
    stopWriting();
    await tmux('kill-server').catch(() => undefined);
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('logship top not on a terminal (-c FILE): a plain table every interval; SIGINT and a closed pipe end it with exit 0', async () => {
  const { dir, agent, stopWriting } = await agentWithTwoFiles('top-plain');
  const children: ChildProcess[] = [];
  try {
    const top = spawn(process.execPath, [BIN, 'top', '-c', join(dir, 'agent.yaml'), '--interval', '300ms', '--sort', 'rate'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(top);
    let out = '';
    top.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const frames = (): string[] => out.split(/^(?=logship top · )/m).filter((f) => f.startsWith('logship top'));
    await until(() => frames().filter((f) => rowsOf(f).length === 2 && rowsOf(f).every((r) => r.linesPerSecond !== '-')).length >= 3, 20_000, 'three full tables');
    const exited = once(top, 'exit');
    top.kill('SIGINT');
    assert.deepEqual((await exited).slice(0, 1), [0]);
    assert.ok(!out.includes('\x1b'), 'no escape sequences when stdout is not a terminal');
    const complete = frames().filter((f) => rowsOf(f).length === 2);
    const lastFrame = complete.at(-1)!;
    assert.match(lastFrame, /sorted by lines\/s/);
    assert.deepEqual(rowsOf(lastFrame).map((r) => r.input), ['fast', 'slow']);
    assert.ok(rowsOf(complete[0]!)[0]!.lines < rowsOf(lastFrame)[0]!.lines, 'counts rise from table to table');
    assert.ok(!/\[q\]uit/.test(out), 'no key help');

    // The reader goes away (`logship top | head`): exit 0, no stack trace.
    const piped = spawn(process.execPath, [BIN, 'top', '-c', join(dir, 'agent.yaml'), '--interval', '100ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(piped);
    let stderr = '';
    piped.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await once(piped.stdout, 'data');
    piped.stdout.destroy();
    const [code] = await once(piped, 'exit');
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    stopWriting();
    await agent.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('logship top: usage errors exit 2, a config without metrics exits 1, an agent not running is shown and retried', async () => {
  const run = (args: string[]) => execFileP(process.execPath, [BIN, 'top', ...args]).then(() => 0, (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }));
  assert.deepEqual(await run(['--url', 'http://x', '-c', '/etc/x.yaml']).then((r) => (r as { code: number }).code), 2);
  assert.match(((await run(['--sort', 'size'])) as { stderr: string }).stderr, /--sort: expected lag, rate, bytes or path, got "size"/);
  assert.match(((await run(['--interval', 'soon'])) as { stderr: string }).stderr, /--interval/);
  const dir = tempDir('top-nometrics');
  try {
    writeFileSync(join(dir, 'agent.yaml'), agentYaml({ dir, bootstrap: '127.0.0.1:9', inputs: `  - id: x\n    paths: ["${dir}/*.log"]\n    topic: "x"` }));
    const r = (await run(['-c', join(dir, 'agent.yaml')])) as { code: number; stderr: string };
    assert.equal(r.code, 1);
    assert.match(r.stderr, /metrics\.listen/);
    // Nobody listens on the port: the view says so and keeps trying.
    const port = await freePort();
    const top = spawn(process.execPath, [BIN, 'top', '--url', `http://127.0.0.1:${port}`, '--interval', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      top.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await until(() => (out.match(/cannot read http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(retrying\)/g) ?? []).length >= 2, 10_000, 'two failed attempts shown');
      const exited = once(top, 'exit');
      top.kill('SIGTERM');
      assert.equal((await exited)[0], 0);
    } finally {
      if (top.exitCode === null && top.signalCode === null) top.kill('SIGKILL');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
