// Every way the agent is launched passes node the same V8 flags (src/cli/node-flags.ts): they
// must be on node's command line, so each launcher carries a copy, and this keeps the copies
// equal. And the launcher script really runs with them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { launcherScript, snapshotFiles } from '../src/cli/launcher.js';
import { AGENT_NODE_FLAGS } from '../src/cli/node-flags.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(ROOT + path, 'utf8');

test('bin/logship, the systemd unit and the Dockerfile (through the build\'s launcher) pass node the agent flags', () => {
  assert.ok(AGENT_NODE_FLAGS.length > 0);
  const flags = AGENT_NODE_FLAGS.join(' ');
  assert.equal(read('bin/logship').split('\n')[0], `#!/usr/bin/env -S node ${flags}`);
  // The unit and the image run the launcher the build writes from the same list (launcher.ts).
  const unit = read('packaging/systemd/logship.service');
  assert.match(unit, /^ExecStart=\/bin\/sh \/opt\/logship\/dist\/src\/cli\/logship run /m);
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'));
  assert.ok(entrypoint, 'the Dockerfile has an ENTRYPOINT in exec form');
  assert.deepEqual(JSON.parse(entrypoint[1]!), ['/bin/sh', '/opt/logship/dist/src/cli/logship']);
  const launcher = launcherScript(AGENT_NODE_FLAGS, snapshotFiles());
  assert.match(launcher, new RegExp(`^flags='${flags}'$`, 'm'));
  assert.equal(launcher.match(/^\s*exec node \$flags /gm)?.length, 2, 'both ways out of the launcher pass the flags');
});

test('bin/logship executed directly runs node with the flags', () => {
  // A preload given through NODE_OPTIONS (not part of execArgv) prints node's own flags.
  const probe = '--import=data:text/javascript,process.stderr.write(`execArgv=${process.execArgv.join()}\\n`)';
  const out = spawnSync(ROOT + 'bin/logship', ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: probe } });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /^logship \d+\.\d+\.\d+/);
  assert.match(out.stderr, new RegExp(`^execArgv=${AGENT_NODE_FLAGS.join(',')}$`, 'm'));
});
