// Hides secrets in a loaded config: redactedConfig() for `logship check` to print, and
// REDACT_PATHS for pino's `redact` option wherever a config object may be logged.
// Secrets are kafka.sasl.password and librdkafka passthrough properties that hold passwords,
// secrets, tokens or PEM text. File paths (password_file, tls files) are not secrets.

import type { AgentConfig } from './types.js';

export const REDACTED = '[redacted]';

/** librdkafka property names whose values are secrets. */
const SECRET_PROPERTY = /password|secret|token|\.pem$|^sasl\.oauthbearer\.config$/i;

/** Known secret librdkafka properties, for REDACT_PATHS (pino paths cannot hold patterns). */
const KNOWN_SECRET_PROPERTIES = [
  'sasl.password',
  'ssl.key.password',
  'ssl.key.pem',
  'ssl.keystore.password',
  'ssl.certificate.pem',
  'ssl.ca.pem',
  'sasl.oauthbearer.client.secret',
  'sasl.oauthbearer.config',
];

export function isSecretProperty(name: string): boolean {
  return SECRET_PROPERTY.test(name);
}

/** A copy of `cfg` safe to print: every secret replaced by "[redacted]". */
export function redactedConfig(cfg: AgentConfig): unknown {
  const copy = structuredClone(cfg);
  if (copy.kafka.sasl?.password != null) copy.kafka.sasl.password = REDACTED;
  for (const name of Object.keys(copy.kafka.librdkafka)) {
    if (isSecretProperty(name)) copy.kafka.librdkafka[name] = REDACTED;
  }
  return copy;
}

const SECRET_PATHS = [
  'kafka.sasl.password',
  ...KNOWN_SECRET_PROPERTIES.map((name) => `kafka.librdkafka[${JSON.stringify(name)}]`),
];

/**
 * pino `redact.paths` for a config logged at the top level of a log call or one level down
 * (`log.info({ config })`). Pass with `censor: REDACTED`. Unlike redactedConfig these cannot
 * match by pattern, so an unusual secret librdkafka property is only hidden by redactedConfig.
 */
export const REDACT_PATHS: string[] = [...SECRET_PATHS, ...SECRET_PATHS.map((p) => `*.${p}`)];
