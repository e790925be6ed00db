// Bad input never hurts (issue #7), registry side: between restarts of the real agent its
// registry is damaged at random — bytes flipped, truncated, garbage appended, replaced by other
// JSON (valid or not), by a stale copy, emptied, deleted — and sometimes the previous copy
// (.prev) is deleted or damaged too. The agent must start every time, lose no line, and
// re-ship exactly what the copy it could trust leaves out: nothing when registry.json survives,
// at most about one flush interval of lines when it resumes from .prev, the whole file (start_at:
// beginning) when neither survives.

import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { decodeRegistry, encodeRegistry } from '../src/registry/registry-file.js';
import { identityKey } from '../src/core/file.js';
import { AgentProcess, until } from './helpers/agent-process.js';
import { TestCluster } from './helpers/cluster.js';
import { agentYaml, numberedLines, tally, tempDir } from './helpers/configs.js';
import { persistedOffsets } from './soak/deleted-files.js';
import { Random } from './soak/random.js';

const SEED = process.env.LOGSHIP_FUZZ_SEED === undefined ? Random.freshSeed() : Number(process.env.LOGSHIP_FUZZ_SEED);
const FLUSH_INTERVAL_MS = 100;
/** Each round appends this many lines, in steps, so that they span several flush intervals. */
const LINES_PER_ROUND = 300;
const STEP_LINES = 30;
const STEP_MS = FLUSH_INTERVAL_MS;

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

type Recovery = 'current' | 'previous' | 'none';

interface Damage {
  name: string;
  apply(file: string, random: Random, stale: Buffer | null): void;
}

const OTHER_JSON: readonly string[] = [
  '[]',
  '{}',
  'null',
  '"registry"',
  '{"version":1,"written_at":0,"sha256":"00","entries":[]}',
  '{"version":2,"written_at":0,"sha256":"00","entries":[]}',
  // Checksum right, entry wrong: only full validation catches it.
  encodeRegistry([Buffer.from('{"identity":{"dev":-1},"offset":"x"}')], 1).toString(),
];

const DAMAGES: readonly Damage[] = [
  {
    name: 'bytes flipped',
    apply(file, random) {
      const bytes = readFileSync(file);
      for (let n = random.int(1, 5); n > 0; n--) bytes[random.int(0, bytes.length - 1)]! ^= random.int(1, 255);
      writeFileSync(file, bytes);
    },
  },
  { name: 'truncated', apply: (file, random) => writeFileSync(file, readFileSync(file).subarray(0, random.int(0, statSync(file).size - 1))) },
  {
    name: 'garbage appended',
    apply: (file, random) => appendFileSync(file, Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255)))),
  },
  { name: 'replaced by other JSON', apply: (file, random) => writeFileSync(file, random.pick(OTHER_JSON)) },
  {
    name: 'replaced by a stale copy',
    apply(file, _random, stale) {
      if (stale !== null) writeFileSync(file, stale);
    },
  },
  {
    name: 'replaced by a valid registry with an offset past the end',
    apply(file) {
      const decoded = decodeRegistry(readFileSync(file, 'utf8'));
      assert.ok(decoded.ok);
      const entries = decoded.entries.map((cp) => Buffer.from(JSON.stringify({ ...cp, offset: cp.offset + 1_000_000 })));
      writeFileSync(file, encodeRegistry(entries, Date.now()));
    },
  },
  { name: 'emptied', apply: (file) => writeFileSync(file, '') },
  { name: 'deleted', apply: (file) => unlinkSync(file) },
];

/** What happens to .prev in round r: mostly kept, sometimes deleted, sometimes damaged too. */
const PREV_FATE: ReadonlyArray<'kept' | 'deleted' | 'damaged'> = ['kept', 'kept', 'deleted', 'kept', 'damaged', 'kept', 'deleted', 'kept'];

