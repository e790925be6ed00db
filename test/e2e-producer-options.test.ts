// Every `kafka:` option reaches librdkafka: librdkafka's own dump of the configuration it
// runs with (debug=conf) is read from the agent's log, and records shipped with each codec
// and acks setting are read back with kcat.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { AgentProcess, until, type LogEvent } from './helpers/agent-process.js';
import { agentYaml, tempDir } from './helpers/configs.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(async () => {
  await cluster.stop();
});

/** librdkafka's "Client configuration" dump: property -> value, as librdkafka holds them. */
function librdkafkaConf(logs: LogEvent[]): Map<string, string> {
  const conf = new Map<string, string>();
  for (const e of logs) {
    const m = /^\[thrd:app\]:\s+([\w.]+) = (.*)$/.exec(e.msg);
    if (e.librdkafka === 'CONF' && m) conf.set(m[1]!, m[2]!);
  }
  return conf;
}

/**
 * librdkafka logs its configuration when the client is created, asynchronously to our own
 * start-up log: wait for the topic section (printed after the global one) to be complete.
 */
async function confDumped(agent: AgentProcess): Promise<void> {
  for (const prop of ['request.required.acks', 'partitioner']) {
    await agent.waitForLog((e) => e.librdkafka === 'CONF' && e.msg.includes(`  ${prop} = `), 20_000, `librdkafka's dump of ${prop}`);
  }
}

async function shipWith(kafkaYaml: string, topic: string): Promise<{ conf: Map<string, string>; agent: AgentProcess; dir: string }> {
  const dir = tempDir('opts');
  writeFileSync(join(dir, 'opt.log'), '');
  const agent = AgentProcess.start(
    dir,
    agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      logLevel: 'debug',
      inputs: `  - id: opt\n    paths: ["${dir}/opt.log"]\n    topic: "${topic}"`,
      kafka: `${kafkaYaml}\n  librdkafka: {debug: conf}`,
    }),
  );
  await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
  await confDumped(agent);
  return { conf: librdkafkaConf(agent.logs), agent, dir };
}

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`compression ${codec}: librdkafka runs with it and records arrive intact`, async () => {
    const topic = `opt.codec.${codec}`;
    const { conf, agent, dir } = await shipWith(`  compression: ${codec}\n  compression_level: ${codec === 'zstd' ? 5 : -1}`, topic);
    try {
      assert.equal(conf.get('compression.codec'), codec);
      if (codec === 'zstd') assert.equal(conf.get('compression.level'), '5');
      const lines = Array.from({ length: 50 }, (_, i) => `${codec} line ${i} ${'repetitive text '.repeat(8)}`);
      appendFileSync(join(dir, 'opt.log'), lines.join('\n') + '\n');
      await until(async () => (await cluster.count(topic)) >= 50, 20_000, `${topic} records`);
      assert.deepEqual((await cluster.consume(topic)).map((r) => r.value.toString()).sort(), [...lines].sort());
    } finally {
      await agent.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const [acks, expected] of [[0, '0'], [1, '1'], ['all', '-1']] as const) {
  test(`acks ${acks}: requested as request.required.acks=${expected}, lines delivered`, async () => {
    const topic = `opt.acks.${acks}`;
    const { conf, agent, dir } = await shipWith(`  acks: ${acks}\n  idempotence: ${acks === 'all'}`, topic);
    try {
      assert.equal(conf.get('request.required.acks'), expected);
      appendFileSync(join(dir, 'opt.log'), 'a\nb\nc\n');
      await until(async () => (await cluster.count(topic)) >= 3, 20_000, `${topic} records`);
    } finally {
      await agent.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('flush, retries, idempotence, max_message_bytes, partitioner, client_id, topic_create and passthrough reach librdkafka', async () => {
  const { conf, agent, dir } = await shipWith(
    [
      '  client_id: opt-client',
      '  flush: {max_messages: 1234, max_bytes: 512KiB, frequency: 7ms}',
      '  retries: {max: 99, backoff: 150ms, backoff_max: 3s}',
      '  idempotence: true',
      '  max_message_bytes: 2000000',
      '  partitioner: murmur2_random',
      '  topic_create: never',
      '  max_in_flight_bytes: 4MiB',
    ].join('\n'),
    'opt.misc',
  );
  try {
    const expect: Record<string, string> = {
      'client.id': 'opt-client',
      'batch.num.messages': '1234',
      'batch.size': String(512 * 1024),
      'queue.buffering.max.ms': '7',
      'message.send.max.retries': '99',
      'retry.backoff.ms': '150',
      'retry.backoff.max.ms': '3000',
      'enable.idempotence': 'true',
      'message.max.bytes': '2000000',
      partitioner: 'murmur2_random',
      'allow.auto.create.topics': 'false',
      debug: 'conf',
    };
    for (const [k, v] of Object.entries(expect)) assert.equal(conf.get(k), v, `librdkafka property ${k}`);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS and SASL settings reach librdkafka, and the password never appears in any output', async () => {
  const dir = tempDir('tls');
  const key = join(dir, 'client.key');
  const cert = join(dir, 'client.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=logship-test'], { stdio: 'ignore' });
  const passwordFile = join(dir, 'kafka.password');
  const secret = 's3cr3t-Pa55word-xyz';
  writeFileSync(passwordFile, `${secret}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'opt.log'), '');
  const agent = AgentProcess.start(
    dir,
    agentYaml({
      dir,
      bootstrap: cluster.bootstrap,
      logLevel: 'debug',
      inputs: `  - id: opt\n    paths: ["${dir}/opt.log"]\n    topic: "opt.tls"`,
      kafka: [
        `  tls: {enabled: true, ca_file: "${cert}", cert_file: "${cert}", key_file: "${key}"}`,
        `  sasl: {mechanism: SCRAM-SHA-512, username: shipper, password_file: "${passwordFile}"}`,
        '  librdkafka: {debug: conf}',
      ].join('\n'),
    }),
  );
  try {
    // The mock cluster speaks neither TLS nor SASL: the agent must start anyway and keep trying.
    await agent.waitForLog((e) => e.msg === 'logship running', 20_000, 'agent start');
    await confDumped(agent);
    const conf = librdkafkaConf(agent.logs);
    assert.equal(conf.get('security.protocol'), 'sasl_ssl');
    assert.equal(conf.get('sasl.mechanisms'), 'SCRAM-SHA-512');
    // librdkafka itself redacts SASL credentials in its dump: present, value hidden.
    assert.equal(conf.get('sasl.username'), '[redacted]');
    assert.equal(conf.get('sasl.password'), '[redacted]');
    assert.equal(conf.get('ssl.ca.location'), cert);
    assert.equal(conf.get('ssl.certificate.location'), cert);
    assert.equal(conf.get('ssl.key.location'), '[redacted]', 'present; librdkafka hides key locations too');
    await agent.stop('SIGTERM');
    const everything = JSON.stringify(agent.logs) + agent.stderr.join('\n');
    assert.ok(!everything.includes(secret), 'the SASL password appeared in the agent output');
  } finally {
    await agent.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
