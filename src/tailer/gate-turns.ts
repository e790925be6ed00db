// Readers take turns through a closed FlowGate. A gate wakes everyone waiting on it as soon as
// it opens, and under sustained load it opens for a batch or two at a time (in-flight bytes
// hover at their limit): with hundreds of busy files, hundreds of readers woke for each
// opening, and all but the first found it closed again — that herd was a large share of the
// tailer's CPU. Here readers that find the gate closed line up, and one goes each time the
// gate is open (waiting a turn of the event loop between two, so that the batch of the first
// shows in the gate before the next goes). A file held back on its own (the gate open but not
// for it) waits on the gate directly: its turn would otherwise block the line.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FlowGate } from '../core/batch.js';
import type { SourceFile } from '../core/file.js';

export class GateTurns implements FlowGate {
  private readonly line: Array<() => void> = [];
  private letting = false;

  constructor(private readonly gate: FlowGate) {}

  isOpen(source?: SourceFile): boolean {
    return this.gate.isOpen(source);
  }

  waitOpen(source?: SourceFile): Promise<void> {
    if (this.gate.isOpen(source)) return Promise.resolve();
    if (this.gate.isOpen()) return this.gate.waitOpen(source);
    return new Promise((resolve) => {
      this.line.push(resolve);
      void this.letThrough();
    });
  }

  /** Readers waiting for their turn. */
  get waiting(): number {
    return this.line.length;
  }

  private async letThrough(): Promise<void> {
    if (this.letting) return;
    this.letting = true;
    try {
      while (this.line.length > 0) {
        await this.gate.waitOpen();
        this.line.shift()!();
        await nextTurn();
      }
    } finally {
      this.letting = false;
    }
  }
}
