// The startup snapshot (src/cli/snapshot.ts, bundle.ts, launcher.ts): the launcher starts node
// from the blob only when the blob's id names this node and these flags and the compiled code
// is not newer, else main.js; a blob built here from the compiled code answers like the modules
// do, reads arguments, environment and working directory at run time, and ships lines.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { dynamicImportIn, launcherScript, snapshotFiles, snapshotId } from '../src/cli/launcher.js';
import { AGENT_NODE_FLAGS } from '../src/cli/node-flags.js';
import { blobPath } from '../src/cli/snapshot-module.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, numberedLines, tally, tempDir } from './helpers/configs.js';

const CLI_DIR = fileURLToPath(new URL('../src/cli/', import.meta.url));

/** POSIX `cksum` of a file's contents, as the launcher computes it. */
function cksum(file: string): string {
  return spawnSync('cksum', { input: readFileSync(file), encoding: 'utf8' }).stdout.trim();
}

test('the blob is read from node options in both spellings', () => {
  assert.equal(blobPath(['--max-semi-space-size=4', '--snapshot-blob', '/opt/b.blob']), '/opt/b.blob');
  assert.equal(blobPath(['--snapshot-blob=rel/b.blob', '--heap-growing-percent=20']), 'rel/b.blob');
  assert.equal(blobPath(['--max-semi-space-size=4']), null);
});

test('the id names the node version and the flags; the launcher refuses names that need quoting', () => {
  assert.equal(snapshotId('v20.20.2', ['--a=1', '--b']), 'v20.20.2 --a=1 --b');
  assert.deepEqual(snapshotFiles('.t1'), { source: 'cli.snapshot.t1.cjs', blob: 'logship.t1.blob', id: 'logship.t1.blob.id', launcher: 'logship.t1' });
  assert.throws(() => launcherScript(['--x=$(reboot)'], snapshotFiles()), /quoting/);
});

test('a dynamic import left in the snapshot\'s bundle is found (the build refuses it); bundled ones and look-alikes are not', () => {
  assert.match(dynamicImportIn('a();let v8=await import("node:v8");b()') ?? '', /import\("node:v8"\)/);
  assert.equal(dynamicImportIn('x=Promise.resolve().then(()=>(init_top(),top_exports));obj.import(1);my_import(2)'), null);
});

