// The native routing-field extractor (native/src/json_fields.c, through JsonFieldExtractor)
// against JSON.parse: for any line — valid JSON in every spelling (whitespace, escapes,
// duplicate keys, numbers in all forms, deep paths through arrays) and the same lines damaged
// by a byte or holding invalid UTF-8 — it returns exactly what JSON.parse and a lookup of the
// parsed object return (extractByParse), alone and with many lines in one buffer.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { packLines } from '../src/core/batch.js';
import { extractByParse, JsonFieldExtractor, useNativeJsonFields } from '../src/lines/json-fields.js';
import { InputLineCounters } from '../src/lines/stats.js';

/** Lines as the pipeline hands them to the extractor: one buffer and their bounds. */
function packed(lines: Buffer[]): [Buffer, Uint32Array] {
  const { data, bounds } = packLines(lines);
  return [data, bounds];
}

const KEYS = ['a', 'b', 'service', '0', '1', '01', '__proto__', 'sé', 'k"q', 'x\\y', 'tab\t', ''];

/** A JSON value as a tree the renderer spells in many ways. */
type Node = { kind: 'object'; members: Array<[string, Node]> } | { kind: 'array'; items: Node[] } | { kind: 'string'; text: string } | { kind: 'number'; text: string } | { kind: 'literal'; text: 'true' | 'false' | 'null' };

const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('0', '-0', '1e2', '1E+2', '2.50', '-0.0e-0', '1e400', '123456789012345678901234567890', '0.1e1'),
);
const textArb = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('cart', 'web', 'é\u2028', '\ud800', 'a"b', 'line\nbreak', '\u0000'));

const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    textArb.map((text): Node => ({ kind: 'string', text })),
    numberText.map((text): Node => ({ kind: 'number', text })),
    fc.constantFrom<Node>({ kind: 'literal', text: 'true' }, { kind: 'literal', text: 'false' }, { kind: 'literal', text: 'null' }),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('node')), { maxLength: 5 }).map((members): Node => ({ kind: 'object', members })),
    fc.array(tie('node'), { maxLength: 4 }).map((items): Node => ({ kind: 'array', items })),
  ),
}));

const topObject = fc.array(fc.tuple(fc.constantFrom(...KEYS), node), { maxLength: 6 }).map((members): Node => ({ kind: 'object', members }));

/** Spells `text` as a JSON string, escaping characters by `choices` (plain, \u form, short form). */
function spellString(text: string, choices: number[]): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = ch.charCodeAt(0);
    const choice = choices[i % choices.length]! % 3;
    if (code < 0x20 || ch === '"' || ch === '\\' || (code >= 0xd800 && code <= 0xdfff) || choice === 1) out += `\\u${code.toString(16).padStart(4, choice === 2 ? '0' : '0')}`;
    else if (choice === 2 && ch === '/') out += '\\/';
    else out += ch;
  }
  return `${out}"`;
}

function render(n: Node, choices: number[], at: { k: number }): string {
  const pick = (): number => choices[at.k++ % choices.length]!;
  const space = (): string => [' ', '', '\t', '\n', '\r\n ', ''][pick() % 6]!;
  switch (n.kind) {
    case 'string':
      return spellString(n.text, [pick(), pick(), pick()]);
    case 'number':
    case 'literal':
      return n.text;
    case 'array':
      return `[${space()}${n.items.map((item) => `${render(item, choices, at)}${space()}`).join(`,${space()}`)}]`;
    case 'object':
      return `{${space()}${n.members.map(([k, v]) => `${spellString(k, [pick(), pick()])}${space()}:${space()}${render(v, choices, at)}${space()}`).join(`,${space()}`)}}`;
  }
}

const pathArb = fc.array(fc.constantFrom(...KEYS.filter((k) => k !== ''), '2', '3'), { minLength: 1, maxLength: 3 }).map((segments) => segments.join('.'));

/** A byte-level damage: delete, insert or replace one byte (often making the line invalid). */
const damage = fc.option(fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(0x22, 0x2c, 0x7d, 0x5d, 0x5c, 0x20, 0xff, 0x00, 0x31, 0x7b, 0x3a)), { freq: 2 });

/** Lines in one buffer joined by newlines, and their (start, length) bounds, as the framer makes them. */
function oneBuffer(lines: readonly string[]): { all: Buffer; bounds: number[] } {
  const bounds: number[] = [];
  let at = 0;
  for (const line of lines) {
    const len = Buffer.byteLength(line);
    bounds.push(at, len);
    at += len + 1;
  }
  return { all: Buffer.from(lines.join('\n')), bounds };
}

