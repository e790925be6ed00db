// Child process hosting the test Kafka cluster (librdkafka mock brokers). Prints one JSON line
// {"bootstrap": "..."} on stdout once the brokers listen, then lives until SIGTERM/stdin EOF.
// Running it in its own process lets tests freeze the "brokers" with SIGSTOP/SIGCONT.

import { startMockCluster } from '../../src/shipper/mock-cluster.js';

const brokers = Number(process.argv[2] ?? '3');
const cluster = await startMockCluster(brokers);
process.stdout.write(JSON.stringify({ bootstrap: cluster.bootstrap }) + '\n');
const keepAlive = setInterval(() => undefined, 1 << 30);
const shutdown = (): void => {
  clearInterval(keepAlive);
  void cluster.stop().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
