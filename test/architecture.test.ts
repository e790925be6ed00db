// The import rule (README, Architecture): src/core is the shared vocabulary and imports nothing
// of ours; tailer, shipper and registry import core and config but never each other; agent.ts
// wires them. Checked on the import lines of every source file, so a stray import fails here
// rather than in a reviewer's head.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level module ('core', 'tailer', 'agent.ts', ...) of every relative import in `file`. */
function importedModules(file: string): Array<{ module: string; line: string }> {
  const text = readFileSync(file, 'utf8');
  const found: Array<{ module: string; line: string }> = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = relative(SRC, resolve(dirname(file), match[1]!));
    found.push({ module: target.split('/')[0]!, line: match[0].replace(/\s+/g, ' ') });
  }
  return found;
}

// src/lines (container formats, filters, JSON fields, Kubernetes paths) is a leaf like core:
// pure stages on bytes that the tailer runs and whose results the shipper routes by.
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core'],
  lines: ['config', 'lines'],
  tailer: ['core', 'config', 'lines', 'tailer'],
  shipper: ['core', 'config', 'lines', 'shipper'],
  registry: ['core', 'config', 'registry'],
};

test('core imports nothing of ours; lines only config; tailer and shipper only core, config, lines and themselves; registry only core, config and itself', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of sourceFiles(SRC)) {
    const owner = relative(SRC, file).split('/')[0]!;
    const allowed = ALLOWED[owner];
    if (allowed === undefined) continue;
    for (const { module, line } of importedModules(file)) {
      checked++;
      const target = module.replace(/\.js$/, '');
      if (!allowed.includes(target)) violations.push(`${relative(SRC, file)}: ${line}`);
    }
  }
  assert.ok(checked > 50, `only ${checked} imports found: is the parser still reading the sources?`);
  assert.deepEqual(violations, []);
});

test('the import parser sees what agent.ts wires (tailer, shipper, registry)', () => {
  const probe = importedModules(join(SRC, 'agent.ts')).map((i) => i.module);
  assert.ok(probe.includes('tailer') && probe.includes('shipper') && probe.includes('registry'), `agent.ts wires all three: ${probe.join(', ')}`);
});

/** Lines of each class in `file`: from its `class X` line to the closing brace at column 0. */
function classLengths(file: string): Array<{ name: string; lines: number }> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found: Array<{ name: string; lines: number }> = [];
  let open: { name: string; from: number } | null = null;
  lines.forEach((line, i) => {
    const start = /^(?:export )?(?:abstract )?class (\w+)/.exec(line);
    if (open === null && start !== null) open = { name: start[1]!, from: i };
    else if (open !== null && line.startsWith('}')) {
      found.push({ name: open.name, lines: i - open.from + 1 });
      open = null;
    }
  });
  return found;
}

test('no class in the tailer is over 300 lines (issue #11: small classes with one state each)', () => {
  const classes = sourceFiles(join(SRC, 'tailer')).flatMap((file) => classLengths(file).map((c) => ({ ...c, file: relative(SRC, file) })));
  assert.ok(classes.some((c) => c.name === 'Tailer') && classes.some((c) => c.name === 'FileReader'), `classes found: ${classes.map((c) => c.name).join(', ')}`);
  const over = classes.filter((c) => c.lines > 300).map((c) => `${c.file}: ${c.name} has ${c.lines} lines`);
  assert.deepEqual(over, []);
});
