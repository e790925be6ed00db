// The two things the hot start needs from @confluentinc/kafka-javascript, without the package's
// JavaScript client library (producer, consumer, admin, the KafkaJS layer and its
// dependencies: ~30 ms of CPU at every start): its native module, whose loading maps the
// binding's librdkafka.so.1 into the process before our addon (one librdkafka per process,
// see native-producer.ts), and librdkafka's error-code table. The full client is still loaded
// where it is used: the embedded mock cluster and the tests.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface BindingModule {
  librdkafkaVersion: string;
}

/** librdkafka's error codes by name (ERR_MSG_SIZE_TOO_LARGE, ERR__QUEUE_FULL...), as the package types them. */
export type ErrorCodes = typeof import('@confluentinc/kafka-javascript').CODES.ERRORS;

let binding: BindingModule | null = null;
let codes: ErrorCodes | null = null;

/** Loads the binding's native module (and with it its librdkafka); idempotent. */
export function loadBinding(): BindingModule {
  // The same loader the package itself uses (`bindings`), so the same file is found.
  return (binding ??= require('@confluentinc/kafka-javascript/librdkafka.js') as BindingModule);
}

/** The binding's table of librdkafka error codes (its lib/error.js, which loads the native module too). */
export function errorCodes(): ErrorCodes {
  return (codes ??= (require('@confluentinc/kafka-javascript/lib/error.js') as { codes: ErrorCodes }).codes);
}
