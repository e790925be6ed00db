// Keys of the configuration contract that this build validates but does not apply yet.
//
// The container log parsers, line filters, JSON field routing and Kubernetes path metadata
// exist as tested stages (src/lines) and their keys are fully checked at load, but they are
// not wired into the reader pipeline and the shipper yet (kafka.dead_letter_topic is applied
// by the shipper and has left this list). An agent that accepted
// them would ship container lines with their wrapper, ship lines the operator asked to drop,
// and render `k8s.{k8s.namespace}` as `k8s..`: silently not what the file says. So loading a
// config for running (`logship run`, `logship check`, SIGHUP) refuses them by name, and each
// key leaves this list in the commit that wires it.

import type { ConfigProblem } from './errors.js';
import { compileTemplate } from './templates.js';
import type { AgentConfig } from './types.js';

const WHY = 'is validated but not applied by this build yet (it would be ignored, not what the file says); remove it until a release that applies it';

export function notYetApplied(config: AgentConfig, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const problem = (keyPath: string, what: string): void => {
    problems.push({ file, keyPath, message: `${what} ${WHY}` });
  };
  config.inputs.forEach((input, i) => {
    const at = `inputs[${i}]`;
    if (input.parser !== 'none') problem(`${at}.parser`, `parser: ${input.parser}`);
    if (input.parse !== 'none') problem(`${at}.parse`, `parse: ${input.parse}`);
    if (input.include_lines.length > 0) problem(`${at}.include_lines`, 'include_lines');
    if (input.exclude_lines.length > 0) problem(`${at}.exclude_lines`, 'exclude_lines');
    for (const key of ['topic', 'key'] as const) {
      const source = input[key];
      if (source === null) continue;
      const t = compileTemplate(source, key);
      const line = t.usesLine ? ['{stream} / {json.*}'] : [];
      const k8s = t.parts.some((p) => p.type === 'variable' && p.name.startsWith('k8s.')) ? ['{k8s.*}'] : [];
      for (const what of [...line, ...k8s]) problem(`${at}.${key}`, `the template variable ${what}`);
    }
  });
  return problems;
}
