// ${VAR} and ${VAR:-default} substitution in agent.yaml, done per YAML scalar.
//
// Why per scalar and not on the raw text: a value such as "a: b" or one with a newline would
// otherwise be parsed as YAML (injection), and positions in error messages would drift. But
// substituting only after parsing breaks on `brokers: [${BROKERS}]`, where "{" is YAML flow
// syntax. So it is done in two steps:
//   1. maskEnvReferences: every "${...}" and "$${" in the text is replaced by a run of
//      private-use characters of the SAME length (U+E000 then U+E001...). These are plain
//      YAML text in any context, and offsets in the masked text equal offsets in the
//      original, so the yaml package's positions point into the file the operator wrote.
//   2. substituteEnv: after parsing, each scalar whose source range holds references gets
//      its placeholder runs replaced, in order, by the values. A value node becomes a
//      `Substituted` (so the schema knows "10000" came from the environment and may be read
//      as a number); a key becomes a plain string.
// "${" in comments is masked too, and simply never looked at.
// Only "${NAME}" and "${NAME:-default}" are recognised; "$1" or "$foo" stay as written;
// "$${" is a literal "${". Any other "${..." in a value is an error rather than passed on.

import { isPair, isScalar, isSeq, visit, type Document, type Node, type Pair } from 'yaml';

/** A scalar value that came (at least partly) from an environment substitution. */
export class Substituted {
  constructor(readonly text: string) {}
}

export type KeyPath = readonly (string | number)[];

export type EnvReference =
  | { readonly kind: 'variable'; readonly offset: number; readonly name: string; readonly fallback: string | undefined }
  | { readonly kind: 'escape'; readonly offset: number }
  | { readonly kind: 'malformed'; readonly offset: number; readonly text: string };

export interface MaskedSource {
  /** The source with every reference replaced by a placeholder of equal length. */
  text: string;
  /** References in order of offset. */
  refs: EnvReference[];
}

/** A substitution that could not be made; `offset` is in the original text. */
export interface EnvProblem {
  offset: number;
  keyPath: KeyPath;
  message: string;
}

const PLACEHOLDER_START = '\uE000';
const PLACEHOLDER_FILL = '\uE001';
const PLACEHOLDER_RUN = /\uE000\uE001*/g;
const PLACEHOLDER_CHAR = /[\uE000\uE001]/;
// "$${", or "${NAME}" / "${NAME:-default}", or any other "${" (malformed, only "${" is masked so
// that what follows, e.g. a closing quote, still reads as YAML).
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}\r\n]*))?\}|\$\{/g;

export function maskEnvReferences(source: string): MaskedSource {
  const refs: EnvReference[] = [];
  const text = source.replace(REFERENCE, (match: string, name: string | undefined, fallback: string | undefined, offset: number) => {
    refs.push(classify(match, name, fallback, offset));
    return PLACEHOLDER_START + PLACEHOLDER_FILL.repeat(match.length - 1);
  });
  return { text, refs };
}

function classify(match: string, name: string | undefined, fallback: string | undefined, offset: number): EnvReference {
  if (match === '$${') return { kind: 'escape', offset };
  // Nested references are not supported; better said than silently half-substituted.
  if (name === undefined || fallback?.includes('${')) return { kind: 'malformed', offset, text: match };
  return { kind: 'variable', offset, name, fallback };
}

/** Offset of a character the masking relies on being absent from real config text, or -1. */
export function findPlaceholderCharacter(source: string): number {
  const found = PLACEHOLDER_CHAR.exec(source);
  return found ? found.index : -1;
}

/**
 * Replaces placeholders in every scalar of `doc` (parsed from `masked.text`) with values from
 * `env`. An unset variable without default becomes "" and is reported, so parsing can go on
 * and report other problems too.
 */
export function substituteEnv(doc: Document, masked: MaskedSource, env: NodeJS.ProcessEnv): EnvProblem[] {
  const problems: EnvProblem[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (typeof node.value !== 'string' || !PLACEHOLDER_CHAR.test(node.value) || !node.range) return;
      const [start, end] = node.range;
      const refs = masked.refs.filter((r) => r.offset >= start && r.offset < end);
      const keyPath = keyPathOf(ancestors, node);
      const runs = node.value.match(PLACEHOLDER_RUN) ?? [];
      if (runs.length !== refs.length) {
        // Only possible if the text spells U+E000 through a "\uE000" escape.
        problems.push({ offset: start, keyPath, message: 'cannot substitute environment variables in this value' });
        return;
      }
      let index = 0;
      const text = node.value.replace(PLACEHOLDER_RUN, () => {
        const ref = refs[index++]!;
        const { value, problem } = resolve(ref, env);
        if (problem) problems.push({ offset: ref.offset, keyPath, message: problem });
        return value;
      });
      node.value = key === 'key' ? text : new Substituted(text);
    },
  });
  return problems;
}

function resolve(ref: EnvReference, env: NodeJS.ProcessEnv): { value: string; problem?: string } {
  switch (ref.kind) {
    case 'escape':
      return { value: '${' };
    case 'malformed':
      return {
        value: '',
        problem:
          `${JSON.stringify(ref.text)} is not a variable reference: write \${VAR} or \${VAR:-default} ` +
          '(or $${ for a literal "${")',
      };
    case 'variable': {
      const value = env[ref.name];
      if (value !== undefined) return { value };
      if (ref.fallback !== undefined) return { value: ref.fallback };
      return {
        value: '',
        problem: `environment variable ${ref.name} is not set (give a default with \${${ref.name}:-value})`,
      };
    }
  }
}

/** The key path of `node` from the visitor's ancestor list (Document, maps, pairs, seqs). */
export function keyPathOf(ancestors: readonly unknown[], node: Node): KeyPath {
  const keyPath: (string | number)[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const ancestor = ancestors[i];
    const child = i + 1 < ancestors.length ? ancestors[i + 1] : node;
    if (isPair(ancestor)) {
      keyPath.push(pairKeyName(ancestor));
    } else if (isSeq(ancestor)) {
      keyPath.push(ancestor.items.indexOf(child as Node));
    }
  }
  return keyPath;
}

function pairKeyName(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}
