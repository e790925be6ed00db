// Bad input never hurts (issue #7), configuration side: hundreds of mutated agent.yaml files —
// lines deleted, duplicated, swapped or re-indented, values replaced by wrong types, garbage,
// huge or negative numbers and unicode, truncations, random bytes, unknown keys, ${VAR}
// oddities — each either loads or is rejected with a ConfigError whose every line says where
// (`file:line:col: ` or at least `file: `). Never another exception, never a hang. Most run
// through parseConfigText in-process; some through the real `logship check`, which must exit 0
// or 1 without a stack trace.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import { BIN } from './helpers/agent-process.js';
import { Random } from './soak/random.js';

const execFileP = promisify(execFile);
const SEED = process.env.LOGSHIP_FUZZ_SEED === undefined ? Random.freshSeed() : Number(process.env.LOGSHIP_FUZZ_SEED);
const IN_PROCESS_CASES = 600;
const CLI_CASES = 20;
/**
 * A config that costs this much CPU to judge is a denial of service waiting to happen (an
 * alias bomb or a backtracking regex takes seconds to hours, a normal one about a millisecond).
 * CPU time of this process, not wall time: a loaded machine (CI, parallel suites) must not turn
 * a slow scheduler into a red test.
 */
const SLOW_PARSE_CPU_MS = 2_000;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'logship-fuzz-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const etc = path.join(tmp, 'etc');
mkdirSync(etc);
writeFileSync(path.join(etc, 'kafka.password'), 'secret\n');

// WEIRD holds YAML syntax: substituted per scalar, it must stay a plain value. (It has no newline
// while the todo test at the end fails: a newline breaks error messages into unlocated lines.)
const ENV: NodeJS.ProcessEnv = { HOSTNAME: 'fuzz-host', KAFKA_PASSWORD: 'pw', BROKERS: 'k1:9092,k2:9092', EMPTY: '', NUM: '42', WEIRD: 'a: b - [c' };

/** Fixtures live in the source tree: from the repo root, or relative to the compiled test. */
function fixture(name: string): string {
  const candidates = [
    path.resolve('test/fixtures/config', name),
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/config', name),
  ];
  const found = candidates.find((c) => existsSync(c));
  assert.ok(found, `fixture ${name} not found in ${candidates.join(' or ')}; run tests from the repo root`);
  return found;
}

const SEEDS: readonly string[] = [
  readFileSync(fixture('agent.example.yaml'), 'utf8').replaceAll('/etc/logship/', `${etc}/`),
  readFileSync(fixture('minimal.yaml'), 'utf8'),
  `agent: {name: "\${HOSTNAME:-h}", data_dir: ./data, shutdown_timeout: 5s}
inputs:
  - id: app
    paths: ["/var/log/app/*.log", "/var/log/app/*.txt"]
    exclude: ["*.gz"]
    multiline: {start: '^\\d{4}-', max_lines: 10, timeout: 1s}
    encoding: latin1
    key: "{host}"
    topic: "logs.{input}.{file.stem}"
kafka:
  brokers: \${BROKERS}
  flush: {max_messages: \${NUM}, frequency: 10ms}
  sasl: {mechanism: PLAIN, username: u, password: "\${KAFKA_PASSWORD}"}
  librdkafka: {socket.timeout.ms: 1000, debug: "broker"}
metrics: {listen: "[::1]:9464"}
`,
  `inputs: [{id: a, paths: [/tmp/a.log], topic: "t.{env.HOSTNAME}"}]
kafka: {brokers: embedded, acks: 1, idempotence: false, compression: zstd, tls: {enabled: false}}
registry: {flush_interval: 250ms, clean_after: 1d}
log: {level: debug, format: pretty}
`,
];

