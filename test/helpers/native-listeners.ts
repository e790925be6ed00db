// Listeners for tests of the native producer itself (no shipper around it).

import type { DeliveryOutcomes, ProducerListener } from '../../src/shipper/native-producer.js';

/** A listener that ignores everything. */
export const silent: ProducerListener = { outcomes: () => undefined, log: () => undefined, error: () => undefined, fatal: () => undefined, stats: () => undefined };

/** A listener that resolves once `n` records are acknowledged (rejects on a failure). */
export function acknowledging(n: number): { listener: ProducerListener; done: Promise<void> } {
  let acked = 0;
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  // The producer's hand-over does not keep the process alive (an idle agent must be able to exit).
  const alive = setInterval(() => undefined, 1000);
  const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej))).finally(() => clearInterval(alive));
  const listener: ProducerListener = {
    ...silent,
    outcomes: (o: DeliveryOutcomes) => {
      for (let k = 0; k < o.entryCount; k++) {
        const row = o.entries.subarray(k * 5, k * 5 + 5);
        if (row[2]! > 0 || row[3]! > 0) reject(new Error(`records failed: ${row.join(',')}`));
        acked += row[1]!;
      }
      if (acked >= n) resolve();
    },
  };
  return { listener, done };
}
