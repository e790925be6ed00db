// A bare librdkafka producer in the bench process (@confluentinc/kafka-javascript, the same
// librdkafka build the agent uses): the latency floor of producer + brokers + our consumer,
// with nothing of the agent in the path. kcat's bundled librdkafka is older, so the two
// baselines together separate "what librdkafka costs" from "what kcat costs".

import Kafka from '@confluentinc/kafka-javascript';
import { ToolError } from './errors.js';
import { librdkafkaProducerConfig, type ProducerSettings } from './producer-settings.js';

const TIMEOUT_MS = 10_000;

export class DirectProducer {
  private constructor(
    private readonly producer: Kafka.Producer,
    readonly topic: string,
  ) {}

  static async connect(bootstrap: string, topic: string, settings: ProducerSettings): Promise<DirectProducer> {
    const producer = new Kafka.Producer({ ...librdkafkaProducerConfig(settings, bootstrap), dr_cb: false });
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout: TIMEOUT_MS }, (err) => (err ? reject(new ToolError('librdkafka producer', [bootstrap], err.message)) : resolve()));
    });
    return new DirectProducer(producer, topic);
  }

  /** `line` without its newline: one record. */
  produce(line: string): void {
    this.producer.produce(this.topic, null, Buffer.from(line));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.producer.flush(TIMEOUT_MS, (err) => (err ? reject(new ToolError('librdkafka producer', [this.topic], `flush: ${err.message}`)) : resolve()));
    });
    await new Promise<void>((resolve) => this.producer.disconnect(TIMEOUT_MS, () => resolve()));
  }
}
