// The zod schema of agent.yaml: validates the parsed YAML and normalises it into AgentConfig
// (durations -> ms, sizes -> bytes, defaults filled, relative paths resolved).
//
// Defaults are written in YAML spelling ("30s", "1MiB") and go through the same parsers as
// the operator's values (zod `prefault`). Each leaf is a `field`: a plain parse function whose
// errors become zod issues at that key, so messages are ours rather than zod's.
// A value that came from ${VAR} substitution arrives as `Substituted`; only such values are
// coerced from text to numbers and booleans ("10000" -> 10000), since an environment variable
// can only be text while a YAML `max_messages: "abc"` is a mistake worth reporting.
// Checks that need files (tls files, sasl.password_file) run here, against the config
// file's directory for relative paths (SchemaContext.baseDir).

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { Substituted } from './env.js';
import { globCanYieldKubernetesPath } from './kubernetes-layouts.js';
import { checkTopicCanBeEmpty, compileTemplate, sanitiseTopic, TemplateError, TOPIC_MAX_LENGTH, unsetEnvNames, type Template } from './templates.js';
import type {
  HeaderTemplate,
  AgentConfig,
  Compression,
  ContainerParser,
  FileEncoding,
  LogLevel,
  Partitioner,
  SaslMechanism,
} from './types.js';
import { describeValue, formatSize, parseDuration, parseSize, UnitError } from './units.js';

export interface SchemaContext {
  /** Relative paths in the config are resolved against this directory. */
  baseDir: string;
  /** For {env.VAR} in templates. */
  env: NodeJS.ProcessEnv;
  /** Default of agent.name. */
  hostname: string;
}

/** The config as the schema produces it; load.ts adds `source`. */
export type ParsedConfig = Omit<AgentConfig, 'source'>;

/** A rejected value; becomes an issue at the key being parsed. */
class FieldError extends Error {}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const PARTITIONERS: readonly Partitioner[] = ['random', 'consistent', 'consistent_random', 'murmur2', 'murmur2_random'];
const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];
const CONTAINER_PARSERS: readonly ContainerParser[] = ['none', 'cri', 'docker', 'auto'];
const ENCODINGS: Readonly<Record<string, FileEncoding>> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  latin1: 'latin1',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
};
const INPUT_ID = /^[A-Za-z0-9._-]+$/;
// Lenient on purpose ("_" is common in container names); the OS resolver has the last word.
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const INT32_MAX = 2_147_483_647;
/** Headers a `headers` map may name (the native producer takes 32 per record). */
const MAX_HEADER_TEMPLATES = 16;

// ---------------------------------------------------------------------------------------------
// Leaf fields

/**
 * A key parsed by `parse(value, fromEnv)`: `value` is the YAML value (a substituted one as its
 * text), `fromEnv` says it came from ${VAR}. A FieldError, UnitError or TemplateError thrown by
 * `parse` becomes an issue at this key.
 */
function field<T>(parse: (value: unknown, fromEnv: boolean) => T) {
  return z.unknown().transform((raw, ctx): T => {
    try {
      return parse(plain(raw), raw instanceof Substituted);
    } catch (error) {
      if (error instanceof FieldError || error instanceof UnitError || error instanceof TemplateError) {
        ctx.addIssue({ code: 'custom', message: error.message, input: raw });
        return z.NEVER;
      }
      throw error;
    }
  });
}

function plain(raw: unknown): unknown {
  return raw instanceof Substituted ? raw.text : raw;
}

function expectString(value: unknown): string {
  if (typeof value !== 'string') throw new FieldError(`expected a string, got ${describeValue(value)}`);
  return value;
}

function expectNonEmptyString(value: unknown): string {
  if (expectString(value) === '') throw new FieldError('must not be empty');
  return value as string;
}

function expectInteger(value: unknown, fromEnv: boolean, min: number, max: number): number {
  const n = fromEnv && typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new FieldError(`expected a whole number, got ${describeValue(value)}`);
  }
  if (n < min || n > max) throw new FieldError(`${n} is out of range: must be from ${min} to ${max}`);
  return n;
}