const REPLACEMENT_VALUES: readonly string[] = [
  '[]', '{}', '[1, 2]', '{a: 1}', 'true', 'false', 'null', '~', '""', "''", '0', '-1', '-5s', '1e309', '-1e309',
  '99999999999999999999999', '9007199254740993', '0x7fffffff', '0o777', '.inf', '-.inf', '.nan', '1.5', '3.0s',
  '1MiB', '-1MiB', '1.5KiB', '10TiB', '1 h', '5 fortnights', 'ü名🚀', '"\\u0000"', '"\\uFFFF\\uD800"', '\u202e\u0645\u0631\u062d\u0628\u0627',
  '!!binary aGVsbG8=', '!!set {a, b}', '!custom x', '&anchor 1', '*nope', '<<: {a: 1}', '|\n  block\n  text', '>-\n  folded',
  '"${UNSET_VAR}"', '"${}"', '"${1BAD}"', '"${A:-${B}}"', '"$${literal}"', '"${ EMPTY }"', '"${EMPTY}"', '${WEIRD}', '"${NUM}"', '"${HOSTNAME:-}"',
  'x'.repeat(5000), '['.repeat(200) + ']'.repeat(200), '"unterminated', "'unterminated", '{', '}', '- item', ': colon', '? complex', '#comment',
  '"\\x"', '%TAG ! tag:x,2000:', '---', '...', '@reserved', '`backtick', '\t', '"a\tb"', 'a: b: c',
];

const UNKNOWN_KEYS: readonly string[] = ['unknwn: 1', 'compresion: lz4', 'paths2: []', '"": x', '? [a]\n  : b', '123: 4', 'id: dup', 'Kafka: {}', 'inputs: []'];

const ENV_ODDITIES: readonly string[] = ['${', '${}', '${UNSET}', '${A:-}', '${A:-${B}}', '$${', '${1X}', '${A:-x}}', '${ A }', '${A-b}', '$HOME', '${WEIRD}', '\uE000'];

type Mutation = (text: string, random: Random) => string;

/** "  key:" or "  - key:" at the start of a block mapping line. */
const KEY_PREFIX = /^(\s*(?:-\s+)?[A-Za-z_][\w.-]*:)(?:\s|$)/;

function lines(text: string): string[] {
  return text.split('\n');
}

const MUTATIONS: Record<string, Mutation> = {
  deleteLine: (text, r) => {
    const ls = lines(text);
    ls.splice(r.int(0, ls.length - 1), 1);
    return ls.join('\n');
  },
  duplicateLine: (text, r) => {
    const ls = lines(text);
    const i = r.int(0, ls.length - 1);
    ls.splice(i, 0, ls[i]!);
    return ls.join('\n');
  },
  swapLines: (text, r) => {
    const ls = lines(text);
    const [i, j] = [r.int(0, ls.length - 1), r.int(0, ls.length - 1)];
    [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    return ls.join('\n');
  },
  reindent: (text, r) => {
    const ls = lines(text);
    const i = r.int(0, ls.length - 1);
    ls[i] = r.pick(['', ' ', '  ', '   ', '    ', '\t', '        ']) + ls[i]!.trimStart();
    return ls.join('\n');
  },
  replaceValue: (text, r) => {
    const ls = lines(text);
    const candidates = ls.flatMap((line, i) => {
      const key = KEY_PREFIX.exec(line);
      return key === null ? [] : [{ i, key: key[1]! }];
    });
    if (candidates.length === 0) return text;
    const { i, key } = r.pick(candidates);
    ls[i] = `${key} ${r.pick(REPLACEMENT_VALUES)}`;
    return ls.join('\n');
  },
  replaceFlowValue: (text, r) => {
    // Inside flow mappings ({a: 1, b: 2}) and lists: replace one scalar.
    const scalars = [...text.matchAll(/(?<=[:,[{]\s*)[^\s,\]}{[:][^,\]}\n]*/g)];
    if (scalars.length === 0) return text;
    const m = r.pick(scalars);
    return text.slice(0, m.index) + r.pick(REPLACEMENT_VALUES) + text.slice(m.index! + m[0].length);
  },
  truncate: (text, r) => text.slice(0, r.int(0, text.length)),
  insertBytes: (text, r) => {
    const at = r.int(0, text.length);
    const bytes = Buffer.from(Array.from({ length: r.int(1, 16) }, () => r.int(0, 255)));
    return text.slice(0, at) + bytes.toString('latin1') + text.slice(at);
  },
  insertInvalidUtf8: (text, r) => {
    // What readFile('utf8') makes of invalid bytes: U+FFFD, plus stray control characters.
    const at = r.int(0, text.length);
    return text.slice(0, at) + Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x00, 0x1b]).toString('utf8') + text.slice(at);
  },
  unknownKey: (text, r) => {
    const ls = lines(text);
    const i = r.int(0, ls.length);
    const indent = ' '.repeat(r.pick([0, 2, 4, 6]));
    ls.splice(i, 0, indent + r.pick(UNKNOWN_KEYS));
    return ls.join('\n');
  },
  envOddity: (text, r) => {
    const at = r.int(0, text.length);
    return text.slice(0, at) + r.pick(ENV_ODDITIES) + text.slice(at);
  },
  hugeNumber: (text, r) => text.replace(/\b\d+\b/, () => r.pick(['1'.repeat(400), '-' + '9'.repeat(30), '1e400', '0.' + '0'.repeat(300) + '1'])),
  yamlBomb: () => `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n`,
  deepNesting: (text, r) => {
    const depth = r.int(50, 2_000);
    const closed = r.next() < 0.5;
    return `${text}\nextra: ${'['.repeat(depth)}1${closed ? ']'.repeat(depth) : ''}`;
  },
  multiDocument: (text) => `${text}\n---\n${text}`,
};

