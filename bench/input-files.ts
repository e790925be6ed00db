// Pre-written input files shared by the scenarios of one bench run: each (line count, line
// size) is generated once and read by the agent and by kcat alike.

import { join } from 'node:path';
import { writeLinesFile } from './log-lines.js';

export interface InputFile {
  path: string;
  lines: number;
  /** Payload bytes per line, without the newline. */
  lineBytes: number;
  /** File size: lines * (lineBytes + 1). */
  bytes: number;
}

export class InputFiles {
  private readonly made = new Map<string, InputFile>();

  constructor(private readonly dir: string) {}

  get(lines: number, lineBytes: number): InputFile {
    const name = `lines-${lines}x${lineBytes}.log`;
    let file = this.made.get(name);
    if (!file) {
      const path = join(this.dir, name);
      file = { path, lines, lineBytes, bytes: writeLinesFile(path, lines, lineBytes) };
      this.made.set(name, file);
    }
    return file;
  }
}
