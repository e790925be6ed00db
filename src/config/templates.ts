// Topic and key templates: "logs.{input}.{file.stem}" compiled once at load, rendered per file
// (and per line when they use line variables).
// Variables:
//   per input/host:  {input} {host} {env.VAR}
//   per file:        {file.path} {file.name} {file.stem} {file.dir}
//                    {k8s.namespace} {k8s.pod} {k8s.container} {k8s.pod_uid} (from the path)
//   per line:        {stream} (with a container `parser`), {json.a.b} (with `parse: json`)
//   file.name = basename ("access.log"), file.stem = name without its last extension
//   ("access" for access.log, "app.log" for app.log.1; a dotfile like ".bashrc" keeps its
//   name), file.dir = the name of the directory holding the file ("nginx" for
//   /var/log/nginx/access.log; "" for a file directly under "/"). The directory's own name is
//   used rather than its full path because a topic built from a full path is mostly "_".
// Any variable may carry a default, shell style: {json.service:-unknown}. The default is used
// when the value is missing or empty (a line that is not JSON or lacks the field, a path that
// is not a Kubernetes one, an unset environment variable). Without a default a missing value
// renders "" — except {env.VAR}, whose unset variable is an error, as before defaults existed.
// Topic names are sanitised to Kafka's legal set [a-zA-Z0-9._-] and cut to 249 characters;
// the literal text of a topic template (defaults included) must already be legal. Key
// templates allow any text. Braces cannot be escaped: a literal "{" or "}" is never needed in
// a topic and is rare in a key.

import path from 'node:path';
import { editDistance } from './issues.js';

/** Topics are sanitised to Kafka's legal set; keys and header values may hold any text. */
export type TemplateKind = 'topic' | 'key' | 'header';

/** Kafka's limit on the length of a topic name. */
export const TOPIC_MAX_LENGTH = 249;

const FILE_VARIABLES = ['file.path', 'file.name', 'file.stem', 'file.dir'] as const;
const KUBERNETES_VARIABLES = ['k8s.namespace', 'k8s.pod', 'k8s.container', 'k8s.pod_uid'] as const;
type FileVariable = (typeof FILE_VARIABLES)[number];
export type KubernetesVariable = (typeof KUBERNETES_VARIABLES)[number];
type NamedVariable = 'input' | 'host' | 'stream' | FileVariable | KubernetesVariable;
const NAMED_VARIABLES: readonly NamedVariable[] = ['input', 'host', 'stream', ...FILE_VARIABLES, ...KUBERNETES_VARIABLES];

/** `fallback` is the text after ":-", or null when the variable has no default. */
export type TemplatePart =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'variable'; readonly name: NamedVariable; readonly fallback: string | null }
  | { readonly type: 'env'; readonly name: string; readonly fallback: string | null }
  | { readonly type: 'json'; readonly path: string; readonly fallback: string | null };

/** What a file's path says about its Kubernetes container (src/lines/kubernetes.ts). */
export interface KubernetesVars {
  namespace: string;
  pod: string;
  container: string;
  /** Absent from /var/log/containers names; known when the link's target is. */
  pod_uid: string | null;
}

/** Values fixed for the life of a followed file. */
export interface TemplateVars {
  input: string;
  host: string;
  file: { path: string; name: string; stem: string; dir: string };
  env: NodeJS.ProcessEnv;
  /** Kubernetes metadata of the file's path; absent or null when it has none. */
  k8s?: KubernetesVars | null;
}

