// Reads the Prometheus text exposition format (version 0.0.4) — what prom-client writes on
// /metrics — into samples. For `logship top`, which reads a running agent through that endpoint
// alone. HELP/TYPE comments are skipped; timestamps after the value are accepted and ignored.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class ExpositionError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionError';
  }
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseLine(line, i + 1));
  }
  return samples;
}

function parseLine(line: string, lineNo: number): Sample {
  NAME.lastIndex = 0;
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new ExpositionError(`expected a metric name: ${JSON.stringify(line.slice(0, 80))}`, lineNo);
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      if (line[pos] === '}') {
        pos++;
        break;
      }
      LABEL_NAME.lastIndex = pos;
      const label = LABEL_NAME.exec(line)?.[0];
      if (label === undefined || line[pos + label.length] !== '=' || line[pos + label.length + 1] !== '"') {
        throw new ExpositionError(`expected label="value" at column ${pos + 1}`, lineNo);
      }
      pos += label.length + 2;
      let value = '';
      for (;;) {
        const c = line[pos++];
        if (c === undefined) throw new ExpositionError(`unterminated value of label ${label}`, lineNo);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e ?? ''}`;
        } else {
          value += c;
        }
      }
      labels[label] = value;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new ExpositionError(`expected , or } after label ${label}`, lineNo);
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  if (value === null || rest.length > 2) throw new ExpositionError(`expected a value after ${name}: ${JSON.stringify(line.slice(pos).trim())}`, lineNo);
  return { name, labels, value };
}

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case — prom-client writes "Nan". */
function parseValue(text: string): number | null {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}
