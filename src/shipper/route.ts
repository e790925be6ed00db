// FileRoute: everything the shipper derives once per followed file rather than once per line:
// the rendered topic and key, the static parts of headers and of the JSON envelope. Building a record for a line is then a few concatenations at most.

import type { InputConfig } from '../config/types.js';
import { compileTemplate, fileVars, renderTopic, type Template } from '../config/templates.js';
import type { SourceFile } from '../core/file.js';
import type { LineBatch } from '../core/batch.js';

export type RecordHeaders = Array<{ [key: string]: string | Buffer }>;

/** Compiled templates of one input, shared by all its files. */
export interface InputRoutePlan {
  input: InputConfig;
  topic: Template;
  key: Template | null;
}

export function planInput(input: InputConfig): InputRoutePlan {
  return { input, topic: compileTemplate(input.topic, 'topic'), key: input.key === null ? null : compileTemplate(input.key, 'key') };
}

export class FileRoute {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly input: InputConfig;
  /** ms since epoch of the last batch shipped; idle routes are dropped and rebuilt on demand. */
  lastUsed = 0;
  /** Consecutive failed attempts of this file's oldest failing ticket (for backoff and logs). */
  failures = 0;
  lastErrorLogAt = 0;
  private readonly hostHeader: { host: string };
  private readonly pathHeader: { path: string };
  private readonly jsonHead: string;
  private readonly jsonTail: string;

  constructor(
    readonly source: SourceFile,
    plan: InputRoutePlan,
    readonly host: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.input = plan.input;
    const vars = { input: source.input, host, file: fileVars(source.path), env };
    this.topic = renderTopic(plan.topic, vars);
    this.key = plan.key === null ? null : Buffer.from(plan.key.render(vars));
    this.hostHeader = { host };
    this.pathHeader = { path: source.path };
    // The envelope's static members are serialised once; per line only the timestamp,
    // offset and message are added. Configured fields never replace the envelope's own.
    const reserved = new Set(['@timestamp', 'host', 'input', 'path', 'offset', 'message']);
    const extra = Object.entries(this.input.fields).filter(([k]) => !reserved.has(k));
    this.jsonHead = `,"host":${JSON.stringify(host)},"input":${JSON.stringify(source.input)},"path":${JSON.stringify(source.path)},"offset":`;
    this.jsonTail = extra.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('') + '}';
  }

  /** The record value for line i of a batch. */
  value(batch: LineBatch, i: number, timestampIso: string): Buffer {
    const line = batch.lines[i]!;
    if (this.input.format === 'raw') return line;
    const start = i === 0 ? batch.startOffset : batch.ends[i - 1]!;
    return Buffer.from(`{"@timestamp":"${timestampIso}"${this.jsonHead}${start},"message":${JSON.stringify(line.toString('utf8'))}${this.jsonTail}`);
  }

  /** Record headers for line i, or undefined when the input has headers off. */
  headers(batch: LineBatch, i: number): RecordHeaders | undefined {
    if (!this.input.headers) return undefined;
    const start = i === 0 ? batch.startOffset : batch.ends[i - 1]!;
    return [this.hostHeader, this.pathHeader, { offset: String(start) }];
  }
}
