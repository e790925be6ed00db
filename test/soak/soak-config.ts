// The agent.yaml the soak runs: two inputs over two directories of writer files, one topic per
// file ("soak.{input}.{file.stem}", which keeps each partition well under what the mock cluster
// holds), rotated names excluded as in real logrotate setups, a small in-flight budget so that
// a stalled cluster closes the gate and the files become the buffer. Variants differ only in
// harmless ways (a `fields` value, log.level), for reloads.

import type { LogLevel } from '../../src/config/types.js';

export interface SoakInput {
  id: string;
  dir: string;
  /** Writer names; each writes `<dir>/<name>.log`. */
  writers: string[];
}

export interface SoakLayout {
  dataDir: string;
  inputs: SoakInput[];
  bootstrap: string;
  metricsPort: number;
}

export interface ConfigVariant {
  fieldsValue: string;
  logLevel: LogLevel;
}

export const BASE_VARIANT: ConfigVariant = { fieldsValue: 'v0', logLevel: 'info' };

export function topicOf(input: string, writer: string): string {
  return `soak.${input}.${writer}`;
}

export function soakYaml(layout: SoakLayout, variant: ConfigVariant): string {
  const inputs = layout.inputs.map(
    (input) => `  - id: ${input.id}
    paths: [${JSON.stringify(`${input.dir}/*.log*`)}]
    exclude: ["*.[0-9]"]
    start_at: beginning
    topic: "soak.{input}.{file.stem}"
    rotation: {close_renamed_after: 20s, close_removed_after: 5m}
    fields: {soak_variant: ${JSON.stringify(variant.fieldsValue)}}`,
  );
  return `# logship soak (test/soak): generated, rewritten on each reload
agent:
  name: soak
  data_dir: ${JSON.stringify(layout.dataDir)}
  shutdown_timeout: 30s
log:
  level: ${variant.logLevel}
inputs:
${inputs.join('\n')}
kafka:
  brokers: [${layout.bootstrap
    .split(',')
    .map((b) => JSON.stringify(b))
    .join(', ')}]
  max_in_flight_bytes: 32KiB
  flush: {max_bytes: 16KiB}
registry:
  flush_interval: 1s
metrics:
  listen: "127.0.0.1:${layout.metricsPort}"
`;
}