/** Values of one line. */
export interface LineVars {
  /** "stdout" / "stderr" from a container parser; null when unknown (malformed line, no parser). */
  stream: string | null;
  /**
   * Values of the JSON fields named by the `jsonPaths` the template was bound with, in that
   * order (undefined: missing); null when the line is not JSON or the input does not parse it.
   */
  json: readonly (string | undefined)[] | null;
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

const KNOWN_VARIABLES =
  '{input} {host} {file.path} {file.name} {file.stem} {file.dir} {env.VAR} {stream} ' +
  '{k8s.namespace} {k8s.pod} {k8s.container} {k8s.pod_uid} {json.<path>}, each optionally {name:-default}';
const LEGAL_TOPIC_CHAR = /[a-zA-Z0-9._-]/;
const ILLEGAL_TOPIC_CHARS = /[^a-zA-Z0-9._-]/gu;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NO_LINE: LineVars = { stream: null, json: null };
const RENDERED_TOPICS_KEPT = 1024;

export class Template {
  /** True when rendering depends on the file, so one render per input is not enough. */
  readonly usesFile: boolean;
  /** Uses {k8s.*}. */
  readonly usesKubernetes: boolean;
  /** Uses {stream}. */
  readonly usesStream: boolean;
  /** Distinct paths of the {json.*} variables, dotted ("a.b"), in order of first use. */
  readonly jsonPaths: readonly string[];
  /** True when rendering depends on the line ({stream}, {json.*}): bind per file, render per line. */
  readonly usesLine: boolean;
  /** Names of the environment variables the template reads. */
  readonly envNames: readonly string[];
  /** Of those, the ones without a default: unset, they are an error. */
  readonly requiredEnvNames: readonly string[];

  constructor(
    readonly source: string,
    readonly kind: TemplateKind,
    readonly parts: readonly TemplatePart[],
  ) {
    const named = (prefix: string): boolean => parts.some((p) => p.type === 'variable' && p.name.startsWith(prefix));
    this.usesKubernetes = named('k8s.');
    this.usesFile = named('file.') || this.usesKubernetes;
    this.usesStream = named('stream');
    this.jsonPaths = [...new Set(parts.flatMap((p) => (p.type === 'json' ? [p.path] : [])))];
    this.usesLine = this.usesStream || this.jsonPaths.length > 0;
    this.envNames = parts.flatMap((p) => (p.type === 'env' ? [p.name] : []));
    this.requiredEnvNames = parts.flatMap((p) => (p.type === 'env' && p.fallback === null ? [p.name] : []));
  }

  /**
   * The text with variables filled in, unsanitised (use renderTopic for topics). Without
   * `line`, line variables render their defaults; `line.json` is in `this.jsonPaths` order.
   */
  render(vars: TemplateVars, line: LineVars = NO_LINE): string {
    return this.bind(vars).render(line);
  }

  /**
   * Fills in everything but the line variables, once per file. `jsonPaths`: the order of the
   * values in LineVars.json (an input's templates share one extraction per line); it must
   * hold every path of this template.
   */
  bind(vars: TemplateVars, jsonPaths: readonly string[] = this.jsonPaths): BoundTemplate {
    const bound: BoundPart[] = [];
    for (const part of this.parts) {
      let piece: BoundPart;
      if (part.type === 'json') {
        const index = jsonPaths.indexOf(part.path);
        if (index === -1) throw new RangeError(`json path ${part.path} of template "${this.source}" is not in the bound paths`);
        piece = { type: 'json', index, fallback: part.fallback ?? '' };
      } else if (part.type === 'variable' && part.name === 'stream') {
        piece = { type: 'stream', fallback: part.fallback ?? '' };
      } else {
        piece = this.fileLevelText(part, vars);
      }
      const last = bound[bound.length - 1];
      if (typeof piece === 'string' && typeof last === 'string') bound[bound.length - 1] = last + piece;
      else bound.push(piece);
    }
    return new BoundTemplate(this, bound, vars.file.path);
  }

