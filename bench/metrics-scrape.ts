// Reads the agent's own view of its backlog from the Prometheus endpoint: the sum of
// logship_file_lag_bytes (file size minus committed offset) over every followed file.

export class ScrapeError extends Error {
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(`${url}: ${message}`);
    this.name = 'ScrapeError';
  }
}

export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line.charAt(name.length);
    if (next !== '{' && next !== ' ') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function totalLagBytes(metricsUrl: string): Promise<number> {
  const url = `${metricsUrl}/metrics`;
  const response = await fetch(url);
  if (!response.ok) throw new ScrapeError(url, `HTTP ${response.status}`);
  return sumMetric(await response.text(), 'logship_file_lag_bytes');
}
