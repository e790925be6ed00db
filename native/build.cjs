// npm's install script for @logship/native: builds the addon with the node-gyp that npm ships,
// against the librdkafka @confluentinc/kafka-javascript has just built (npm builds registry
// dependencies before file: ones). No download: Node's headers come from `npm config nodedir`,
// else from the running node's own prefix (<prefix>/include/node, present in Debian's and the
// official builds); only when neither has them is node-gyp left to fetch them, and a failure
// then says what to install.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, realpathSync } = require('node:fs');
const path = require('node:path');

function fail(message) {
  process.stderr.write(`\n@logship/native: ${message}\n\n`);
  process.exit(1);
}

// The binding's librdkafka: resolved from the project that depends on us.
let bindingDir;
try {
  const from = [process.env.INIT_CWD, path.resolve(__dirname, '..'), __dirname].filter(Boolean);
  bindingDir = path.dirname(require.resolve('@confluentinc/kafka-javascript/package.json', { paths: from }));
} catch {
  fail('@confluentinc/kafka-javascript is not installed; install the project with `CKJS_LINKING=dynamic npm ci` (see README).');
}
const rdkafkaDir = path.join(bindingDir, 'build', 'deps');
if (!existsSync(path.join(rdkafkaDir, 'librdkafka.so.1')) || !existsSync(path.join(rdkafkaDir, 'include', 'librdkafka', 'rdkafka.h'))) {
  fail(
    `no librdkafka.so.1 and headers under ${rdkafkaDir}: @confluentinc/kafka-javascript was not built from source with dynamic linking. ` +
      'Rebuild with `CKJS_LINKING=dynamic npm ci` (or `CKJS_LINKING=dynamic npm rebuild @confluentinc/kafka-javascript @logship/native`).',
  );
}

function hasHeaders(dir) {
  return Boolean(dir) && existsSync(path.join(dir, 'include', 'node', 'node_api.h')) && existsSync(path.join(dir, 'include', 'node', 'common.gypi'));
}
const args = ['rebuild'];
const configured = process.env.npm_config_nodedir;
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (hasHeaders(configured)) args.push(`--nodedir=${configured}`);
else if (hasHeaders(prefix)) args.push(`--nodedir=${prefix}`);

const nodeGyp =
  process.env.npm_config_node_gyp ||
  [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find((p) => existsSync(p));
if (!nodeGyp) fail("cannot find node-gyp (npm ships one; run this through `npm ci` / `npm rebuild @logship/native`).");

const env = { ...process.env, LOGSHIP_RDKAFKA_DIR: realpathSync(rdkafkaDir) };
const run = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: __dirname, stdio: 'inherit', env });
if (run.status !== 0) {
  fail(
    'building the native producer failed. It needs a C compiler, make and python3 (Debian: build-essential python3), ' +
      "and Node's headers: set `npm config set nodedir <node prefix>` to a directory with include/node/node_api.h " +
      `(none found in ${configured || '(nodedir unset)'} or ${prefix}), or let node-gyp download them where nodejs.org is reachable.`,
  );
}
