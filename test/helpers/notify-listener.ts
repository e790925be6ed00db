// A stand-in for systemd's notification socket: a unix datagram socket bound by Python (an
// independent implementation of the receiving side), which reports every datagram with the
// sender's pid from SCM_CREDENTIALS (what NotifyAccess=main checks) and the CLOCK_MONOTONIC
// time of receipt.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const LISTENER = String.raw`
import json, os, socket, struct, sys, time
address = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0' + address[1:] if address.startswith('@') else address)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({'listening': address}), flush=True)
while True:
    data, anc, flags, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, uid, gid = struct.unpack('iII', payload[:12])
    print(json.dumps({'usec': time.monotonic_ns() // 1000, 'pid': pid, 'data': data.decode('utf-8', 'replace')}), flush=True)
`;

export interface Notification {
  /** CLOCK_MONOTONIC µs when the listener received it. */
  usec: number;
  /** The sender's pid, from the kernel (SCM_CREDENTIALS). */
  pid: number | null;
  data: string;
  /** KEY=VALUE assignments of the datagram, in order. */
  fields: Map<string, string>;
}

export class NotifyListener {
  readonly received: Notification[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
  ) {}

  /** `address`: a path, or an abstract name starting with '@' (as in $NOTIFY_SOCKET). */
  static async start(address: string): Promise<NotifyListener> {
    const child = spawn('python3', ['-u', '-c', LISTENER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
    const listener = new NotifyListener(child, address);
    const lines = createInterface({ input: child.stdout! });
    let bound!: () => void;
    const listening = new Promise<void>((resolve) => (bound = resolve));
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { listening?: string; usec: number; pid: number | null; data: string };
      if (m.listening !== undefined) return bound();
      const fields = new Map<string, string>();
      for (const assignment of m.data.split('\n')) {
        const eq = assignment.indexOf('=');
        if (eq > 0) fields.set(assignment.slice(0, eq), assignment.slice(eq + 1));
      }
      listener.received.push({ usec: m.usec, pid: m.pid, data: m.data, fields });
      const w = listener.waiters;
      listener.waiters = [];
      for (const f of w) f();
    });
    await Promise.race([
      listening,
      once(child, 'exit').then(([code]) => {
        throw new Error(`notify listener exited with ${String(code)} before binding ${address}`);
      }),
    ]);
    return listener;
  }

  /** Resolves with the index of the first notification at or after `from` matching `match`. */
  async waitFor(match: (n: Notification) => boolean, what: string, timeoutMs = 20_000, from = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((n, idx) => idx >= from && match(n));
      if (i >= 0) return i;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received:\n${this.received.map((n) => JSON.stringify(n.data)).join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** CLOCK_MONOTONIC in µs (Node's hrtime reads that clock on Linux, as systemd does). */
export function monotonicUsec(): number {
  return Number(process.hrtime.bigint() / 1_000n);
}