/** The offset the agent should resume the file from, reading the registry as it does. */
function expectedResume(dataDir: string, identity: string): { recovery: Recovery; offset: number } {
  for (const [name, recovery] of [
    ['registry.json', 'current'],
    ['registry.json.prev', 'previous'],
  ] as const) {
    const file = join(dataDir, name);
    if (!existsSync(file)) continue;
    const decoded = decodeRegistry(readFileSync(file, 'utf8'));
    if (decoded.ok) return { recovery, offset: decoded.entries.find((cp) => identityKey(cp.identity) === identity)?.offset ?? 0 };
  }
  return { recovery: 'none', offset: 0 };
}

function linesIn(file: string, from: number, to: number): number {
  const bytes = readFileSync(file).subarray(from, to);
  let lines = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

function loggedRecovery(agent: AgentProcess): Recovery | 'unclear' {
  const said = (pattern: RegExp): boolean => agent.logs.some((e) => pattern.test(e.msg));
  if (said(/^registry loaded$/)) return 'current';
  if (said(/registry resumed from the previous good copy/)) return 'previous';
  if (said(/REGISTRY LOST|no registry yet/)) return 'none';
  return 'unclear';
}

test(`registry damaged at random between ${DAMAGES.length} restarts: the agent always starts, loses nothing, re-ships only what the surviving copy lacks`, async (t) => {
  t.diagnostic(`seed ${SEED}; LOGSHIP_FUZZ_SEED=${SEED} reproduces`);
  const random = new Random(SEED);
  const dir = tempDir('fuzz-registry');
  const dataDir = join(dir, 'data');
  const log = join(dir, 'app.log');
  const topic = 'fuzzreg.app';
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: `  - id: app\n    paths: ["${log}"]\n    start_at: beginning\n    topic: "${topic}"`,
    registry: `  flush_interval: ${FLUSH_INTERVAL_MS}ms`,
  });
  writeFileSync(log, '');
  let written = 0;
  /** A good registry from the first life: "replaced by a stale copy" puts it back later. */
  let stale: Buffer | null = null;

  /** One life: start, append a round of lines in steps, wait until all are shipped and persisted, SIGTERM. */
  const life = async (): Promise<AgentProcess> => {
    const agent = AgentProcess.start(dir, yaml);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
      // Lines written before the producer is connected would all be acknowledged at once,
      // in one registry write; the bound below is about lines acknowledged as they come.
      await agent.waitForLog((e) => e.msg === 'connected to Kafka', 20_000, 'the connection to Kafka');
      for (let step = 0; step < LINES_PER_ROUND / STEP_LINES; step++) {
        appendFileSync(log, numberedLines('reg', written, written + STEP_LINES));
        written += STEP_LINES;
        await delay(STEP_MS);
      }
      const identity = identityKey(statSync(log));
      await until(() => persistedOffsets(join(dataDir, 'registry.json')).get(identity) === statSync(log).size, 20_000, 'every line shipped and persisted');
      assert.equal((await agent.stop('SIGTERM')).code, 0, `exit code after SIGTERM\n${agent.tail()}`);
      return agent;
    } finally {
      await agent.stop('SIGKILL');
    }
  };

  try {
    await life();
    stale = readFileSync(join(dataDir, 'registry.json'));
    for (const [round, damage] of random.shuffle([...DAMAGES]).entries()) {
      const main = join(dataDir, 'registry.json');
      const prev = join(dataDir, 'registry.json.prev');
      const sizeBefore = statSync(log).size;
      const recordsBefore = await cluster.count(topic);
      damage.apply(main, random, stale);
      const prevFate = existsSync(prev) ? PREV_FATE[round % PREV_FATE.length]! : 'deleted';
      if (prevFate === 'deleted' && existsSync(prev)) unlinkSync(prev);
      if (prevFate === 'damaged') DAMAGES[0]!.apply(prev, random, null);
      const expected = expectedResume(dataDir, identityKey(statSync(log)));
      // An offset past the end means the file is not the one the entry knew: read from 0.
      const reShip = linesIn(log, expected.offset > sizeBefore ? 0 : expected.offset, sizeBefore);

      const agent = await life();
      const what = `round ${round}: registry.json ${damage.name}, .prev ${prevFate}`;
      assert.equal(loggedRecovery(agent), expected.recovery, `${what}: the agent resumed from the wrong copy\n${agent.tail()}`);
      if (expected.recovery === 'previous') {
        assert.ok(agent.logs.some((e) => e.level >= 40 && /previous good copy/.test(e.msg)), `${what}: resuming from .prev was not reported\n${agent.tail()}`);
      } else if (expected.recovery === 'none' && (damage.name !== 'deleted' || prevFate === 'damaged')) {
        assert.ok(agent.logs.some((e) => e.level >= 50 && /REGISTRY LOST/.test(e.msg)), `${what}: the loss of the registry was not reported as an error\n${agent.tail()}`);
      }
      const duplicates = (await cluster.count(topic)) - recordsBefore - LINES_PER_ROUND;
      t.diagnostic(`${what} -> resumed from ${expected.recovery} at offset ${expected.offset} of ${sizeBefore}, ${duplicates} line(s) shipped again`);
      assert.equal(duplicates, reShip, `${what}: ${duplicates} lines shipped again, expected exactly the ${reShip} after the offset resumed from`);
      // How much that is depends on how often the previous life wrote the registry (the copy
      // kept is the one before the last write): exactly the lines after it, never more.
    }
    const counts = tally((await cluster.consume(topic)).map((r) => r.value), 'reg');
    const lost = Array.from({ length: written }, (_, i) => i).filter((i) => (counts.get(i) ?? 0) === 0);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${written} lines never shipped`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('both registry copies damaged with start_at: end: the agent starts, says REGISTRY LOST, and skips what was written while it was down', async () => {
  const dir = tempDir('fuzz-registry-end');
  const dataDir = join(dir, 'data');
  const log = join(dir, 'app.log');
  const topic = 'fuzzreg.end';
  const yaml = agentYaml({
    dir,
    bootstrap: cluster.bootstrap,
    inputs: `  - id: app\n    paths: ["${log}"]\n    start_at: end\n    topic: "${topic}"`,
    registry: `  flush_interval: ${FLUSH_INTERVAL_MS}ms`,
  });
  writeFileSync(log, '');
  try {
    let agent = AgentProcess.start(dir, yaml);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
      appendFileSync(log, numberedLines('end', 0, 100));
      await until(() => persistedOffsets(join(dataDir, 'registry.json')).get(identityKey(statSync(log))) === statSync(log).size, 20_000, 'the first lines persisted');
      appendFileSync(log, numberedLines('end', 100, 110));
      await until(() => persistedOffsets(join(dataDir, 'registry.json')).get(identityKey(statSync(log))) === statSync(log).size, 20_000, 'a second write (so .prev exists)');
      assert.equal((await agent.stop('SIGTERM')).code, 0);
    } finally {
      await agent.stop('SIGKILL');
    }
    writeFileSync(join(dataDir, 'registry.json'), '{"version":1,');
    writeFileSync(join(dataDir, 'registry.json.prev'), 'garbage');
    appendFileSync(log, numberedLines('end', 110, 150)); // written while the agent is down
    agent = AgentProcess.start(dir, yaml);
    try {
      await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
      assert.ok(agent.logs.some((e) => e.level >= 50 && /REGISTRY LOST/.test(e.msg)), 'the loss of the registry is logged as an error');
      appendFileSync(log, numberedLines('end', 150, 160)); // written after the start
      assert.equal((await agent.stop('SIGTERM')).code, 0);
    } finally {
      await agent.stop('SIGKILL');
    }
    const counts = tally((await cluster.consume(topic)).map((r) => r.value), 'end');
    const shipped = (from: number, to: number): number => Array.from({ length: to - from }, (_, i) => counts.get(from + i) ?? 0).filter((c) => c > 0).length;
    assert.equal(shipped(0, 110), 110, 'lines shipped before the damage');
    assert.equal(shipped(110, 150), 0, 'start_at: end skips what was written while the agent was down (the registry that knew better is gone)');
    assert.equal(shipped(150, 160), 10, 'lines written after the start are shipped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