  private fileLevelText(part: TemplatePart, vars: TemplateVars): string {
    switch (part.type) {
      case 'literal':
        return part.text;
      case 'env': {
        const value = vars.env[part.name];
        if (value === undefined && part.fallback === null) {
          throw new TemplateError(this.source, `{env.${part.name}}: environment variable ${part.name} is not set`);
        }
        return orDefault(value, part.fallback);
      }
      case 'variable':
        return orDefault(namedValue(part.name, vars), part.fallback);
      case 'json':
        throw new Error('unreachable: json parts are line parts');
    }
  }
}

function namedValue(name: NamedVariable, vars: TemplateVars): string | null | undefined {
  switch (name) {
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
    case 'k8s.namespace':
      return vars.k8s?.namespace;
    case 'k8s.pod':
      return vars.k8s?.pod;
    case 'k8s.container':
      return vars.k8s?.container;
    case 'k8s.pod_uid':
      return vars.k8s?.pod_uid;
    case 'stream':
      return null;
  }
}

function orDefault(value: string | null | undefined, fallback: string | null): string {
  return value === undefined || value === null || value === '' ? (fallback ?? '') : value;
}

/** A bound part: text, or a line variable with the text to use when the line lacks it. */
type BoundPart = string | { readonly type: 'stream'; readonly fallback: string } | { readonly type: 'json'; readonly index: number; readonly fallback: string };

/** A template with its file fixed: renders per line by concatenating a few strings. */
export class BoundTemplate {
  /** The rendering when the template has no line variables (the same for every line), else null. */
  readonly constant: string | null;
  /** Legal topics of recent renderings: lines route to a few topics, sanitising each once. */
  private readonly topics = new Map<string, string>();

  constructor(
    readonly template: Template,
    private readonly parts: readonly BoundPart[],
    private readonly filePath: string,
  ) {
    this.constant = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
  }

  render(line: LineVars): string {
    if (this.constant !== null) return this.constant;
    let out = '';
    for (const part of this.parts) {
      if (typeof part === 'string') out += part;
      else if (part.type === 'stream') out += line.stream || part.fallback;
      else out += line.json?.[part.index] || part.fallback;
    }
    return out;
  }

