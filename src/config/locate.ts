// Maps a key path in the parsed config ("inputs", 0, "topic") back to a line:col in the YAML
// source, so that problems found on plain JS values can point at what the operator wrote.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { KeyPath } from './env.js';

export interface SourcePosition {
  line: number;
  col: number;
}

/** "kafka.flush.frequency", "inputs[0].topic", 'kafka.librdkafka["sasl.password"]'. */
export function formatKeyPath(keyPath: KeyPath): string {
  let out = '';
  for (const segment of keyPath) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

interface Located {
  keyNode: Node | null;
  valueNode: Node | null;
}

export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  position(offset: number): SourcePosition {
    const { line, col } = this.lineCounter.linePos(offset);
    // linePos reports line 0 before the first newline has been seen.
    return { line: Math.max(line, 1), col };
  }

  /** True if every key along the path is present in the source. */
  has(keyPath: KeyPath): boolean {
    return this.find(keyPath) !== null;
  }

  /**
   * Where to point for a problem at `keyPath`. When the path exists: its key (target 'key') or
   * its value (an empty value falls back to the key). When it does not (a missing key, a
   * default value): the nearest existing ancestor, by its key if it has one.
   */
  locate(keyPath: KeyPath, target: 'key' | 'value'): SourcePosition {
    const exact = this.find(keyPath);
    if (exact) {
      const node = target === 'value' && hasText(exact.valueNode) ? exact.valueNode : exact.keyNode ?? exact.valueNode;
      if (node?.range) return this.position(node.range[0]);
    }
    for (let depth = keyPath.length - 1; depth >= 0; depth--) {
      const ancestor = this.find(keyPath.slice(0, depth));
      const node = ancestor?.keyNode ?? ancestor?.valueNode;
      if (node?.range) return this.position(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  private find(keyPath: KeyPath): Located | null {
    let located: Located = { keyNode: null, valueNode: this.deref(this.doc.contents) };
    for (const segment of keyPath) {
      const container = located.valueNode;
      if (isMap(container)) {
        const pair = container.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return null;
        located = { keyNode: pair.key as Node, valueNode: this.deref(pair.value) };
      } else if (isSeq(container) && typeof segment === 'number') {
        const item = container.items[segment];
        if (item === undefined) return null;
        located = { keyNode: null, valueNode: this.deref(item) };
      } else {
        return null;
      }
    }
    return located;
  }

  private deref(value: unknown): Node | null {
    if (isAlias(value)) return (value.resolve(this.doc) as Node | undefined) ?? null;
    return isScalar(value) || isMap(value) || isSeq(value) ? value : null;
  }
}

function hasText(node: Node | null): node is Node {
  return !!node?.range && node.range[1] > node.range[0];
}