function agree(line: Buffer, paths: string[]): void {
  const extracted = new JsonFieldExtractor(paths, new InputLineCounters()).extract(line);
  const parsed = extractByParse(line, paths.map((p) => p.split('.')));
  assert.deepEqual(extracted, parsed, `line ${JSON.stringify(line.toString('latin1'))} paths ${JSON.stringify(paths)}`);
}

/** Invalid UTF-8 sequences (a lone lead byte, a stray continuation, an overlong form, a surrogate's encoding, 0xff). */
const invalidUtf8 = fc.constantFrom([0xc3], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xe2, 0x82], [0xf0, 0x9f, 0x98]);

describe('the native JSON field extractor agrees with JSON.parse', () => {
  test('the addon is loaded (else these tests would compare JSON.parse with itself)', () => {
    const x = new JsonFieldExtractor(['a'], new InputLineCounters());
    assert.equal((x as unknown as { nativeSpec: unknown }).nativeSpec instanceof Uint8Array, true);
  });

  test('on generated lines, spelled every way and damaged by a byte', () => {
    fc.assert(
      fc.property(topObject, fc.array(fc.nat(), { minLength: 1, maxLength: 16 }), fc.array(pathArb, { minLength: 1, maxLength: 4 }), damage, (tree, choices, paths, hurt) => {
        let line = Buffer.from(render(tree, choices, { k: 0 }), 'utf8');
        if (hurt !== null) {
          const [where, how, byte] = hurt;
          const at = line.length === 0 ? 0 : where % line.length;
          const b = Buffer.from([byte]);
          line = how === 'delete' ? Buffer.concat([line.subarray(0, at), line.subarray(at + 1)]) : how === 'insert' ? Buffer.concat([line.subarray(0, at), b, line.subarray(at)]) : Buffer.concat([line.subarray(0, at), b, line.subarray(at + 1)]);
        }
        agree(line, paths);
      }),
      { numRuns: 3000 },
    );
  });

  test('on arbitrary JSON from fast-check and on top-level values that are not objects', () => {
    fc.assert(
      fc.property(fc.json(), fc.array(pathArb, { minLength: 1, maxLength: 3 }), (text, paths) => agree(Buffer.from(text), paths)),
      { numRuns: 1000 },
    );
  });

  test('cases written out: duplicates, arrays, escapes, invalid bytes, trailing garbage', () => {
    const cases: Array<[string | Buffer, string[]]> = [
      ['{"a":{"b":"x"},"a":5}', ['a.b', 'a']],
      ['{"a":{"b":"x"},"a":{"c":1}}', ['a.b', 'a.c']],
      ['{"a":[{"b":"first"},{"b":"second"}]}', ['a.1.b', 'a.01.b', 'a.2.b']],
      ['{"ser\\u0076ice":"cart","service":"web"}', ['service']],
      ['{"service":"ca\\u0072t\\ud800"}', ['service']],
      ['{"n":1.50,"m":-0,"e":1E400,"t":true,"z":null}', ['n', 'm', 'e', 't', 'z']],
      ['  {"a":"b"}  ', ['a']],
      ['{"a":"b"} x', ['a']],
      ['{"a":"b",}', ['a']],
      ['{"a":01}', ['a']],
      ['{"a":"tab\there"}', ['a']],
      ['\ufeff{"a":"b"}', ['a']],
      ['["a"]', ['0']],
      ['', ['a']],
      [Buffer.concat([Buffer.from('{"s\u00e9":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), ['sé']],
      [Buffer.concat([Buffer.from('{"a":"b"'), Buffer.from([0xff]), Buffer.from('}')]), ['a']],
      ['{"__proto__":"p","constructor":1}', ['__proto__', 'constructor', 'toString']],
    ];
    for (const [line, paths] of cases) agree(Buffer.isBuffer(line) ? line : Buffer.from(line), paths);
  });

  test('invalid UTF-8 inside strings and keys, and outside them', () => {
    fc.assert(
      fc.property(topObject, fc.array(fc.nat(), { minLength: 1, maxLength: 16 }), fc.array(pathArb, { minLength: 1, maxLength: 4 }), fc.nat(), invalidUtf8, (tree, choices, paths, where, bad) => {
        const line = Buffer.from(render(tree, choices, { k: 0 }), 'utf8');
        const at = line.length === 0 ? 0 : where % line.length;
        agree(Buffer.concat([line.subarray(0, at), Buffer.from(bad), line.subarray(at)]), paths);
      }),
      { numRuns: 2000 },
    );
    agree(Buffer.concat([Buffer.from('{"service":"a'), Buffer.from([0xc3]), Buffer.from('b","s\u00e9":1}')]), ['service', 'sé']);
  });

  test('many lines of one buffer in one call, values repeated (the cache) and distinct, counted like JSON.parse', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(topObject, fc.array(fc.nat(), { minLength: 1, maxLength: 8 })), { minLength: 1, maxLength: 30 }), fc.array(pathArb, { minLength: 1, maxLength: 4 }), (trees, paths) => {
        const texts = trees.map(([tree, choices]) => render(tree, choices, { k: 0 }).replace(/\n/g, ' '));
        // Repeated lines hit the cache; lines are bounds into one buffer, as the framer makes them.
        const order = [...texts, ...texts.reverse()];
        const { all, bounds } = oneBuffer(order);
        const nativeStats = new InputLineCounters();
        const got = new JsonFieldExtractor(paths, nativeStats).extractBounds(all, bounds);
        useNativeJsonFields(false);
        const parseStats = new InputLineCounters();
        const want = new JsonFieldExtractor(paths, parseStats).extractBounds(all, bounds);
        useNativeJsonFields(true);
        assert.deepEqual(got, want);
        assert.deepEqual(nativeStats.view.json, parseStats.view.json);
      }),
      { numRuns: 500 },
    );
  });

  test('the cache tells a number from a string of the same text, and a literal from its string', () => {
    const x = new JsonFieldExtractor(['v'], new InputLineCounters());
    const lines = ['{"v":"1.0"}', '{"v":1.0}', '{"v":"1.0"}', '{"v":"true"}', '{"v":true}', '{"v":1e2}', '{"v":"1e2"}'].map((t) => Buffer.from(t));
    assert.deepEqual(x.extractBounds(...packed(lines)), [['1.0'], ['1'], ['1.0'], ['true'], ['true'], ['100'], ['1e2']]);
  });

  test('a hash collision never returns another value: each hit is checked byte by byte', () => {
    // Many distinct values through one small cache: any hash collision would show as a wrong value.
    const x = new JsonFieldExtractor(['k'], new InputLineCounters());
    const lines = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`{"k":"v${i % 3000}"}`));
    const got = x.extractBounds(...packed(lines));
    for (let i = 0; i < lines.length; i++) assert.deepEqual(got[i], [`v${i % 3000}`]);
  });

  test('any depth: the scan keeps its own stack', () => {
    const deep = `{"a":${'['.repeat(200_000)}{"b":"in"}${']'.repeat(200_000)},"service":"cart"}`;
    assert.deepEqual(new JsonFieldExtractor(['service', 'a.0.0.b'], new InputLineCounters()).extract(Buffer.from(deep)), ['cart', undefined]);
    agree(Buffer.from(`{"a":${'['.repeat(50)}{"b":"in"}${']'.repeat(50)}}`), [`a${'.0'.repeat(50)}.b`]);
    agree(Buffer.from(`{"a":${'['.repeat(50)}{"b":"in"}${']'.repeat(49)}}`), ['a']);
    // Objects nested around the scan's depth limit (512), a string member innermost.
    for (const depth of [510, 511, 512, 513]) agree(Buffer.from(`{"s":"x",${'"o":{'.repeat(depth)}"k":"v"${'}'.repeat(depth)},"t":"y"}`), ['s', 't', 'o.o.k']);
  });
});