describe('the launcher, with a stand-in node that prints what it is given', () => {
  const root = tempDir('launcher');
  const cli = join(root, 'dist', 'src', 'cli');
  const files = snapshotFiles();
  const launcher = join(cli, files.launcher);
  const blob = join(cli, files.blob);
  const id = join(cli, files.id);
  const tsbuildinfo = join(root, 'dist', '.tsbuildinfo');
  const stub = join(root, 'bin');
  const FROM_BLOB = [...AGENT_NODE_FLAGS, '--snapshot-blob', blob, '--'];
  const FROM_MAIN = [...AGENT_NODE_FLAGS, join(cli, 'main.js')];

  function fresh(): void {
    writeFileSync(blob, 'blob');
    writeFileSync(tsbuildinfo, '{"compiled":1}');
    writeFileSync(id, `${snapshotId('v20.99.1', AGENT_NODE_FLAGS)}\n${cksum(tsbuildinfo)}\n4\n`);
  }

  function launch(args: string[], env: NodeJS.ProcessEnv = {}, via = launcher): string[] {
    const { NODE_OPTIONS: _ignored, ...base } = process.env;
    const out = spawnSync(via, args, { encoding: 'utf8', env: { ...base, PATH: `${stub}:${process.env.PATH}`, ...env } });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout.split('\n').slice(0, -1);
  }

  before(() => {
    mkdirSync(cli, { recursive: true });
    mkdirSync(stub);
    writeFileSync(join(stub, 'node'), `#!/bin/sh\nif [ "$1" = --version ]; then echo v20.99.1; exit 0; fi\nfor a in "$@"; do printf '%s\\n' "$a"; done\n`);
    chmodSync(join(stub, 'node'), 0o755);
    writeFileSync(launcher, launcherScript(AGENT_NODE_FLAGS, files));
    chmodSync(launcher, 0o755);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a blob made by this node with these flags after the last compile: node starts from it, every argument after --', () => {
    fresh();
    assert.deepEqual(launch(['run', '-c', 'my agent.yaml']), [...FROM_BLOB, 'run', '-c', 'my agent.yaml']);
    // --version is logship's, not node's.
    assert.deepEqual(launch(['--version']), [...FROM_BLOB, '--version']);
  });

  test('called through a symbolic link (/usr/local/bin/logship), it finds its blob', () => {
    fresh();
    const link = join(root, 'logship-link');
    symlinkSync(launcher, link);
    assert.deepEqual(launch(['run'], {}, link), [...FROM_BLOB, 'run']);
  });

  test('another node version, other flags, no id, no blob, a blob cut short, a newer compile or NODE_OPTIONS: main.js', () => {
    fresh();
    writeFileSync(id, `${snapshotId('v20.99.0', AGENT_NODE_FLAGS)}\n${cksum(tsbuildinfo)}\n4\n`);
    assert.deepEqual(launch(['run']), [...FROM_MAIN, 'run'], 'made by another node');
    writeFileSync(id, `${snapshotId('v20.99.1', ['--max-semi-space-size=8'])}\n${cksum(tsbuildinfo)}\n4\n`);
    assert.deepEqual(launch(['run']), [...FROM_MAIN, 'run'], 'made with other flags');
    rmSync(id);
    assert.deepEqual(launch(['run']), [...FROM_MAIN, 'run'], 'no id (a build that stopped half-way)');
    fresh();
    rmSync(blob);
    assert.deepEqual(launch(['run']), [...FROM_MAIN, 'run'], 'no blob');
    fresh();
    writeFileSync(blob, 'blo');
    assert.deepEqual(launch(['run']), [...FROM_MAIN, 'run'], 'a blob cut short');
    fresh();
    writeFileSync(tsbuildinfo, '{"compiled":2}');
    assert.deepEqual(launch(['run']), [...FROM_MAIN, 'run'], 'tsc ran after the build');
    fresh();
    assert.deepEqual(launch(['run'], { NODE_OPTIONS: '--max-old-space-size=200' }), [...FROM_MAIN, 'run'], 'NODE_OPTIONS set');
  });

  test('a copy that gave .tsbuildinfo a later time than the blob keeps it (the contents decide)', () => {
    fresh();
    utimesSync(blob, 1_000_000, 1_000_000);
    utimesSync(tsbuildinfo, 1_000_060, 1_000_060);
    assert.deepEqual(launch(['run']), [...FROM_BLOB, 'run']);
  });

  test('without dist/.tsbuildinfo (the container image copies dist/src only) the blob is used', () => {
    fresh();
    rmSync(tsbuildinfo);
    assert.deepEqual(launch(['run']), [...FROM_BLOB, 'run']);
  });
});

