// What every end-to-end test checks of records read back from Kafka: each line of the files
// exactly once, and in file order within each partition.

import assert from 'node:assert/strict';
import { byPartition, type KafkaRecord } from './cluster.js';

/** Each partition holds a subsequence of `lines` in file order; together, each line exactly once. */
export function assertShippedInOrder(records: KafkaRecord[], lines: Buffer[]): void {
  const index = new Map<string, number>();
  lines.forEach((l, i) => index.set(l.toString('latin1'), i));
  const seen = new Set<number>();
  for (const [partition, recs] of byPartition(records)) {
    let last = -1;
    for (const r of recs) {
      const i = index.get(r.value.toString('latin1'));
      assert.ok(i !== undefined, `partition ${partition} offset ${r.offset}: unexpected record ${JSON.stringify(r.value.toString())}`);
      assert.ok(!seen.has(i), `line ${i} delivered twice`);
      assert.ok(i > last, `partition ${partition}: line ${i} after line ${last} (out of file order)`);
      seen.add(i);
      last = i;
    }
  }
  assert.equal(seen.size, lines.length, `${lines.length - seen.size} lines missing`);
}
