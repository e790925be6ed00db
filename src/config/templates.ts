// Topic and key templates: "logs.{input}.{file.stem}" compiled once at load, rendered per file.
// Variables: {input} {host} {file.path} {file.name} {file.stem} {file.dir} {env.VAR}.
//   file.name = basename ("access.log"), file.stem = name without its last extension
//   ("access" for access.log, "app.log" for app.log.1; a dotfile like ".bashrc" keeps its
//   name), file.dir = the name of the directory holding the file ("nginx" for
//   /var/log/nginx/access.log; "" for a file directly under "/"). The directory's own name is
//   used rather than its full path because a topic built from a full path is mostly "_".
// Topic names are sanitised to Kafka's legal set [a-zA-Z0-9._-] and cut to 249 characters;
// the literal text of a topic template must already be legal. Key templates allow any text.
// Braces cannot be escaped: a literal "{" or "}" is never needed in a topic and is rare in a key.

import path from 'node:path';

export type TemplateKind = 'topic' | 'key';

/** Kafka's limit on the length of a topic name. */
export const TOPIC_MAX_LENGTH = 249;

const FILE_VARIABLES = ['file.path', 'file.name', 'file.stem', 'file.dir'] as const;
type FileVariable = (typeof FILE_VARIABLES)[number];
type NamedVariable = 'input' | 'host' | FileVariable;

export type TemplatePart =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'variable'; readonly name: NamedVariable }
  | { readonly type: 'env'; readonly name: string };

export interface TemplateVars {
  input: string;
  host: string;
  file: { path: string; name: string; stem: string; dir: string };
  env: NodeJS.ProcessEnv;
}

export class TemplateError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

const KNOWN_VARIABLES = '{input} {host} {file.path} {file.name} {file.stem} {file.dir} {env.VAR}';
const LEGAL_TOPIC_CHAR = /[a-zA-Z0-9._-]/;
const ILLEGAL_TOPIC_CHARS = /[^a-zA-Z0-9._-]/gu;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Template {
  /** True when rendering depends on the file, so one render per input is not enough. */
  readonly usesFile: boolean;
  /** Names of the environment variables the template reads. */
  readonly envNames: readonly string[];

  constructor(
    readonly source: string,
    readonly kind: TemplateKind,
    readonly parts: readonly TemplatePart[],
  ) {
    this.usesFile = parts.some((p) => p.type === 'variable' && p.name.startsWith('file.'));
    this.envNames = parts.flatMap((p) => (p.type === 'env' ? [p.name] : []));
  }

  /** The text with variables filled in, unsanitised (use renderTopic for topics). */
  render(vars: TemplateVars): string {
    let out = '';
    for (const part of this.parts) out += this.renderPart(part, vars);
    return out;
  }

  private renderPart(part: TemplatePart, vars: TemplateVars): string {
    switch (part.type) {
      case 'literal':
        return part.text;
      case 'env': {
        const value = vars.env[part.name];
        if (value === undefined) {
          throw new TemplateError(this.source, `{env.${part.name}}: environment variable ${part.name} is not set`);
        }
        return value;
      }
      case 'variable':
        switch (part.name) {
          case 'input':
            return vars.input;
          case 'host':
            return vars.host;
          case 'file.path':
            return vars.file.path;
          case 'file.name':
            return vars.file.name;
          case 'file.stem':
            return vars.file.stem;
          case 'file.dir':
            return vars.file.dir;
        }
    }
  }
}

/** Parses a template; throws TemplateError saying what is wrong and where (1-based column). */
export function compileTemplate(source: string, kind: TemplateKind): Template {
  const parts: TemplatePart[] = [];
  let literal = '';
  let literalLength = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '{') {
      const close = source.indexOf('}', i + 1);
      const nextOpen = source.indexOf('{', i + 1);
      if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
        throw new TemplateError(source, `unclosed "{" at column ${i + 1} of template "${source}"`);
      }
      if (literal) parts.push({ type: 'literal', text: literal });
      literal = '';
      parts.push(parseVariable(source, source.slice(i + 1, close), i));
      i = close + 1;
      continue;
    }
    if (ch === '}') {
      throw new TemplateError(source, `"}" without "{" at column ${i + 1} of template "${source}"`);
    }
    if (kind === 'topic' && !LEGAL_TOPIC_CHAR.test(ch)) {
      throw new TemplateError(
        source,
        `illegal character ${JSON.stringify(ch)} at column ${i + 1} of topic template "${source}": ` +
          'a topic may only contain a-z A-Z 0-9 . _ -',
      );
    }
    literal += ch;
    literalLength += 1;
    i += 1;
  }
  if (literal) parts.push({ type: 'literal', text: literal });
  if (kind === 'topic' && literalLength > TOPIC_MAX_LENGTH) {
    throw new TemplateError(
      source,
      `the literal text of topic template is ${literalLength} characters; a topic is at most ${TOPIC_MAX_LENGTH}`,
    );
  }
  return new Template(source, kind, parts);
}

