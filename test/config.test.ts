// Loading agent.yaml: the example surface normalises to the expected values, defaults fill in,
// relative paths resolve against the config file, and every kind of mistake is reported with
// file:line:col and the key path.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConfigError, loadConfig, parseConfigText } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/types.js';

// Fixtures are not compiled, so find them in the source tree: from the working directory
// (the repo root when running the suite) or relative to the compiled file in dist/test/.
function fixture(name: string): string {
  const candidates = [
    path.resolve('test/fixtures/config', name),
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/config', name),
  ];
  const found = candidates.find((c) => existsSync(c));
  assert.ok(found, `fixture ${name} not found in ${candidates.join(' or ')}; run tests from the repo root`);
  return found;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'logship-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const silent = pino({ level: 'silent' });
const opts = { hostname: 'test-host', logger: silent };

/** Parses `text` as "a.yaml" in tmp (so relative paths resolve there). */
function parse(text: string, env: NodeJS.ProcessEnv = {}): AgentConfig {
  return parseConfigText(text, path.join(tmp, 'a.yaml'), env, opts);
}

/** The error parseConfigText throws for `text` (read as "a.yaml"); fails if it loads. */
function configError(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfigText(text, 'a.yaml', env, opts);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`config loaded, but should have been rejected:\n${text}`);
}


const KAFKA = 'kafka:\n  brokers: ["127.0.0.1:9092"]\n';
const INPUTS = 'inputs:\n  - id: app\n    paths: [/var/log/app.log]\n    topic: logs\n';

describe('the example configuration', () => {
  // The example names /etc/logship files and sasl.password_file must exist at load, so the
  // tests load a copy pointing at a temp dir holding that file.
  const etc = path.join(tmp, 'etc');
  const exampleText = (): string =>
    readFileSync(fixture('agent.example.yaml'), 'utf8').replaceAll('/etc/logship/', `${etc}/`);
  before(() => {
    mkdirSync(etc, { recursive: true });
    writeFileSync(path.join(etc, 'kafka.password'), 'secret\n');
  });

  test('loads and normalises every key to the expected value', () => {
    const cfg = parseConfigText(exampleText(), path.join(tmp, 'agent.yaml'), { HOSTNAME: 'web-1' }, opts);
    const expected: AgentConfig = {
      source: path.join(tmp, 'agent.yaml'),
      agent: { name: 'web-1', data_dir: '/var/lib/logship', shutdown_timeout: 30_000, max_open_files: 1024, drain_on_stop: true },
      log: { level: 'info', format: 'json' },
      inputs: [
        {
          id: 'nginx',
          paths: ['/var/log/nginx/*.log'],
          exclude: ['*.gz', '*.[0-9]'],
          start_at: 'end',
          ignore_older: 24 * 3_600_000,
          topic: 'logs.{input}.{file.stem}',
          key: '{host}',
          format: 'raw',
          headers: false,
          header_templates: [],
          max_line_bytes: 1_048_576,
          partial_line_timeout: 0,
          encoding: 'utf-8',
          multiline: { start: '^\\d{4}-\\d{2}-\\d{2}', max_lines: 500, timeout: 2000 },
          rotation: { close_renamed_after: 300_000, close_removed: true, close_removed_after: 300_000 },
          fields: { env: 'prod' },
          parser: 'none',
          parse: 'none',
          include_lines: [],
          exclude_lines: ['^DEBUG'],
        },
        {
          id: 'pods',
          paths: ['/var/log/containers/*.log'],
          exclude: [],
          start_at: 'end',
          ignore_older: 24 * 3_600_000,
          topic: 'k8s.{k8s.namespace}.{k8s.container}',
          key: '{json.trace_id:-}',
          format: 'raw',
          headers: false,
          header_templates: [],
          max_line_bytes: 1_048_576,
          partial_line_timeout: 0,
          encoding: 'utf-8',
          multiline: null,
          rotation: { close_renamed_after: 300_000, close_removed: true, close_removed_after: 300_000 },
          fields: {},
          parser: 'auto',
          parse: 'json',
          include_lines: [],
          exclude_lines: [],
        },
      ],
      kafka: {
        brokers: ['kafka-1:9092', 'kafka-2:9092'],
        client_id: 'logship-web-1',
        acks: 'all',
        compression: 'lz4',
        compression_level: -1,
        flush: { max_messages: 10_000, max_bytes: 1_048_576, frequency: 5 },
        retries: { max: 2_147_483_647, backoff: 100, backoff_max: 1000 },
        idempotence: true,
        max_message_bytes: 1_000_000,
        partitioner: 'consistent_random',
        max_in_flight_bytes: 16_777_216,
        topic_create: 'auto',
        dead_letter_topic: null,
        tls: { enabled: false, ca_file: `${etc}/ca.pem`, cert_file: `${etc}/client.pem`, key_file: `${etc}/client.key` },
        sasl: { mechanism: 'SCRAM-SHA-512', username: 'logship', password: null, password_file: `${etc}/kafka.password` },
        librdkafka: {},
      },
      registry: { flush_interval: 1000, clean_after: 7 * 24 * 3_600_000 },
      metrics: { listen: '127.0.0.1:9464' },
    };
    assert.deepEqual(cfg, expected);
  });

  test('falls back to ${HOSTNAME:-localhost} when HOSTNAME is unset', () => {
    const cfg = parseConfigText(exampleText(), 'agent.yaml', {}, opts);
    assert.equal(cfg.agent.name, 'localhost');
    assert.equal(cfg.kafka.client_id, 'logship-localhost');
  });

});

