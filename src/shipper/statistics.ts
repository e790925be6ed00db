// librdkafka's statistics (statistics.interval.ms), reduced to what /metrics shows: how much
// the producer holds (queue depth) and how each broker answers (round-trip time). Parsed
// once per interval, off the hot path.

export interface BrokerStatistics {
  /** "host:port/id" as librdkafka names it. */
  name: string;
  state: string;
  /** Average and p99 round-trip time of requests in the last interval, seconds. */
  rttAvgSeconds: number;
  rttP99Seconds: number;
  /** Requests waiting to be sent, and sent awaiting a response. */
  outbufRequests: number;
  waitingResponses: number;
}

export interface KafkaStatistics {
  /** Messages and their bytes in librdkafka's producer queues (waiting, in flight). */
  queueMessages: number;
  queueBytes: number;
  brokers: BrokerStatistics[];
}

interface RawBroker {
  name?: string;
  nodeid?: number;
  state?: string;
  outbuf_cnt?: number;
  waitresp_cnt?: number;
  rtt?: { avg?: number; p99?: number };
}

/** The parts of the JSON we read; null when it is not librdkafka's statistics. */
export function parseKafkaStatistics(json: string): KafkaStatistics | null {
  let raw: { msg_cnt?: number; msg_size?: number; brokers?: Record<string, RawBroker> };
  try {
    raw = JSON.parse(json) as typeof raw;
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || typeof raw.msg_cnt !== 'number') return null;
  const brokers: BrokerStatistics[] = [];
  for (const [key, b] of Object.entries(raw.brokers ?? {})) {
    // Bootstrap placeholders (nodeid -1) and internal brokers say nothing about the cluster.
    if (typeof b.nodeid !== 'number' || b.nodeid < 0) continue;
    brokers.push({
      name: b.name ?? key,
      state: b.state ?? 'UNKNOWN',
      rttAvgSeconds: (b.rtt?.avg ?? 0) / 1e6,
      rttP99Seconds: (b.rtt?.p99 ?? 0) / 1e6,
      outbufRequests: b.outbuf_cnt ?? 0,
      waitingResponses: b.waitresp_cnt ?? 0,
    });
  }
  return { queueMessages: raw.msg_cnt, queueBytes: raw.msg_size ?? 0, brokers };
}
