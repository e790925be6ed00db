// Inputs with `parse: json` from a few lines of YAML, as the config loader makes them, for the
// routing tests that run FileRoute without the tailer.

import { parseConfigText } from '../../src/config/load.js';
import type { InputConfig } from '../../src/config/types.js';
import type { SourceFile } from '../../src/core/file.js';

/** The input `in` (`parse: json`, paths /var/log/*.log) with `yaml`'s keys added (topic, key, headers...). */
export function jsonInputOf(yaml: string): InputConfig {
  const text = `agent: {data_dir: /tmp/x}\ninputs:\n  - id: in\n    paths: ["/var/log/*.log"]\n    parse: json\n${yaml
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\nkafka: {brokers: ["k:9092"]}\n`;
  return parseConfigText(text, '/tmp/agent.yaml', {}).inputs[0]!;
}

export const JSON_SOURCE: SourceFile = { key: '1:2:1', identity: { dev: 1, ino: 2 }, input: 'in', path: '/var/log/app.log' };