describe('the addon numbers distinct values (modes, json_fields.c)', () => {
  const require = createRequire(import.meta.url);
  require('@confluentinc/kafka-javascript');
  const addon = require('@logship/native') as { jsonFields(data: Uint8Array, bounds: Uint32Array, n: number, spec: Uint8Array, out: Int32Array, modes?: Uint8Array): void };
  const spec = (x: JsonFieldExtractor): Uint8Array => (x as unknown as { nativeSpec: Uint8Array }).nativeSpec;
  const VALUES = ['"cart"', '"c\\u0061rt"', '"caf\u00e9"', '1', '"1"', '1.0', 'true', '"true"', 'false', 'null', '[1]', '""'];

  test('by kind and bytes, in order of first appearance, up to 64; bounds mode answers alike without a hash', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...VALUES), fc.nat(80).map((k) => `"v${k}"`), fc.constant(null)), { minLength: 1, maxLength: 200 }), (values) => {
        const lines = values.map((v) => Buffer.from(v === null ? '{"other":1}' : `{"a":${v},"b":${v}}`));
        const [data, bounds] = packed(lines);
        const n = lines.length;
        const x = new JsonFieldExtractor(['a', 'b'], new InputLineCounters());
        const hashed = new Int32Array(n * 9);
        addon.jsonFields(data, bounds, n, spec(x), hashed);
        const moded = new Int32Array(n * 9);
        addon.jsonFields(data, bounds, n, spec(x), moded, Uint8Array.of(2, 1));
        const seen = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const at = 9 * i;
          for (let f = 0; f < 3; f++) assert.equal(moded[at + 1 + f], hashed[at + 1 + f], 'kind and bounds whatever the mode');
          assert.deepEqual([moded[at + 5], moded[at + 6], moded[at + 7], moded[at + 8]], [hashed[at + 5], hashed[at + 6], hashed[at + 7], 0], 'bounds mode: no hash');
          const kind = moded[at + 1]!;
          if (kind === 0) {
            assert.equal(moded[at + 4], -1, 'missing: -1');
            continue;
          }
          const key = `${kind}:${data.subarray(moded[at + 2]!, moded[at + 2]! + moded[at + 3]!).toString('hex')}`;
          const expected = seen.get(key) ?? (seen.size < 64 ? seen.size : -2);
          if (expected >= 0) seen.set(key, expected);
          assert.equal(moded[at + 4], expected, `line ${i} ${values[i]}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('one field, its values repeated across a read: each line its own value, the index agreeing, counted like JSON.parse', () => {
    // A single path's repeated values take the shared array of their first line (knownShared):
    // mixed with lines lacking it, not objects, escaped spellings, numbers and strings of the same text.
    const spellings = ['{"m":"GET"}', '{"m":"G\\u0045T"}', '{"m":"POST"}', '{"m":1}', '{"m":"1"}', '{"n":"GET"}', 'GET', '{"m":null}', '{"m":"GET"', '{"m":"caf\u00e9"}'];
    fc.assert(
      fc.property(fc.array(fc.nat(spellings.length - 1), { minLength: 1, maxLength: 60 }), (picks) => {
        const lines = picks.map((k) => spellings[k]!);
        const { all, bounds } = oneBuffer(lines);
        const nativeStats = new InputLineCounters();
        const got = new JsonFieldExtractor(['m'], nativeStats).extractWithBounds(all, Uint32Array.from(bounds), null);
        const parseStats = { notJson: 0, missingField: 0 };
        const want = lines.map((line) => extractByParse(Buffer.from(line), [['m']]));
        for (const values of want) {
          if (values === null) parseStats.notJson++;
          else if (values.includes(undefined)) parseStats.missingField++;
        }
        assert.deepEqual(got.json, want);
        assert.deepEqual(nativeStats.view.json, parseStats);
        assert.ok(got.jsonIndex !== null);
        lines.forEach((_, i) => assert.equal(got.jsonIndex!.values[got.jsonIndex!.ids[i]!], want[i]?.[0]));
      }),
      { numRuns: 300 },
    );
  });

  test('a topic field and a key field passed as bounds, values repeated across a read: each line its own values', () => {
    // The key as bounds where its bytes are its text (plain ASCII), else as text; the topic's
    // value numbered per read: both must agree with JSON.parse line by line.
    const topics = ['"GET"', '"G\\u0045T"', '"POST"', '1', 'null'];
    const keys = ['"abc"', '"a\\u0062c"', '""', '7', '"caf\u00e9"', null];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(topics.length - 1), fc.nat(keys.length - 1), fc.boolean()), { minLength: 1, maxLength: 60 }), (picks) => {
        const lines = picks.map(([t, k, broken]) => `{"m":${topics[t]!}${keys[k] === null ? '' : `,"k":${keys[k]}`}${broken ? '' : '}'}`);
        const { all, bounds } = oneBuffer(lines);
        const got = new JsonFieldExtractor(['m', 'k'], new InputLineCounters()).extractWithBounds(all, Uint32Array.from(bounds), 'k');
        lines.forEach((line, i) => {
          const want = extractByParse(Buffer.from(line), [['m'], ['k']]);
          const values = got.json[i]!;
          const start = got.jsonBounds!.bounds[2 * i]!;
          const key = start >= 0 ? all.toString('latin1', start, start + got.jsonBounds!.bounds[2 * i + 1]!) : values?.[1];
          assert.deepEqual(values === null ? null : [values[0], key], want, line);
          if (got.jsonIndex !== null) assert.equal(got.jsonIndex.values[got.jsonIndex.ids[i]!], want?.[0], line);
        });
      }),
      { numRuns: 300 },
    );
  });
});
