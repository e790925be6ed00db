// Hosts librdkafka's built-in mock Kafka cluster in this process: a client created with
// `test.mock.num.brokers` serves that many brokers speaking the Kafka wire protocol on
// loopback TCP, and its metadata reveals their host:port list so any other client (our
// producer, kcat) can connect. Used for `brokers: embedded` (demo) and by the test cluster.
// Nothing is durable: the cluster lives in memory and trims each partition at ~5 MiB.

import { createRequire } from 'node:module';

// The binding's full client library is loaded only when a mock cluster is started (the demo's
// `brokers: embedded`, the tests): the agent's ordinary start does without it.
const require = createRequire(import.meta.url);

export interface MockCluster {
  /** Comma-separated host:port list of the mock brokers. */
  readonly bootstrap: string;
  stop(): Promise<void>;
}

export class MockClusterError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'MockClusterError';
  }
}

export async function startMockCluster(brokers = 3, timeoutMs = 10_000): Promise<MockCluster> {
  // The hosting client itself never produces: it only owns the mock brokers' threads.
  // test.mock.* properties are not in the binding's typed config; they are librdkafka's own.
  const conf: Record<string, string | number> = {
    'bootstrap.servers': '',
    'test.mock.num.brokers': brokers,
    'client.id': 'logship-mock-cluster',
    log_level: 0,
  };
  const Kafka = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');
  const host = new Kafka.Producer(conf);
  await new Promise<void>((resolve, reject) => {
    host.connect({ timeout: timeoutMs }, (err) => (err ? reject(new MockClusterError('mock cluster did not start', err)) : resolve()));
  });
  const bootstrap = await new Promise<string>((resolve, reject) => {
    host.getMetadata({ timeout: timeoutMs }, (err, md) => {
      if (err || !md) return reject(new MockClusterError('mock cluster returned no metadata', err));
      resolve(md.brokers.map((b) => `${b.host}:${b.port}`).join(','));
    });
  });
  return {
    bootstrap,
    stop: () =>
      new Promise<void>((resolve) => {
        host.disconnect(timeoutMs, () => resolve());
      }),
  };
}