const MUTATION_NAMES = Object.keys(MUTATIONS);

function mutate(random: Random): { text: string; applied: string[] } {
  let text = random.pick(SEEDS);
  const applied: string[] = [];
  for (let n = random.int(1, 3); n > 0; n--) {
    const name = random.pick(MUTATION_NAMES);
    applied.push(name);
    text = MUTATIONS[name]!(text, random);
  }
  return { text, applied };
}

/** Every line of the error says where: "file:line:col: ..." or, for whole-file problems, "file: ...". */
function assertLocated(error: ConfigError, file: string, context: string): void {
  assert.ok(error.problems.length > 0, `ConfigError without problems\n${context}`);
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const located = new RegExp(`^${escaped}(:\\d+:\\d+)?: \\S`);
  for (const line of error.message.split('\n')) {
    assert.match(line, located, `error line without a location\n${context}\nerror:\n${error.message}`);
  }
  for (const problem of error.problems) {
    assert.equal(problem.file, file, context);
    if (problem.line !== undefined) assert.ok(problem.line >= 1 && (problem.col ?? 1) >= 1, `impossible position ${problem.line}:${problem.col}\n${context}`);
  }
}

function describeCase(seed: number, index: number, applied: string[], text: string): string {
  return `seed ${seed} case ${index} (${applied.join(' + ')}); LOGSHIP_FUZZ_SEED=${seed} reproduces\n--- config ---\n${text.slice(0, 2000)}\n--------------`;
}