describe('defaults', () => {
  test('minimal.yaml loads with every default filled in', async () => {
    const cfg = await loadConfig(fixture('minimal.yaml'), {}, opts);
    assert.equal(cfg.source, fixture('minimal.yaml'));
    assert.deepEqual(cfg.agent, { name: 'test-host', data_dir: '/var/lib/logship', shutdown_timeout: 30_000, max_open_files: 1024, drain_on_stop: true });
    assert.deepEqual(cfg.log, { level: 'info', format: 'json' });
    const input = cfg.inputs[0]!;
    assert.equal(cfg.inputs.length, 1);
    assert.deepEqual(
      { exclude: input.exclude, key: input.key, multiline: input.multiline, fields: input.fields, encoding: input.encoding, headers: input.headers, format: input.format },
      { exclude: [], key: null, multiline: null, fields: {}, encoding: 'utf-8', headers: false, format: 'raw' },
    );
    assert.deepEqual(cfg.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(cfg.kafka.client_id, 'logship-test-host');
    assert.deepEqual(cfg.kafka.tls, { enabled: false, ca_file: null, cert_file: null, key_file: null });
    assert.equal(cfg.kafka.sasl, null);
    assert.deepEqual(cfg.kafka.librdkafka, {});
    assert.equal(cfg.kafka.max_in_flight_bytes, 16 * 1024 * 1024);
    assert.deepEqual(cfg.registry, { flush_interval: 1000, clean_after: 7 * 24 * 3_600_000 });
    assert.deepEqual(cfg.metrics, { listen: '127.0.0.1:9464' });
  });

  test('empty sections (`agent:`) mean all defaults', () => {
    const cfg = parse(`agent:\nlog:\nregistry:\n${KAFKA}  flush:\n  tls:\n${INPUTS}    rotation:\n    fields:\n`);
    assert.equal(cfg.agent.shutdown_timeout, 30_000);
    assert.equal(cfg.kafka.flush.frequency, 5);
    assert.equal(cfg.kafka.tls.enabled, false);
    assert.equal(cfg.inputs[0]!.rotation.close_renamed_after, 300_000);
    assert.deepEqual(cfg.inputs[0]!.fields, {});
  });
});

describe('normalisation', () => {
  test('relative paths resolve against the config file directory, exclude globs stay', () => {
    const dir = path.join(tmp, 'rel');
    mkdirSync(path.join(dir, 'secrets'), { recursive: true });
    writeFileSync(path.join(dir, 'secrets/pw'), 'pw');
    writeFileSync(path.join(dir, 'secrets/ca.pem'), 'ca');
    const text =
      'agent:\n  data_dir: state\n' +
      'inputs:\n  - id: app\n    paths: ["logs/*.log", "/abs/x.log"]\n    exclude: ["*.gz"]\n    topic: t\n' +
      'kafka:\n  brokers: embedded\n' +
      '  tls: {enabled: true, ca_file: secrets/ca.pem}\n' +
      '  sasl: {mechanism: PLAIN, username: u, password_file: ./secrets/pw}\n';
    const cfg = parseConfigText(text, path.join(dir, 'agent.yaml'), {}, opts);
    assert.equal(cfg.agent.data_dir, path.join(dir, 'state'));
    assert.deepEqual(cfg.inputs[0]!.paths, [path.join(dir, 'logs/*.log'), '/abs/x.log']);
    assert.deepEqual(cfg.inputs[0]!.exclude, ['*.gz']);
    assert.equal(cfg.kafka.tls.ca_file, path.join(dir, 'secrets/ca.pem'));
    assert.equal(cfg.kafka.sasl?.password_file, path.join(dir, 'secrets/pw'));
    assert.equal(cfg.kafka.brokers, 'embedded');
  });

  test('acks accepts 0, 1, all and -1 (as all); encoding utf8 becomes utf-8', () => {
    const withAcks = (acks: string) => parse(`${KAFKA}  acks: ${acks}\n  idempotence: false\n${INPUTS}`).kafka.acks;
    assert.equal(withAcks('0'), 0);
    assert.equal(withAcks('1'), 1);
    assert.equal(withAcks('all'), 'all');
    assert.equal(withAcks('-1'), 'all');
    assert.equal(parse(`${KAFKA}${INPUTS}    encoding: UTF8\n`).inputs[0]!.encoding, 'utf-8');
  });

  test('librdkafka passthrough keeps strings, numbers and booleans', () => {
    const cfg = parse(`${KAFKA}  librdkafka: {"socket.timeout.ms": 1000, "debug": "broker", "enable.ssl.certificate.verification": false}\n${INPUTS}`);
    assert.deepEqual(cfg.kafka.librdkafka, { 'socket.timeout.ms': 1000, debug: 'broker', 'enable.ssl.certificate.verification': false });
  });

  test('metrics.listen accepts "" (off), host:port and [v6]:port', () => {
    for (const listen of ['""', '0.0.0.0:9464', 'localhost:0', '"[::1]:9464"']) {
      const cfg = parse(`${KAFKA}${INPUTS}metrics: {listen: ${listen}}\n`);
      assert.equal(cfg.metrics.listen, JSON.parse(listen.startsWith('"') ? listen : `"${listen}"`));
    }
  });

  test('an empty key template means no key', () => {
    assert.equal(parse(`${KAFKA}${INPUTS}    key: ""\n`).inputs[0]!.key, null);
  });
});

describe('environment substitution', () => {
  test('${A}, ${A:-x} and ${A:-} take the variable or the default', () => {
    const text = `agent:\n  name: \${NAME}\n  data_dir: \${DIR:-/srv/logship}\n${KAFKA}  client_id: "id\${SUFFIX:-}"\n${INPUTS}`;
    const cfg = parse(text, { NAME: 'from-env' });
    assert.equal(cfg.agent.name, 'from-env');
    assert.equal(cfg.agent.data_dir, '/srv/logship');
    assert.equal(cfg.kafka.client_id, 'id');
    assert.equal(parse(text, { NAME: 'n', DIR: '/d', SUFFIX: '-7' }).kafka.client_id, 'id-7');
  });

  test('a set variable wins over its default, even when empty', () => {
    const cfg = parse(`agent: {name: "x\${E:-default}"}\n${KAFKA}${INPUTS}`, { E: '' });
    assert.equal(cfg.agent.name, 'x');
  });

  test('$${A} is a literal ${A}; $1 and $foo in a regex stay as written', () => {
    const cfg = parse(`${KAFKA}${INPUTS}    multiline: {start: '^(\\d+) $1 $foo $\${A}'}\n`, { A: 'no' });
    assert.equal(cfg.inputs[0]!.multiline?.start, '^(\\d+) $1 $foo ${A}');
  });

  test('works inside flow collections, where "{" is YAML syntax', () => {
    const cfg = parse(`kafka: {brokers: [\${B1}, \${B2:-k2:9092}]}\n${INPUTS}`, { B1: 'k1:9092' });
    assert.deepEqual(cfg.kafka.brokers, ['k1:9092', 'k2:9092']);
  });

  test('a substituted value with ": " or a newline stays one string (no YAML injection)', () => {
    const injected = 'x\nacks: 0\nevil: {a: 1}';
    const cfg = parse(`${KAFKA}${INPUTS}    fields: {a: \${V}, b: "\${V}"}\n`, { V: injected });
    assert.deepEqual(cfg.inputs[0]!.fields, { a: injected, b: injected });
    assert.equal(cfg.kafka.acks, 'all');
  });

  test('substituted text is coerced to numbers and booleans where the schema expects them', () => {
    const text = `kafka:\n  brokers: \${BROKERS}\n  flush: {max_messages: \${N}}\n  idempotence: \${I}\n  acks: \${A}\n${INPUTS}    headers: \${H:-false}\n`;
    const cfg = parse(text, { BROKERS: 'k1:9092, k2:9092', N: '500', I: 'false', A: '1' });
    assert.deepEqual(cfg.kafka.brokers, ['k1:9092', 'k2:9092']);
    assert.equal(cfg.kafka.flush.max_messages, 500);
    assert.equal(cfg.kafka.idempotence, false);
    assert.equal(cfg.kafka.acks, 1);
    assert.equal(cfg.inputs[0]!.headers, false);
  });

  test('a quoted number written in YAML is not coerced', () => {
    const err = configError(`${KAFKA}  flush: {max_messages: "10000"}\n${INPUTS}`);
    assert.match(err.message, /^a\.yaml:3:25: kafka\.flush\.max_messages: expected a whole number, got "10000"$/);
  });

  test('keys are substituted too, as plain strings', () => {
    const cfg = parse(`${KAFKA}${INPUTS}    fields: {\${K}: v}\n`, { K: 'team: x' });
    assert.deepEqual(cfg.inputs[0]!.fields, { 'team: x': 'v' });
  });

  test('the private-use characters used for masking are rejected in the source', () => {
    assert.match(configError(`${KAFKA}${INPUTS}    key: "a\uE000"\n`).message, /^a\.yaml:7:12: contains U\+E000/);
  });

  test('${VAR} in a comment is ignored', () => {
    assert.doesNotThrow(() => parse(`# password: \${UNSET}\n${KAFKA}${INPUTS}`));
  });
});

describe('mistakes are reported with file:line:col and key path', () => {
  // `problems`: how many are expected (default 1); the first must match.
  const cases: { name: string; text: string; line: number; col: number; keyPath?: string; message: RegExp; problems?: number }[] = [
    {
      name: 'wrong type',
      text: `${KAFKA}  idempotence: "yes"\n${INPUTS}`,
      line: 3,
      col: 16,
      keyPath: 'kafka.idempotence',
      message: /expected true or false, got "yes"/,
    },
    {
      name: 'wrong type for a section',
      text: `agent: 5\n${KAFKA}${INPUTS}`,
      line: 1,
      col: 8,
      keyPath: 'agent',
      message: /expected a mapping, got 5/,
    },
    {
      name: 'unknown key, with did-you-mean',
      text: `${KAFKA}  compresion: lz4\n${INPUTS}`,
      line: 3,
      col: 3,
      keyPath: 'kafka.compresion',
      message: /unknown key "compresion" — did you mean "compression"\?/,
    },
    {
      name: 'unknown key far from any known one lists the known keys',
      text: `log: {colour: red}\n${KAFKA}${INPUTS}`,
      line: 1,
      col: 7,
      keyPath: 'log.colour',
      message: /unknown key "colour" \(known keys here: level, format\)/,
    },
    {
      name: 'unknown key that is a truncated known key',
      text: `${KAFKA}${INPUTS}    rotation: {close_renamed: 5m}\n`,
      line: 7,
      col: 16,
      keyPath: 'inputs[0].rotation.close_renamed',
      message: /unknown key "close_renamed" — did you mean "close_renamed_after"\?/,
    },
    {
      name: 'inputs given as a mapping',
      text: `${KAFKA}inputs: {id: a}\n`,
      line: 3,
      col: 9,
      keyPath: 'inputs',
      message: /expected a list, got a mapping/,
    },
    {
      name: 'bad duration',
      text: `${KAFKA}  flush:\n    frequency: 5 parsecs\n${INPUTS}`,
      line: 4,
      col: 16,
      keyPath: 'kafka.flush.frequency',
      message: /"5 parsecs" is not a duration \(e\.g\. 250ms, 5s, 24h\)/,
    },
    {
      name: 'bare number as a duration',
      text: `agent: {shutdown_timeout: 30}\n${KAFKA}${INPUTS}`,
      line: 1,
      col: 27,
      keyPath: 'agent.shutdown_timeout',
      message: /30 has no unit: say 30s or 30ms/,
    },
    {
      name: 'bad size',
      text: `${KAFKA}  max_in_flight_bytes: 16 MiBs\n${INPUTS}`,
      line: 3,
      col: 24,
      keyPath: 'kafka.max_in_flight_bytes',
      message: /"16 MiBs" is not a size/,
    },
    {
      name: 'negative size',
      text: `${KAFKA}${INPUTS}    max_line_bytes: -5\n`,
      line: 7,
      col: 21,
      keyPath: 'inputs[0].max_line_bytes',
      message: /-5 is negative/,
    },
    {
      name: 'illegal topic template',
      text: `${KAFKA}inputs:\n  - id: app\n    paths: [/x]\n    topic: "logs/{input}"\n`,
      line: 6,
      col: 12,
      keyPath: 'inputs[0].topic',
      message: /illegal character "\/" at column 5 of topic template "logs\/\{input\}"/,
    },
    {
      name: 'topic template that can render empty',
      text: `${KAFKA}inputs:\n  - id: app\n    paths: [/x]\n    topic: "{file.dir}"\n`,
      line: 6,
      col: 12,
      keyPath: 'inputs[0].topic',
      message: /can render "", which is not a legal topic name/,
    },
    {
      name: 'topic template with an env variable unset at load',
      text: `${KAFKA}inputs:\n  - id: app\n    paths: [/x]\n    topic: "logs.{env.TEAM}"\n`,
      line: 6,
      col: 12,
      keyPath: 'inputs[0].topic',
      message: /environment variable TEAM is not set/,
    },
    {
      name: 'unknown variable in a key template',
      text: `${KAFKA}${INPUTS}    key: "{hots}"\n`,
      line: 7,
      col: 10,
      keyPath: 'inputs[0].key',
      message: /unknown variable \{hots\}/,
    },
    {
      name: 'missing required key, located at the parent mapping',
      text: `${KAFKA}inputs:\n  - id: app\n    paths: [/x]\n`,
      line: 4,
      col: 5,
      keyPath: 'inputs[0].topic',
      message: /missing required key "topic"/,
    },
    {
      name: 'missing kafka section',
      text: INPUTS,
      line: 1,
      col: 1,
      keyPath: 'kafka',
      message: /missing required key "kafka"/,
    },
    {
      name: 'no inputs',
      text: `${KAFKA}inputs: []\n`,
      line: 3,
      col: 9,
      keyPath: 'inputs',
      message: /must list at least one input/,
    },
    {
      name: 'YAML syntax error',
      text: `${KAFKA}inputs: [\n  - id: app\n`,
      line: 4,
      col: 3,
      message: /^YAML: Block collections are not allowed within flow collections/,
      problems: 2,
    },
    {
      name: 'duplicate key',
      text: `${KAFKA}${INPUTS}kafka: {}\n`,
      line: 7,
      col: 1,
      message: /YAML: Map keys must be unique/,
    },
    {
      name: 'unset env variable',
      text: `${KAFKA}  client_id: "logship-\${CLIENT}"\n${INPUTS}`,
      line: 3,
      col: 23,
      keyPath: 'kafka.client_id',
      message: /environment variable CLIENT is not set/,
    },
    {
      name: 'malformed env reference',
      text: `agent: {name: "\${NAME"}\n${KAFKA}${INPUTS}`,
      line: 1,
      col: 16,
      keyPath: 'agent.name',
      message: /"\$\{" is not a variable reference/,
    },
    {
      name: 'duplicate input id',
      text: `${KAFKA}${INPUTS}  - id: app\n    paths: [/y]\n    topic: t2\n`,
      line: 7,
      col: 9,
      keyPath: 'inputs[1].id',
      message: /duplicate input id "app" \(also inputs\[0\]\)/,
    },
    {
      name: 'bad regex',
      text: `${KAFKA}${INPUTS}    multiline:\n      start: "(unclosed"\n`,
      line: 8,
      col: 14,
      keyPath: 'inputs[0].multiline.start',
      message: /"\(unclosed" is not a valid regular expression: .*Unterminated group/,
    },
    {
      name: 'tls file missing',
      text: `${KAFKA}  tls:\n    enabled: true\n    ca_file: /nonexistent/ca.pem\n${INPUTS}`,
      line: 5,
      col: 14,
      keyPath: 'kafka.tls.ca_file',
      message: /cannot read \/nonexistent\/ca\.pem: ENOENT/,
    },
    {
      name: 'sasl password_file missing',
      text: `${KAFKA}  sasl: {mechanism: PLAIN, username: u, password_file: /nonexistent/pw}\n${INPUTS}`,
      line: 3,
      col: 56,
      keyPath: 'kafka.sasl.password_file',
      message: /cannot read \/nonexistent\/pw: ENOENT/,
    },
    {
      name: 'sasl with both password and password_file',
      text: `${KAFKA}  sasl: {mechanism: PLAIN, username: u, password: p, password_file: /etc/hostname}\n${INPUTS}`,
      line: 3,
      col: 69,
      keyPath: 'kafka.sasl.password_file',
      message: /give password or password_file, not both/,
    },
    {
      name: 'flush.max_bytes above max_in_flight_bytes',
      text: `${KAFKA}  max_in_flight_bytes: 64KiB\n${INPUTS}`,
      line: 1,
      col: 1,
      keyPath: 'kafka.flush.max_bytes',
      message: /\(1 MiB\) exceeds kafka\.max_in_flight_bytes \(64 KiB\)/,
    },
    {
      name: 'acks other than all with idempotence',
      text: `${KAFKA}  acks: 1\n${INPUTS}`,
      line: 3,
      col: 9,
      keyPath: 'kafka.acks',
      message: /not allowed with idempotence: true/,
    },
    {
      name: 'bad listen address',
      text: `${KAFKA}${INPUTS}metrics:\n  listen: 9464\n`,
      line: 8,
      col: 11,
      keyPath: 'metrics.listen',
      message: /expected a string, got 9464/,
    },
    {
      name: 'bad enum value',
      text: `${KAFKA}  compression: brotli\n${INPUTS}`,
      line: 3,
      col: 16,
      keyPath: 'kafka.compression',
      message: /must be one of none \| gzip \| snappy \| lz4 \| zstd, got "brotli"/,
    },
    {
      name: 'illegal input id',
      text: `${KAFKA}inputs:\n  - id: "my app"\n    paths: [/x]\n    topic: t\n`,
      line: 4,
      col: 9,
      keyPath: 'inputs[0].id',
      message: /may only contain/,
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const err = configError(c.text);
      const first = err.problems[0]!;
      assert.equal(err.problems.length, c.problems ?? 1, `unexpected number of problems:\n${err.message}`);
      assert.equal(err.file, 'a.yaml');
      assert.deepEqual({ line: first.line, col: first.col, keyPath: first.keyPath }, { line: c.line, col: c.col, keyPath: c.keyPath }, err.message);
      assert.match(first.message, c.message);
      const prefix = `a.yaml:${c.line}:${c.col}: ${c.keyPath ? `${c.keyPath}: ` : ''}`;
      assert.ok(err.message.startsWith(prefix), `message ${JSON.stringify(err.message)} should start with ${JSON.stringify(prefix)}`);
    });
  }

  test('all problems are reported, one per line, in file order', () => {
    const text = [
      'agent:',
      '  shutdown_timeout: forever',
      'kafka:',
      '  brokers: [k:9092]',
      '  compresion: lz4',
      'inputs:',
      '  - id: a',
      '    paths: [/x]',
      '    topic: "a b"',
      '  - id: a',
      '    paths: [/y]',
      '    topic: t',
      '    multiline: {start: "["}',
      '',
    ].join('\n');
    const err = configError(text, {});
    assert.deepEqual(
      err.message.split('\n').map((line) => line.split(': ').slice(0, 2).join(': ')),
      [
        'a.yaml:2:21: agent.shutdown_timeout',
        'a.yaml:5:3: kafka.compresion',
        'a.yaml:9:12: inputs[0].topic',
        'a.yaml:10:9: inputs[1].id',
        'a.yaml:13:24: inputs[1].multiline.start',
      ],
    );
    assert.deepEqual({ line: err.line, col: err.col, keyPath: err.keyPath }, { line: 2, col: 21, keyPath: 'agent.shutdown_timeout' });
  });

  test('an unset variable is reported once, not again as the empty value it leaves', () => {
    const err = configError(`kafka:\n  brokers: [\${BROKER}]\n${INPUTS}`);
    assert.equal(err.problems.length, 1, err.message);
    assert.match(err.message, /^a\.yaml:2:13: kafka\.brokers\[0\]: environment variable BROKER is not set/);
  });

  test('an empty file', () => {
    assert.match(configError('').message, /^a\.yaml:1:1: the file is empty/);
  });
});

describe('loadConfig reading the file', () => {
  test('a missing file is a ConfigError naming the file and the OS error', async () => {
    const missing = path.join(tmp, 'nope.yaml');
    await assert.rejects(loadConfig(missing, {}, opts), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, missing);
      assert.equal(err.message, `${missing}: cannot read config file: ENOENT: no such file or directory, open '${missing}'`);
      return true;
    });
  });

  test('a directory is a ConfigError naming the OS error', async () => {
    await assert.rejects(loadConfig(tmp, {}, opts), (err: unknown) => err instanceof ConfigError && /EISDIR/.test(err.message));
  });
});
