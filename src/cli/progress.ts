// A one-line periodic summary for a human watching `logship run` in a terminal: lines/s,
// total lag and bytes in flight, rewritten in place on stderr. Only when stderr is a TTY;
// under systemd or in a container the JSON logs on stdout are the record.

import type { Agent } from '../agent.js';
import { formatSize } from '../config/units.js';

const EVERY_MS = 2_000;

export function startProgressLine(agent: Agent, out: NodeJS.WriteStream = process.stderr): () => void {
  if (!out.isTTY) return () => undefined;
  let lastAcked = agent.acknowledgedTotal();
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const acked = agent.acknowledgedTotal();
    const rate = ((acked - lastAcked) * 1000) / Math.max(1, now - lastAt);
    lastAcked = acked;
    lastAt = now;
    const lags = agent.fileLags();
    const lag = lags.reduce((sum, f) => sum + Math.max(0, f.size - f.committed), 0);
    const line = `logship: ${Math.round(rate).toLocaleString('en')} lines/s · ${acked.toLocaleString('en')} shipped · lag ${formatSize(lag)} · in flight ${formatSize(agent.inFlightBytes())} · ${lags.length} files`;
    out.write(`\r\x1b[2K${line}`);
  }, EVERY_MS).unref();
  return () => {
    clearInterval(timer);
    out.write('\r\x1b[2K');
  };
}