function expectBoolean(value: unknown, fromEnv: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (fromEnv && typeof value === 'string' && /^(true|false)$/i.test(value.trim())) {
    return value.trim().toLowerCase() === 'true';
  }
  throw new FieldError(`expected true or false, got ${describeValue(value)}`);
}

const nonEmptyText = () => field((v) => expectNonEmptyString(v));
/** An optional string whose errors never show the value: it is a secret. */
const optionalSecret = () =>
  field((v) => {
    if (nullish(v)) return null;
    if (typeof v !== 'string') {
      // YAML turned it into a number or boolean (and may have dropped leading zeros): coercing
      // back could yield a different password, so ask for quotes instead.
      throw new FieldError(`expected a string (value not shown: it is a secret); quote it, e.g. password: "..."`);
    }
    return v;
  }).prefault(null);
const integer = (min: number, max: number) => field((v, fromEnv) => expectInteger(v, fromEnv, min, max));
const boolean = () => field((v, fromEnv) => expectBoolean(v, fromEnv));
const duration = () => field((v) => parseDuration(v));

function choice<T extends string>(values: readonly T[]) {
  return field((v): T => {
    const found = values.find((allowed) => allowed === v);
    if (found === undefined) throw new FieldError(`must be one of ${values.join(' | ')}, got ${describeValue(v)}`);
    return found;
  });
}

function size(min: number, max: number) {
  return field((v) => {
    const n = parseSize(v);
    if (n < min || n > max) {
      throw new FieldError(`${formatSize(n)} is out of range: must be from ${formatSize(min)} to ${formatSize(max)}`);
    }
    return n;
  });
}

/** A string, number or boolean: the values of `fields` and `librdkafka`. */
const scalar = () =>
  field((v): string | number | boolean => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    throw new FieldError(`expected a string, number or boolean, got ${describeValue(v)}`);
  });

/** One string or a list of strings; each non-empty. */
function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(plain) : [value];
  return items.map((item, i) => {
    if (typeof item !== 'string' || item === '') {
      throw new FieldError(`item ${i} must be a non-empty string, got ${describeValue(item)}`);
    }
    return item;
  });
}

