// Loads agent.yaml into a validated AgentConfig, or throws one ConfigError listing every
// problem found, each as "file:line:col: key.path: what is wrong".
//
// Steps: mask ${...} references (env.ts) -> parse YAML keeping positions -> substitute per
// scalar -> validate and normalise with the zod schema (schema.ts) -> locate each issue in the
// source (locate.ts, issues.ts).
// Relative paths in the config (agent.data_dir, inputs[].paths, kafka.tls.*_file,
// kafka.sasl.password_file) are resolved against the directory of the config file, not the
// working directory, so the agent behaves the same whoever starts it from wherever.
// inputs[].exclude globs are left as written (they match full paths, e.g. "*.gz").

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { findPlaceholderCharacter, maskEnvReferences, substituteEnv, type KeyPath } from './env.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { captureKnownKeys, problemsFromIssues, type KnownKeys } from './issues.js';
import { formatKeyPath, YamlLocator } from './locate.js';
import { buildAgentSchema } from './schema.js';
import type { AgentConfig } from './types.js';

export { ConfigError, type ConfigProblem } from './errors.js';

export interface LoadOptions {
  /** Default of agent.name; os.hostname() when absent. */
  hostname?: string;
}

export async function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ file, message: `cannot read config file: ${reason}` }], { cause: error });
  }
  return parseConfigText(text, file, env, options);
}

/** Parses config text as if read from `file` (used for positions and relative paths). */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): AgentConfig {
  const source = path.resolve(file);
  const at = (line: number, col: number, message: string, keyPath?: KeyPath): ConfigProblem => ({
    file,
    line,
    col,
    ...(keyPath && keyPath.length > 0 ? { keyPath: formatKeyPath(keyPath) } : {}),
    message,
  });

  const reserved = findPlaceholderCharacter(text);
  if (reserved >= 0) {
    const before = text.slice(0, reserved).split('\n');
    const message = 'contains U+E000 or U+E001 (private-use characters), which are not supported';
    throw configError([at(before.length, before[before.length - 1]!.length + 1, message)]);
  }

  const masked = maskEnvReferences(text);
  const lineCounter = new LineCounter();
  // logLevel error: the yaml library would otherwise print its own unlocated warnings to stderr
  // ("Keys with collection values will be stringified", found by the config fuzz); such a key
  // is reported below as an unknown key, with its position.
  const doc = parseDocument(masked.text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const locator = new YamlLocator(doc, lineCounter);

  // Warnings too (e.g. an unresolved !tag): a config should mean exactly one thing.
  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = locator.position(e.pos[0]);
    return at(line, col, `YAML: ${e.message}`);
  });
  if (yamlProblems.length > 0) throw configError(yamlProblems);
  if (doc.contents === null) throw configError([at(1, 1, 'the file is empty: it needs at least "inputs" and "kafka"')]);

  const envProblems = substituteEnv(doc, masked, env);
  const problems = envProblems.map((p) => {
    const { line, col } = locator.position(p.offset);
    return at(line, col, p.message, p.keyPath);
  });

  const schema = buildAgentSchema({ baseDir: path.dirname(source), env, hostname: options.hostname ?? os.hostname() });
  const known: KnownKeys = new Map();
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // e.g. "Excessive alias count": a YAML bomb made of anchors
    throw configError([at(1, 1, `YAML: ${error instanceof Error ? error.message : String(error)}`)]);
  }
  const result = schema.safeParse(data, { reportInput: true, error: captureKnownKeys(known) });
  if (!result.success) {
    for (const issue of problemsFromIssues(result.error.issues, locator, known)) {
      // A value whose variable is unset is "", so problems with it only echo the env problem.
      if (envProblems.some((p) => isPrefix(p.keyPath, issue.keyPath) || isPrefix(issue.keyPath, p.keyPath))) continue;
      const { line, col } = locator.locate(issue.keyPath, issue.target);
      problems.push(at(line, col, issue.message, issue.keyPath));
    }
  }
  if (problems.length > 0) throw configError(problems);
  if (!result.success) throw new Error('unreachable: the schema failed without issues');

  const config: AgentConfig = { source, ...result.data };
  return config;
}

function isPrefix(prefix: KeyPath, keyPath: KeyPath): boolean {
  return prefix.length <= keyPath.length && prefix.every((segment, i) => segment === keyPath[i]);
}

/** One error for all problems, in file order. `problems` must not be empty. */
function configError(problems: ConfigProblem[]): ConfigError {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  return new ConfigError(sorted as [ConfigProblem, ...ConfigProblem[]]);
}