  /** A legal topic for `line` (see renderTopic). */
  renderTopic(line: LineVars): string {
    const rendered = this.render(line);
    // Lines route to a few topics: sanitising the same text again is wasted work. Bounded: a
    // field with a value per line (an id in the topic) starts over instead of growing.
    let topic = this.topics.get(rendered);
    if (topic === undefined) {
      topic = legalTopic(this.template, rendered, this.filePath);
      if (this.topics.size >= RENDERED_TOPICS_KEPT) this.topics.clear();
      this.topics.set(rendered, topic);
    }
    return topic;
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
      const part = parseVariable(source, source.slice(i + 1, close), i, kind);
      literalLength += part.fallback?.length ?? 0;
      parts.push(part);
      i = close + 1;
      continue;
    }
    if (ch === '}') {
      throw new TemplateError(source, `"}" without "{" at column ${i + 1} of template "${source}"`);
    }
    if (kind === 'topic') checkTopicCharacter(source, ch, i);
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

function checkTopicCharacter(source: string, ch: string, at: number): void {
  if (!LEGAL_TOPIC_CHAR.test(ch)) {
    throw new TemplateError(
      source,
      `illegal character ${JSON.stringify(ch)} at column ${at + 1} of topic template "${source}": ` +
        'a topic may only contain a-z A-Z 0-9 . _ -',
    );
  }
}

type VariablePart = Exclude<TemplatePart, { type: 'literal' }>;

function parseVariable(source: string, text: string, openAt: number, kind: TemplateKind): VariablePart {
  const separator = text.indexOf(':-');
  const name = separator === -1 ? text : text.slice(0, separator);
  const fallback = separator === -1 ? null : text.slice(separator + 2);
  if (fallback !== null && kind === 'topic') {
    const fallbackAt = openAt + 1 + separator + 2;
    for (let j = 0; j < fallback.length; j++) checkTopicCharacter(source, fallback[j]!, fallbackAt + j);
  }
  const named = NAMED_VARIABLES.find((v) => v === name);
  if (named) return { type: 'variable', name: named, fallback };
  if (name.startsWith('env.')) {
    const envName = name.slice('env.'.length);
    if (ENV_NAME.test(envName)) return { type: 'env', name: envName, fallback };
    throw new TemplateError(
      source,
      `{${name}} at column ${openAt + 1}: ${JSON.stringify(envName)} is not an environment variable name`,
    );
  }
  if (name.startsWith('json.')) {
    const fieldPath = name.slice('json.'.length);
    if (fieldPath.split('.').every((segment) => segment !== '')) return { type: 'json', path: fieldPath, fallback };
    throw new TemplateError(
      source,
      `{${name}} at column ${openAt + 1}: ${JSON.stringify(fieldPath)} is not a field path (names separated by ".", e.g. {json.http.status})`,
    );
  }
  throw new TemplateError(
    source,
    `unknown variable {${name}} at column ${openAt + 1} of template "${source}"${didYouMean(name)}; known: ${KNOWN_VARIABLES}`,
  );
}

/** " — did you mean {x}?" for a near miss of a known name (or of the json./env. prefixes). */
function didYouMean(name: string): string {
  const dot = name.indexOf('.');
  const rest = dot === -1 ? '' : name.slice(dot + 1);
  const candidates: string[] = [...NAMED_VARIABLES];
  if (rest !== '') candidates.push(`json.${rest}`, `env.${rest}`);
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const [n, c] = [name.toLowerCase(), candidate.toLowerCase()];
    // A longer or truncated name ("k8s.podname", "k8s.names") is as good as a typo.
    const d = n !== c && (c.startsWith(n) || n.startsWith(c)) ? 1 : editDistance(n, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance > 0 && bestDistance <= Math.max(2, Math.floor(best.length / 4)) ? ` — did you mean {${best}}?` : '';
}

/** Every character outside Kafka's legal set becomes "_". */
export function sanitiseTopic(text: string): string {
  return text.replace(ILLEGAL_TOPIC_CHARS, '_');
}

/** A legal Kafka topic name: sanitised, truncated to 249 characters; never "", "." or "..". */
export function renderTopic(t: Template, vars: TemplateVars, line: LineVars = NO_LINE): string {
  return legalTopic(t, t.render(vars, line), vars.file.path);
}

function legalTopic(t: Template, rendered: string, filePath: string): string {
  const topic = sanitiseTopic(rendered).slice(0, TOPIC_MAX_LENGTH);
  if (topic === '' || topic === '.' || topic === '..') {
    throw new TemplateError(
      t.source,
      `topic template "${t.source}" rendered ${JSON.stringify(topic)} for ${filePath}, which is not a legal topic name`,
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
 * name and env values are known (or constrained) at load; {file.dir} can be empty (a file
 * directly under "/"), {stream} and {k8s.*} can be missing, a {json.*} value can be missing
 * or any text at all, dots included — each renders its default then, if it has one. File
 * names that are themselves dots ("..log" has stem ".") are left to renderTopic's runtime
 * check: rejecting {file.stem} for such names would reject the most useful template there is.
 * A template passing this check renders a legal topic for every line of a file whose name does.
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
        'add literal text, e.g. "logs.{file.dir}", or a default, e.g. "{json.service:-unknown}"',
    );
  }
}

/** Length of the shortest dots-only text a part can render, or null if it never renders only dots. */
function shortestAllDotsRendering(part: TemplatePart, env: NodeJS.ProcessEnv): number | null {
  const dotsOnly = (text: string): number | null => (/^\.*$/.test(text) ? text.length : null);
  const shortest = (...lengths: (number | null)[]): number | null => {
    const possible = lengths.filter((n): n is number => n !== null);
    return possible.length === 0 ? null : Math.min(...possible);
  };
  switch (part.type) {
    case 'literal':
      return dotsOnly(part.text);
    case 'env':
      return dotsOnly(sanitiseTopic(orDefault(env[part.name], part.fallback)));
    case 'json':
      // Missing or "" renders the default; present, it may be "." or any run of dots.
      return shortest(dotsOnly(part.fallback ?? ''), 1);
    case 'variable':
      switch (part.name) {
        case 'file.dir':
        case 'stream':
        case 'k8s.namespace':
        case 'k8s.pod':
        case 'k8s.container':
        case 'k8s.pod_uid':
          // Can be empty or missing (never only dots: Kubernetes names are validated so).
          return dotsOnly(part.fallback ?? '');
        default:
          // Input ids and host names are validated to contain something other than dots.
          return null;
      }
  }
}

/** Names of environment variables the template reads without a default that are not set in `env`. */
export function unsetEnvNames(t: Template, env: NodeJS.ProcessEnv): string[] {
  return t.requiredEnvNames.filter((name) => env[name] === undefined);
}
