// The JSON log line the in-process line benchmarks use (bench/lines-micro.ts, bench/route-keys.ts):
// ~220 bytes, four services in turn, a trace id per line (65536 distinct), nested http fields.

export function jsonMessage(i: number): string {
  return JSON.stringify({
    ts: '2024-03-15T10:20:30.123Z',
    level: i % 10 === 0 ? 'warn' : 'info',
    service: ['cart', 'checkout', 'search', 'auth'][i % 4],
    trace_id: `4bf92f3577b34da6a3ce929d0e0e${(i % 65536).toString(16).padStart(4, '0')}`,
    msg: `handled request ${i}`,
    http: { method: 'GET', status: 200, path: `/api/v1/items/${i}` },
    duration_ms: i % 97,
  });
}