function parseVariable(source: string, name: string, openAt: number): TemplatePart {
  if (name === 'input' || name === 'host') return { type: 'variable', name };
  const fileVariable = FILE_VARIABLES.find((v) => v === name);
  if (fileVariable) return { type: 'variable', name: fileVariable };
  if (name.startsWith('env.')) {
    const envName = name.slice('env.'.length);
    if (ENV_NAME.test(envName)) return { type: 'env', name: envName };
    throw new TemplateError(
      source,
      `{${name}} at column ${openAt + 1}: ${JSON.stringify(envName)} is not an environment variable name`,
    );
  }
  throw new TemplateError(
    source,
    `unknown variable {${name}} at column ${openAt + 1} of template "${source}"; known: ${KNOWN_VARIABLES}`,
  );
}

/** Every character outside Kafka's legal set becomes "_". */
export function sanitiseTopic(text: string): string {
  return text.replace(ILLEGAL_TOPIC_CHARS, '_');
}

/** A legal Kafka topic name: sanitised, truncated to 249 characters; never "", "." or "..". */
export function renderTopic(t: Template, vars: TemplateVars): string {
  const topic = sanitiseTopic(t.render(vars)).slice(0, TOPIC_MAX_LENGTH);
  if (topic === '' || topic === '.' || topic === '..') {
    throw new TemplateError(
      t.source,
      `topic template "${t.source}" rendered ${JSON.stringify(topic)} for ${vars.file.path}, which is not a legal topic name`,
    );
  }
  return topic;
}

export function fileVars(filePath: string): TemplateVars['file'] {
  return {
    path: filePath,
    name: path.basename(filePath),
    stem: path.parse(filePath).name,
    dir: path.basename(path.dirname(filePath)),
  };
}

/**
 * Load-time check that a topic template cannot render "", "." or "..". Input ids, the host
 * name and env values are known (or constrained) at load; of the file variables only
 * {file.dir} can be empty (a file directly under "/"). File names that are themselves dots
 * ("..log" has stem ".") are left to renderTopic's runtime check: rejecting {file.stem} for
 * such names would reject the most useful template there is.
 */
export function checkTopicCanBeEmpty(t: Template, env: NodeJS.ProcessEnv): void {
  let shortestAllDots = 0;
  for (const part of t.parts) {
    const dots = shortestAllDotsRendering(part, env);
    if (dots === null) return;
    shortestAllDots += dots;
  }
  if (shortestAllDots <= 2) {
    const example = '.'.repeat(shortestAllDots);
    throw new TemplateError(
      t.source,
      `topic template "${t.source}" can render ${JSON.stringify(example)}, which is not a legal topic name; ` +
        'add literal text, e.g. "logs.{file.dir}"',
    );
  }
}

/** Length of the shortest dots-only text a part can render, or null if it never renders only dots. */
function shortestAllDotsRendering(part: TemplatePart, env: NodeJS.ProcessEnv): number | null {
  const dotsOnly = (text: string): number | null => (/^\.*$/.test(text) ? text.length : null);
  switch (part.type) {
    case 'literal':
      return dotsOnly(part.text);
    case 'env':
      return dotsOnly(sanitiseTopic(env[part.name] ?? ''));
    case 'variable':
      // Input ids and host names are validated to contain something other than dots.
      return part.name === 'file.dir' ? 0 : null;
  }
}

/** Names of environment variables the template reads that are not set in `env`. */
export function unsetEnvNames(t: Template, env: NodeJS.ProcessEnv): string[] {
  return t.envNames.filter((name) => env[name] === undefined);
}
