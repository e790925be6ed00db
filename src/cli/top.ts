// `logship top`, the effects: scrape a running agent's /metrics every interval, draw the view
// of top-view.ts on the terminal (alternate screen, keys to sort, q / Ctrl-C to quit) or, when
// stdout is not a terminal, print it as a plain table each interval. Reads nothing but the
// metrics endpoint, so it needs no privilege beyond reaching that port.

import { ExpositionError, parseExposition } from '../metrics/exposition.js';
import { SORT_KEYS, agentSample, naturalWidth, renderFrame, topRows, type AgentSample, type SortKey, type TopRow } from './top-view.js';

export interface TopOptions {
  /** Base URL of the agent's metrics endpoint, e.g. http://127.0.0.1:9464. */
  url: string;
  intervalMs: number;
  sort: SortKey;
  out?: NodeJS.WriteStream;
  input?: NodeJS.ReadStream;
}

const ESC = '\x1b[';
const ENTER_SCREEN = `${ESC}?1049h${ESC}?25l`;
const LEAVE_SCREEN = `${ESC}?25h${ESC}?1049l`;

/** http://host:port[/metrics] -> the /metrics URL. */
export function metricsUrl(base: string): string {
  const url = new URL(base);
  if (!url.pathname.endsWith('/metrics')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics`;
  return url.toString();
}

/** metrics.listen ("host:port") -> the URL to read it from on this host. */
export function urlFromListen(listen: string): string {
  const colon = listen.lastIndexOf(':');
  let host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = listen.slice(colon + 1);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function scrape(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return body;
}

function describe(err: unknown): string {
  if (err instanceof ExpositionError) return `not Prometheus text (${err.message})`;
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    if (err.name === 'TimeoutError') return 'no answer in time';
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}

/** Runs until q, Ctrl-C, SIGINT or SIGTERM (or a closed output pipe); resolves with the exit code. */
export function runTop(opts: TopOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const input = opts.input ?? process.stdin;
  const interactive = out.isTTY === true;
  const url = metricsUrl(opts.url);
  let sort = opts.sort;
  let previous: AgentSample | null = null;
  let current: AgentSample | null = null;
  let rows: TopRow[] = [];
  let error: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let finished = false;

  return new Promise<number>((resolve) => {
    const draw = (): void => {
      if (finished) return;
      const lines = renderFrame({
        url: opts.url,
        now: Date.now(),
        sample: current,
        rows,
        sort,
        error,
        width: interactive ? (out.columns ?? 120) : naturalWidth(rows),
        height: interactive ? (out.rows ?? 40) : null,
      });
      if (interactive) {
        // Home, each line over the old one (cleared to its end), then clear below.
        out.write(`${ESC}H${lines.map((l, i) => (i === 0 || l.startsWith('INPUT') ? `${ESC}7m${l}${ESC}0m` : l) + `${ESC}K`).join('\r\n')}\r\n${ESC}J`);
      } else {
        out.write(`${lines.join('\n')}\n\n`);
      }
    };

    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', restoreTerminal);
      out.off('resize', draw);
      out.off('error', onOutputError);
      if (interactive) {
        input.off('data', onKey);
        if (input.isTTY) input.setRawMode(false);
        input.pause();
        restoreTerminal();
      }
      resolve(code);
    };

    const tick = async (): Promise<void> => {
      const started = Date.now();
      try {
        const text = await scrape(url, Math.max(1_000, opts.intervalMs));
        const sample = agentSample(parseExposition(text), Date.now());
        previous = current;
        current = sample;
        rows = topRows(previous, current);
        error = null;
      } catch (err) {
        error = describe(err);
        // An agent restarted meanwhile starts its counters anew: no rate across the gap.
        current = null;
        rows = [];
      }
      if (finished) return;
      draw();
      timer = setTimeout(() => void tick(), Math.max(0, opts.intervalMs - (Date.now() - started)));
    };

    const onKey = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === 'q' || ch === 'Q' || ch === '\x03' || ch === '\x04') return finish(0);
        const key = SORT_KEYS[ch.toLowerCase()];
        if (key !== undefined) {
          sort = key;
          draw();
        }
      }
    };
    const onSignal = (): void => finish(0);
    // `logship top | head`: the reader went away; that is an end, not an error.
    const onOutputError = (err: NodeJS.ErrnoException): void => finish(err.code === 'EPIPE' ? 0 : 1);
    const restoreTerminal = (): void => {
      if (interactive) out.write(LEAVE_SCREEN);
    };

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    out.on('error', onOutputError);
    if (interactive) {
      process.on('exit', restoreTerminal);
      out.write(ENTER_SCREEN);
      out.on('resize', draw);
      if (input.isTTY) input.setRawMode(true);
      input.on('data', onKey);
      input.resume();
    }
    void tick();
  });
}
