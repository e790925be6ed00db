// V8 flags every launcher of the agent passes to node (bin/logship's first line, which the
// demo script runs; the systemd unit; the Dockerfile's entry point; the tests and the bench
// start it with them too, and test/launch-flags.test.ts keeps the copies equal to this list).
// They must be on node's command line: V8 sizes its heap when the process starts, so setting
// them later does nothing.
//
// --max-semi-space-size=4: V8's young generation grows to 16 MiB per semi-space (three of them
// resident at worst) while lines stream through; the agent's garbage is short-lived (a Buffer
// per line, dropped once Kafka acknowledged its batch), so a 4 MiB semi-space collects it as
// well. Measured on the bench's 1M-line throughput scenario (paired with kcat, medians): peak
// RSS 126-130 -> 102-121 MiB at the same CPU per line (2 MiB cost 10 % more CPU: survivors are
// copied more often).
//
// --heap-growing-percent=20: V8 grows its old space by a dynamic factor (up to 4x after a full
// collection) and schedules the next full collection by that growth. It was added (session 5)
// for read chunks: their bytes live in ArrayBuffers outside V8's heap, and acknowledged chunks
// piled up to 30-37 MiB between two full collections. Chunks are pooled and reused now
// (src/tailer/chunk-pool.ts), and without the flag the raw 1M-line shipment keeps its peak
// (108.6 MiB without, 108.2 with; CPU after start-up 0.99 x with it, branch `chunks`). The flag
// stays for the other garbage: 200 files written at 500 lines/s each (a wake-up, a read, a
// batch and a ticket per append, promoted objects by the thousand) peaked at 183-188 MiB
// without it and 125 MiB with it (npm run bench -- --only many-files --quick, 2026-11-29
// 21:00 UTC, from the blob and from main.js, quiet machine).
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=20'];