describe('a startup snapshot built from the compiled code', () => {
  const suffix = `.snaptest-${process.pid}`;
  const files = snapshotFiles(suffix);
  const launcher = join(CLI_DIR, files.launcher);
  const blob = join(CLI_DIR, files.blob);
  const dir = tempDir('snapshot');
  let cluster: TestCluster | undefined;

  before(() => {
    const built = spawnSync(process.execPath, [join(CLI_DIR, 'bundle.js'), join(CLI_DIR, `cli.bundle${suffix}.js`)], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    assert.equal(readFileSync(join(CLI_DIR, files.id), 'utf8'), `${snapshotId(process.version, AGENT_NODE_FLAGS)}\n${cksum(join(CLI_DIR, '../../.tsbuildinfo'))}\n${statSync(blob).size}\n`);
  });
  after(async () => {
    await cluster?.stop();
    for (const name of [`cli.bundle${suffix}.js`, `cli.bundle${suffix}.js.map`, files.source, `${files.source}.map`, files.blob, files.id, files.launcher]) {
      rmSync(join(CLI_DIR, name), { force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => {
    const { NODE_OPTIONS: _ignored, ...rest } = process.env;
    return rest;
  };

  test('the launcher starts from it; with another node\'s id, from main.js', () => {
    const fromBlob = spawnSync(launcher, ['--version'], { encoding: 'utf8', env: env() });
    assert.equal(fromBlob.status, 0, fromBlob.stderr);
    assert.match(fromBlob.stdout, new RegExp(`^logship \\d+\\.\\d+\\.\\d+ \\(from the startup snapshot ${blob.replaceAll('.', '\\.')}\\)\\n$`));
    const made = readFileSync(join(CLI_DIR, files.id), 'utf8');
    writeFileSync(join(CLI_DIR, files.id), made.replace(process.version, 'v0.0.1'));
    try {
      const fromMain = spawnSync(launcher, ['--version'], { encoding: 'utf8', env: env() });
      assert.equal(fromMain.status, 0, fromMain.stderr);
      assert.match(fromMain.stdout, /^logship \d+\.\d+\.\d+\n$/);
    } finally {
      writeFileSync(join(CLI_DIR, files.id), made);
    }
  });

  test('its CommonJS bundle also runs as a plain script (the same code without the snapshot)', () => {
    const script = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, join(CLI_DIR, files.source), '--version'], { encoding: 'utf8', env: env() });
    assert.equal(script.status, 0, script.stderr);
    assert.match(script.stdout, /^logship \d+\.\d+\.\d+\n$/);
  });

  test('node refuses the blob under other V8 flags (exit 14), before running any of it: why the launcher checks the id', () => {
    const refused = spawnSync(process.execPath, ['--max-semi-space-size=8', '--snapshot-blob', blob, '--', '--version'], { encoding: 'utf8', env: env() });
    assert.equal(refused.status, 14);
    assert.equal(refused.stdout, '');
  });

  test('arguments, environment and working directory are the run\'s: `check` answers like the modules', () => {
    writeFileSync(join(dir, 'agent.yaml'), 'agent: {data_dir: ./data}\ninputs:\n  - id: app\n    paths: [logs/*.log]\n    topic: ${SNAPSHOT_TOPIC}\nkafka: {brokers: ["127.0.0.1:9092"]}\n');
    const runEnv = { ...env(), SNAPSHOT_TOPIC: `topic-${process.pid}` };
    const fromBlob = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, '--snapshot-blob', blob, '--', 'check', '-c', 'agent.yaml'], { encoding: 'utf8', env: runEnv, cwd: dir });
    const modules = spawnSync(process.execPath, [join(CLI_DIR, 'start.js'), 'check', '-c', 'agent.yaml'], { encoding: 'utf8', env: runEnv, cwd: dir });
    assert.equal(fromBlob.status, 0, fromBlob.stderr);
    assert.equal(fromBlob.stdout, modules.stdout);
    assert.match(fromBlob.stdout, new RegExp(`"topic": "topic-${process.pid}"`));
    assert.match(fromBlob.stdout, new RegExp(`"data_dir": "${join(dir, 'data')}"`));
    // An invalid file: the same located error and exit code.
    writeFileSync(join(dir, 'agent.yaml'), 'inputs: 7\n');
    const refused = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, '--snapshot-blob', blob, '--', 'check', '-c', 'agent.yaml'], { encoding: 'utf8', env: runEnv, cwd: dir });
    const refusedModules = spawnSync(process.execPath, [join(CLI_DIR, 'start.js'), 'check', '-c', 'agent.yaml'], { encoding: 'utf8', env: runEnv, cwd: dir });
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr, refusedModules.stderr);
  });

  test('run from it ships every line once, serves /metrics and exits 0', async () => {
    cluster = await TestCluster.start(3);
    const logs = join(dir, 'run-logs');
    mkdirSync(logs);
    const file = join(logs, 'app.log');
    writeFileSync(file, numberedLines('snap', 0, 2_000));
    process.env.LOGSHIP_AGENT_BLOB = blob;
    const agent = AgentProcess.start(dir, agentYaml({ dir, bootstrap: cluster.bootstrap, inputs: `  - id: app\n    paths: ["${logs}/*.log"]\n    start_at: beginning\n    topic: snapshot.app`, metrics: '127.0.0.1:0' }));
    delete process.env.LOGSHIP_AGENT_BLOB;
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 30_000, 'agent start');
      assert.ok(agent.logs.some((e) => e.msg === 'started from the startup snapshot'), 'started from the blob');
      assert.ok(agent.logs.some((e) => e.msg === 'metrics endpoint listening (/metrics, /healthz, /readyz)'), 'metrics endpoint on');
      appendFileSync(file, numberedLines('snap', 2_000, 3_000));
      await until(async () => (await cluster!.count('snapshot.app')) >= 3_000, 30_000, 'every line in Kafka');
      const counts = tally((await cluster.consume('snapshot.app')).map((r) => r.value), 'snap');
      assert.equal(counts.size, 3_000);
      assert.ok([...counts.values()].every((n) => n === 1), 'each line exactly once');
      const exit = await agent.stop('SIGTERM');
      assert.equal(exit.code, 0, agent.stderr.join('\n'));
    } finally {
      await agent.stop('SIGKILL');
    }
  });
});
