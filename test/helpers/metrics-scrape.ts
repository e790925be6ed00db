// One value of the agent's /metrics, as the end-to-end tests wait on it.

/** The first sample of `name` (any labels) the agent at 127.0.0.1:`port` reports now; NaN when none. */
export async function scrapeMetric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}
