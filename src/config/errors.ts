// The error every config problem ends up in: one ConfigError listing all problems found,
// each located as "file:line:col: key.path: what is wrong" so an operator can fix them in one go.

export interface ConfigProblem {
  /** The config file as the operator named it. */
  file: string;
  /** 1-based; absent when the problem is not in the text (e.g. the file cannot be read). */
  line?: number;
  col?: number;
  /** "kafka.flush.frequency", "inputs[0].topic"; absent for whole-file problems. */
  keyPath?: string;
  /** What is wrong, without the location prefix. */
  message: string;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.col ?? 1}`;
  // Messages quote values (a template, a regex, a path), which may hold a newline from ${VAR}:
  // escaped, so every line of the error still starts with its location.
  const message = p.message.replace(CONTROL_CHARACTERS, (c) => JSON.stringify(c).slice(1, -1));
  return p.keyPath ? `${where}: ${p.keyPath}: ${message}` : `${where}: ${message}`;
}

export class ConfigError extends Error {
  readonly file: string;
  /** Location of the first problem (problems are sorted by position). */
  readonly line?: number;
  readonly col?: number;
  readonly keyPath?: string;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly [ConfigProblem, ...ConfigProblem[]], options?: { cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), options);
    this.name = 'ConfigError';
    const first = problems[0];
    this.file = first.file;
    this.problems = problems;
    if (first.line !== undefined) this.line = first.line;
    if (first.col !== undefined) this.col = first.col;
    if (first.keyPath !== undefined) this.keyPath = first.keyPath;
  }
}