test(`${IN_PROCESS_CASES} mutated configs in-process: each loads or fails with a located ConfigError, never anything else`, (t) => {
  t.diagnostic(`seed ${SEED}`);
  const random = new Random(SEED);
  const file = path.join(tmp, 'agent.yaml');
  const outcomes = { loaded: 0, rejected: 0 };
  const byMutation = new Map<string, number>();
  for (let i = 0; i < IN_PROCESS_CASES; i++) {
    const { text, applied } = mutate(random);
    for (const name of applied) byMutation.set(name, (byMutation.get(name) ?? 0) + 1);
    const context = describeCase(SEED, i, applied, text);
    const started = process.cpuUsage();
    try {
      parseConfigText(text, file, ENV, { hostname: 'fuzz-host' });
      outcomes.loaded++;
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        assert.fail(`${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}\nis not a ConfigError\n${context}`);
      }
      assertLocated(error, file, context);
      outcomes.rejected++;
    }
    const used = process.cpuUsage(started);
    const tookMs = (used.user + used.system) / 1000;
    assert.ok(tookMs < SLOW_PARSE_CPU_MS, `took ${tookMs.toFixed(0)} ms of CPU to judge\n${context}`);
  }
  t.diagnostic(`loaded ${outcomes.loaded}, rejected ${outcomes.rejected}; mutations: ${[...byMutation].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  // The fuzzer is only useful if it produces both kinds: valid configs near the edge, and broken ones.
  assert.ok(outcomes.loaded >= 10, `only ${outcomes.loaded} mutated configs loaded: the mutations are too destructive to probe the edges`);
  assert.ok(outcomes.rejected >= IN_PROCESS_CASES / 2, `only ${outcomes.rejected} rejected`);
});

test(`${CLI_CASES} mutated configs through \`logship check\`: exit 0 or 1, located messages, no stack trace`, async (t) => {
  const random = new Random(SEED ^ 0x5eed);
  const dir = path.join(tmp, 'cli');
  mkdirSync(dir);
  const cases: Array<{ file: string; context: string }> = [];
  for (let i = 0; i < CLI_CASES; i++) {
    const { text, applied } = mutate(random);
    const file = path.join(dir, `case-${i}.yaml`);
    // Half of them as raw bytes with invalid UTF-8, the way a damaged file reaches the CLI.
    writeFileSync(file, i % 2 === 0 ? text : Buffer.concat([Buffer.from(text), Buffer.from([0xff, 0xc3, 0x0a])]));
    cases.push({ file, context: describeCase(SEED ^ 0x5eed, i, applied, text) });
  }
  cases.push({ file: path.join(dir, 'does-not-exist.yaml'), context: 'a missing file' }, { file: dir, context: 'a directory' });
  writeFileSync(path.join(dir, 'empty.yaml'), '');
  cases.push({ file: path.join(dir, 'empty.yaml'), context: 'an empty file' });

  const codes = new Map<number, number>();
  // Two at a time: each is a Node start, and the machine has two cores.
  for (let i = 0; i < cases.length; i += 2) {
    await Promise.all(
      cases.slice(i, i + 2).map(async ({ file, context }) => {
        const { code, stdout, stderr } = await check(file);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        assert.ok(code === 0 || code === 1, `exit ${code}\n${context}\nstderr:\n${stderr}`);
        assert.doesNotMatch(stderr, /^\s+at /m, `stack trace printed\n${context}\nstderr:\n${stderr}`);
        if (code === 0) {
          assert.doesNotThrow(() => JSON.parse(stdout), `check printed no JSON config\n${context}`);
        } else {
          const [first, ...problems] = stderr.trimEnd().split('\n');
          assert.equal(first, 'logship: invalid configuration', context);
          const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          for (const line of problems) assert.match(line, new RegExp(`^${escaped}(:\\d+:\\d+)?: \\S`), `unlocated line\n${context}\nstderr:\n${stderr}`);
        }
      }),
    );
  }
  t.diagnostic(`exit codes: ${[...codes].map(([c, n]) => `${c} x${n}`).join(', ')}`);
});

async function check(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, 'check', '-c', file], { env: { ...process.env, ...ENV } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test(
  'a value with a newline (from ${VAR}) never splits an error message into lines without a location',
  () => {
    const env = { NL: 'a\nb' };
    const cases = {
      topic: 'inputs: [{id: a, paths: [/tmp/x.log], topic: "logs.{fil${NL}e.stem}"}]\nkafka: {brokers: [k:1]}\n',
      key: 'inputs: [{id: a, paths: [/tmp/x.log], topic: t, key: "{${NL}}"}]\nkafka: {brokers: [k:1]}\n',
      regex: 'inputs: [{id: a, paths: [/tmp/x.log], topic: t, multiline: {start: "${NL}("}}]\nkafka: {brokers: [k:1]}\n',
      'tls file': 'inputs: [{id: a, paths: [/tmp/x.log], topic: t}]\nkafka: {brokers: [k:1], tls: {enabled: true, ca_file: "/nope/${NL}"}}\n',
    };
    for (const [name, text] of Object.entries(cases)) {
      try {
        parseConfigText(text, 'a.yaml', env, { hostname: 'h' });
        assert.fail(`${name}: loaded`);
      } catch (error) {
        assert.ok(error instanceof ConfigError, `${name}: ${String(error)}`);
        assertLocated(error, 'a.yaml', name);
      }
    }
  },
);