/** The problem with reading `file`, or null when it is a readable regular file. */
function unreadableFile(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    return `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    return fs.fstatSync(fd).isFile() ? null : `${file} is not a regular file`;
  } finally {
    fs.closeSync(fd);
  }
}

function nullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

// zod treats a key as required unless its schema has a default, so every optional key below
// carries a `prefault`: the value used when the key is absent, parsed like a written one.

/** An absent or empty (`key:`) section means "all defaults". */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v ?? {}, schema).prefault({});
}

/** An absent or empty optional section is null. */
function optionalSection<T extends z.ZodType>(schema: T) {
  return schema.nullable().prefault(null);
}

function listenAddress(value: unknown): string {
  const address = expectString(value).trim();
  if (address === '') return '';
  const match = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  const hostOk = match?.[1] !== undefined ? net.isIPv6(match[1]) : host !== undefined && (net.isIPv4(host) || HOSTNAME.test(host));
  if (!match || !hostOk || port > 65535) {
    throw new FieldError(`${describeValue(value)} is not host:port (e.g. 127.0.0.1:9464, [::1]:9464, or "" for off)`);
  }
  return address;
}

function acks(value: unknown, fromEnv: boolean): 0 | 1 | 'all' {
  const n = fromEnv && typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (n === 0 || n === 1) return n;
  if (n === -1 || n === 'all') return 'all';
  throw new FieldError(`must be 0, 1 or all, got ${describeValue(value)}`);
}

function brokers(value: unknown): string[] | 'embedded' {
  if (value === 'embedded') return 'embedded';
  // A single string is a comma-separated list, so `brokers: ${KAFKA_BROKERS}` works.
  const list = typeof value === 'string' ? value.split(',').map((b) => b.trim()) : value;
  if (!Array.isArray(list)) throw new FieldError(`expected a list of host:port, got ${describeValue(value)}`);
  if (list.length === 0) throw new FieldError('must list at least one broker (or be "embedded")');
  return list.map((item: unknown, i) => {
    const broker = plain(item);
    if (typeof broker !== 'string' || !/^[^\s,]+$/.test(broker)) {
      throw new FieldError(`broker ${i} must be host:port, got ${describeValue(broker)}`);
    }
    return broker;
  });
}

function regexSource(value: unknown): string {
  const source = expectNonEmptyString(value);
  try {
    new RegExp(source);
  } catch (error) {
    throw new FieldError(`${describeValue(source)} is not a valid regular expression: ${(error as Error).message}`);
  }
  return source;
}

/** `include_lines` / `exclude_lines`: a list of regexes (or one); each item is checked, so an error points at it. */
const regexList = () => z.preprocess((v) => (nullish(v) ? [] : Array.isArray(v) ? v : [v]), z.array(field(regexSource))).prefault([]);

/** A plain topic name (no template): "" or absent is null. */
function topicName(value: unknown): string | null {
  if (nullish(value) || value === '') return null;
  const name = expectString(value);
  const illegal = /[^a-zA-Z0-9._-]/u.exec(name);
  if (illegal) {
    throw new FieldError(
      `${describeValue(name)} is not a legal topic name: ${JSON.stringify(illegal[0])} at column ${illegal.index + 1}; ` +
        'a topic may only contain a-z A-Z 0-9 . _ - (templates are not supported here)',
    );
  }
  if (name.length > TOPIC_MAX_LENGTH) throw new FieldError(`is ${name.length} characters; a topic is at most ${TOPIC_MAX_LENGTH}`);
  if (sanitiseTopic(name) === '.' || name === '..') throw new FieldError(`${describeValue(name)} is not a legal topic name`);
  return name;
}

const KUBERNETES_LAYOUT_HINT =
  '<root>/pods/<namespace>_<pod>_<uid>/<container>/<n>.log or <root>/containers/<pod>_<namespace>_<container>-<id>.log';

/**
 * What a template needs from its input: {json.*} needs parse: json, {stream} a container
 * parser, {k8s.*} (without a default) paths that can be Kubernetes log paths. Returns the
 * problems, each naming the variable.
 */
function templateNeeds(t: Template, input: { parse: string; parser: string; paths: string[] }): string[] {
  const problems: string[] = [];
  const firstJson = t.parts.find((p) => p.type === 'json');
  if (firstJson && input.parse !== 'json') {
    problems.push(`{json.${firstJson.path}} needs parse: json on this input (it is ${input.parse})`);
  }
  if (t.usesStream && input.parser === 'none') {
    problems.push('{stream} needs a container parser on this input (parser: cri | docker | auto; it is none)');
  }
  const k8s = t.parts.find((p) => p.type === 'variable' && p.name.startsWith('k8s.') && p.fallback === null);
  if (k8s && k8s.type === 'variable') {
    const unfit = input.paths.filter((glob) => !globCanYieldKubernetesPath(glob));
    if (unfit.length > 0) {
      problems.push(
        `{${k8s.name}} comes from Kubernetes log paths (${KUBERNETES_LAYOUT_HINT}), which ` +
          `${unfit.map((g) => JSON.stringify(g)).join(', ')} cannot match; fix the paths or give a default, e.g. {${k8s.name}:-none}`,
      );
    }
  }
  return problems;
}

function notOnlyDots(name: string, what: string): string {
  if (/^\.+$/.test(name)) throw new FieldError(`${describeValue(name)} is not a usable ${what}: it is only dots`);
  return name;
}

// ---------------------------------------------------------------------------------------------
// The schema

export function buildAgentSchema(ctx: SchemaContext) {
  const resolvePath = (p: string): string => path.resolve(ctx.baseDir, p);
  const filePath = () => field((v) => resolvePath(expectNonEmptyString(v)));
  const optionalFilePath = () => field((v) => (nullish(v) ? null : resolvePath(expectNonEmptyString(v)))).prefault(null);

  const checkTemplateEnv = (source: string, unset: string[]): void => {
    if (unset.length > 0) {
      throw new FieldError(
        `template "${source}" uses ${unset.map((n) => `{env.${n}}`).join(', ')} but environment ` +
          (unset.length === 1 ? `variable ${unset[0]} is not set` : `variables ${unset.join(', ')} are not set`),
      );
    }
  };

  const topicTemplate = field((v) => {
    const source = expectNonEmptyString(v);
    const template = compileTemplate(source, 'topic');
    checkTemplateEnv(source, unsetEnvNames(template, ctx.env));
    checkTopicCanBeEmpty(template, ctx.env);
    return source;
  });

  // An empty key template means no key, so `key: ${KAFKA_KEY:-}` can switch keys off.
  const keyTemplate = field((v) => {
    if (nullish(v) || v === '') return null;
    const source = expectString(v);
    checkTemplateEnv(source, unsetEnvNames(compileTemplate(source, 'key'), ctx.env));
    return source;
  }).prefault(null);

  // `headers`: true | false (the built-in set), or a map of header name -> template, each
  // checked like a key template and located at headers.<name>. An entry whose template is
  // empty adds no header (so `trace: ${TRACE_HEADER:-}` can switch one off).
  const headers = z
    .unknown()
    .transform((raw, issues): { builtin: boolean; templates: HeaderTemplate[] } => {
      const value = plain(raw);
      if (nullish(value)) return { builtin: false, templates: [] };
      if (typeof value !== 'object' || Array.isArray(value)) {
        try {
          return { builtin: expectBoolean(value, raw instanceof Substituted), templates: [] };
        } catch (error) {
          if (!(error instanceof FieldError)) throw error;
          issues.addIssue({ code: 'custom', input: raw, message: `expected true, false or a map of header name to template (e.g. {service: "{json.service}"}), got ${describeValue(value)}` });
          return z.NEVER;
        }
      }
      const templates: HeaderTemplate[] = [];
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > MAX_HEADER_TEMPLATES) {
        issues.addIssue({ code: 'custom', input: raw, message: `names ${entries.length} headers; at most ${MAX_HEADER_TEMPLATES}` });
        return z.NEVER;
      }
      let ok = true;
      for (const [name, rawTemplate] of entries) {
        try {
          if (name === '') throw new FieldError('a header name must not be empty');
          const template = plain(rawTemplate);
          if (nullish(template) || template === '') continue;
          const source = typeof template === 'number' || typeof template === 'boolean' ? String(template) : expectString(template);
          checkTemplateEnv(source, unsetEnvNames(compileTemplate(source, 'header'), ctx.env));
          templates.push({ name, template: source });
        } catch (error) {
          if (!(error instanceof FieldError || error instanceof TemplateError)) throw error;
          issues.addIssue({ code: 'custom', path: [name], input: rawTemplate, message: error.message });
          ok = false;
        }
      }
      return ok ? { builtin: false, templates } : z.NEVER;
    })
    .prefault(false);

  const agent = z.strictObject({
    name: field((v) => notOnlyDots(expectNonEmptyString(v), 'agent name')).prefault(() => ctx.hostname),
    data_dir: filePath().prefault('/var/lib/logship'),
    shutdown_timeout: duration().prefault('30s'),
    max_open_files: integer(1, 1_000_000).prefault(1024),
    drain_on_stop: boolean().prefault(true),
  });

  const log = z.strictObject({
    level: choice(LOG_LEVELS).prefault('info'),
    format: choice(['json', 'pretty'] as const).prefault('json'),
  });

  const multiline = z.strictObject({
    start: field(regexSource),
    max_lines: integer(1, 1_000_000).prefault(500),
    timeout: duration().prefault('2s'),
  });

  const rotation = z.strictObject({
    close_renamed_after: duration().prefault('5m'),
    close_removed: boolean().prefault(true),
    close_removed_after: duration().prefault('5m'),
  });

  const input = z.strictObject({
    id: field((v) => {
      const id = expectNonEmptyString(v);
      if (!INPUT_ID.test(id)) throw new FieldError(`${describeValue(id)} may only contain A-Z a-z 0-9 . _ -`);
      return notOnlyDots(id, 'input id');
    }),
    paths: field((v) => {
      if (Array.isArray(v) && v.length === 0) throw new FieldError('must list at least one path');
      return stringList(v).map(resolvePath);
    }),
    // Not resolved: exclude globs are matched against full paths and are usually "*.gz".
    exclude: field((v) => (nullish(v) ? [] : stringList(v))).prefault([]),
    start_at: choice(['beginning', 'end'] as const).prefault('end'),
    ignore_older: duration().prefault('24h'),
    topic: topicTemplate,
    key: keyTemplate,
    format: choice(['raw', 'json'] as const).prefault('raw'),
    // Off by default: each header costs a malloc and a free per record even natively (see the
    // README, Configuration); the topic names the file and the json envelope carries host,
    // path and offset. The peers (Filebeat, rsyslog omkafka, kcat) add none by default either.
    headers,
    max_line_bytes: size(1, Number.MAX_SAFE_INTEGER).prefault('1MiB'),
    partial_line_timeout: duration().prefault('0'),
    encoding: field((v): FileEncoding => {
      const name = expectString(v).toLowerCase();
      const encoding = ENCODINGS[name];
      if (!encoding) throw new FieldError(`must be one of utf-8 | latin1 | utf-16le | utf-16be, got ${describeValue(v)}`);
      return encoding;
    }).prefault('utf-8'),
    multiline: optionalSection(multiline),
    rotation: section(rotation),
    fields: section(z.record(z.string(), scalar())),
    parser: choice(CONTAINER_PARSERS).prefault('none'),
    parse: choice(['none', 'json'] as const).prefault('none'),
    include_lines: regexList(),
    exclude_lines: regexList(),
  }).superRefine((i, issues) => {
    // Templates are valid on their own by now; what remains is whether this input can fill them.
    for (const key of ['topic', 'key'] as const) {
      const source = i[key];
      if (source === null) continue;
      for (const message of templateNeeds(compileTemplate(source, key), i)) {
        issues.addIssue({ code: 'custom', path: [key], input: source, message });
      }
    }
    for (const { name, template } of i.headers.templates) {
      for (const message of templateNeeds(compileTemplate(template, 'header'), i)) {
        issues.addIssue({ code: 'custom', path: ['headers', name], input: template, message });
      }
    }
  }).transform(({ headers: h, ...rest }) => ({ ...rest, headers: h.builtin, header_templates: h.templates }));

  const inputs = z
    .array(input)
    .min(1, { error: 'must list at least one input' })
    .superRefine(
      (items, issues) => {
        // Runs even when some inputs are invalid, so duplicates are reported alongside.
        if (!Array.isArray(items)) return;
        const firstIndexOf = new Map<string, number>();
        items.forEach((item: unknown, index) => {
          const id = typeof item === 'object' && item !== null ? plain((item as { id?: unknown }).id) : undefined;
          if (typeof id !== 'string') return;
          const first = firstIndexOf.get(id);
          if (first === undefined) firstIndexOf.set(id, index);
          else issues.addIssue({ code: 'custom', path: [index, 'id'], input: id, message: `duplicate input id "${id}" (also inputs[${first}])` });
        });
      },
      { when: () => true },
    );

  const tls = z
    .strictObject({
      enabled: boolean().prefault(false),
      ca_file: optionalFilePath(),
      cert_file: optionalFilePath(),
      key_file: optionalFilePath(),
    })
    .superRefine((t, issues) => {
      // Files of a disabled TLS section may well not exist (the example names some).
      if (!t.enabled) return;
      for (const key of ['ca_file', 'cert_file', 'key_file'] as const) {
        const file = t[key];
        const problem = file === null ? null : unreadableFile(file);
        if (problem) issues.addIssue({ code: 'custom', path: [key], input: file, message: problem });
      }
      if ((t.cert_file === null) !== (t.key_file === null)) {
        const missing = t.cert_file === null ? 'cert_file' : 'key_file';
        issues.addIssue({ code: 'custom', path: [missing], input: t, message: 'cert_file and key_file must be given together' });
      }
    });

  const sasl = z
    .strictObject({
      mechanism: choice(SASL_MECHANISMS),
      username: nonEmptyText(),
      password: optionalSecret(),
      password_file: field((v) => {
        if (nullish(v)) return null;
        const file = resolvePath(expectNonEmptyString(v));
        const problem = unreadableFile(file);
        if (problem) throw new FieldError(problem);
        return file;
      }).prefault(null),
    })
    .superRefine((s, issues) => {
      if (s.password === null && s.password_file === null) {
        issues.addIssue({ code: 'custom', input: s, message: 'needs password or password_file' });
      } else if (s.password !== null && s.password_file !== null) {
        issues.addIssue({ code: 'custom', path: ['password_file'], input: s.password_file, message: 'give password or password_file, not both' });
      }
    });

  const flush = z.strictObject({
    max_messages: integer(1, 1_000_000).prefault(10000),
    max_bytes: size(1, INT32_MAX).prefault('1MiB'),
    frequency: duration().prefault('5ms'),
  });

  const retries = z
    .strictObject({
      max: integer(0, INT32_MAX).prefault(INT32_MAX),
      backoff: duration().prefault('100ms'),
      backoff_max: duration().prefault('1s'),
    })
    .superRefine((r, issues) => {
      if (r.backoff_max < r.backoff) {
        issues.addIssue({ code: 'custom', path: ['backoff_max'], input: r.backoff_max, message: `(${r.backoff_max}ms) must not be less than retries.backoff (${r.backoff}ms)` });
      }
    });

  const kafka = z
    .strictObject({
      brokers: field(brokers),
      client_id: field((v) => (nullish(v) ? null : expectNonEmptyString(v))).prefault(null),
      acks: field(acks).prefault('all'),
      compression: choice(COMPRESSIONS).prefault('lz4'),
      compression_level: integer(-1, 12).prefault(-1),
      flush: section(flush),
      retries: section(retries),
      idempotence: boolean().prefault(true),
      // librdkafka's message.max.bytes accepts 1000 .. 1000000000.
      max_message_bytes: size(1000, 1_000_000_000).prefault(1_000_000),
      partitioner: choice(PARTITIONERS).prefault('consistent_random'),
      max_in_flight_bytes: size(1, Number.MAX_SAFE_INTEGER).prefault('16MiB'),
      topic_create: choice(['auto', 'never'] as const).prefault('auto'),
      dead_letter_topic: field(topicName).prefault(''),
      tls: section(tls),
      sasl: optionalSection(sasl),
      librdkafka: section(z.record(z.string(), scalar())),
    })
    .superRefine((k, issues) => {
      if (k.flush.max_bytes > k.max_in_flight_bytes) {
        issues.addIssue({
          code: 'custom',
          path: ['flush', 'max_bytes'],
          input: k.flush.max_bytes,
          message: `(${formatSize(k.flush.max_bytes)}) exceeds kafka.max_in_flight_bytes (${formatSize(k.max_in_flight_bytes)}): tailers would pause before a batch could fill`,
        });
      }
      if (k.idempotence && k.acks !== 'all') {
        issues.addIssue({ code: 'custom', path: ['acks'], input: k.acks, message: `${k.acks} is not allowed with idempotence: true (librdkafka requires acks: all)` });
      }
    });

  const registry = z.strictObject({
    flush_interval: duration().prefault('1s'),
    clean_after: duration().prefault('7d'),
  });

  const metrics = z.strictObject({
    listen: field(listenAddress).prefault('127.0.0.1:9464'),
  });

  return z
    .strictObject({
      agent: section(agent),
      log: section(log),
      inputs,
      kafka,
      registry: section(registry),
      metrics: section(metrics),
    })
    // The annotated return type is where the compiler proves the schema's output is the contract.
    .transform(
      (c): ParsedConfig => ({
        ...c,
        kafka: { ...c.kafka, client_id: c.kafka.client_id ?? `logship-${c.agent.name}` },
      }),
    );
}

export type AgentSchema = ReturnType<typeof buildAgentSchema>;
