// The validated, normalised shape of agent.yaml that the rest of the agent consumes.
// Keys keep their YAML spelling (snake_case) so that an operator, an error message and the
// code all say the same name. Normalisation: every duration is a number of milliseconds,
// every size a number of bytes, optional sections are filled with their defaults.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export type Partitioner = 'random' | 'consistent' | 'consistent_random' | 'murmur2' | 'murmur2_random';
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
/** Encodings a file may be written in; lines are shipped as UTF-8 whatever the source. */
export type FileEncoding = 'utf-8' | 'latin1' | 'utf-16le' | 'utf-16be';
/**
 * Container runtime log format of an input's files: `cri` (containerd, CRI-O), `docker`
 * (json-file), `auto` (decided per file from its first line), `none` (plain lines).
 */
export type ContainerParser = 'none' | 'cri' | 'docker' | 'auto';

export interface AgentSection {
  name: string;
  data_dir: string;
  /** ms */
  shutdown_timeout: number;
  max_open_files: number;
  /**
   * On SIGTERM keep reading what is already on disk until every file is drained (or
   * shutdown_timeout passes) before stopping: a sidecar's application writes its last lines
   * as the pod stops. false: stop reading at once (only in-flight lines are awaited).
   */
  drain_on_stop: boolean;
}

export interface LogSection {
  level: LogLevel;
  format: 'json' | 'pretty';
}

export interface MultilineConfig {
  /** Source of a regular expression: a line matching it starts a new event. */
  start: string;
  max_lines: number;
  /** ms */
  timeout: number;
}

export interface RotationConfig {
  /** ms */
  close_renamed_after: number;
  close_removed: boolean;
  /** ms */
  close_removed_after: number;
}

export interface HeaderTemplate {
  name: string;
  /** Template source; see src/config/templates.ts */
  template: string;
}

export interface InputConfig {
  id: string;
  paths: string[];
  exclude: string[];
  start_at: 'beginning' | 'end';
  /** ms; 0 = off */
  ignore_older: number;
  /** Template source, e.g. "logs.{input}.{file.stem}"; see src/config/templates.ts */
  topic: string;
  /** Template source, or null for records without a key. */
  key: string | null;
  format: 'raw' | 'json';
  /** `headers: true`: the built-in headers (host, path, offset; stream and k8s.* where known). */
  headers: boolean;
  /**
   * `headers: {name: template}`: one header per entry, in order, its value the template
   * rendered per record (like a key: any text; {json.*} {stream} {k8s.*} allowed). Empty with
   * `headers: true | false`; a map turns the built-in headers off. The loader always sets it;
   * optional for configs built in code (absent: none).
   */
  header_templates?: HeaderTemplate[];
  /** bytes */
  max_line_bytes: number;
  /** ms; 0 = a last line without newline waits for it */
  partial_line_timeout: number;
  encoding: FileEncoding;
  multiline: MultilineConfig | null;
  rotation: RotationConfig;
  fields: Record<string, string | number | boolean>;
  parser: ContainerParser;
  /** json: fields of a JSON line are available to templates as {json.a.b}. */
  parse: 'none' | 'json';
  /**
   * Sources of regular expressions (JavaScript syntax, checked at load): when non-empty, only
   * lines matching one of them are shipped. Applied after multiline and container parsing.
   */
  include_lines: string[];
  /** Sources of regular expressions: lines matching one are dropped (after include_lines). */
  exclude_lines: string[];
}

export interface TlsConfig {
  enabled: boolean;
  ca_file: string | null;
  cert_file: string | null;
  key_file: string | null;
}

export interface SaslConfig {
  mechanism: SaslMechanism;
  username: string;
  /** Exactly one of password / password_file is set after validation. */
  password: string | null;
  password_file: string | null;
}

export interface KafkaSection {
  /** "embedded" starts librdkafka's in-memory mock cluster inside the agent (demo only). */
  brokers: string[] | 'embedded';
  client_id: string;
  acks: 0 | 1 | 'all';
  compression: Compression;
  compression_level: number;
  flush: {
    max_messages: number;
    /** bytes */
    max_bytes: number;
    /** ms */
    frequency: number;
  };
  retries: {
    max: number;
    /** ms */
    backoff: number;
    /** ms */
    backoff_max: number;
  };
  idempotence: boolean;
  /** bytes */
  max_message_bytes: number;
  partitioner: Partitioner;
  /** bytes */
  max_in_flight_bytes: number;
  topic_create: 'auto' | 'never';
  /** Records Kafka refuses permanently go to this topic; null ("" in YAML) = off. */
  dead_letter_topic: string | null;
  tls: TlsConfig;
  sasl: SaslConfig | null;
  librdkafka: Record<string, string | number | boolean>;
}

export interface RegistrySection {
  /** ms */
  flush_interval: number;
  /** ms: entries of files not seen on disk for this long are dropped. */
  clean_after: number;
}

export interface MetricsSection {
  /** "host:port", or "" for off */
  listen: string;
}

export interface AgentConfig {
  /** Absolute path of the file this configuration was loaded from. */
  source: string;
  agent: AgentSection;
  log: LogSection;
  inputs: InputConfig[];
  kafka: KafkaSection;
  registry: RegistrySection;
  metrics: MetricsSection;
}
