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
// --heap-growing-percent=20: each read chunk's bytes live in an ArrayBuffer outside V8's heap
// until Kafka acknowledged them. Chunks still in flight at a scavenge are promoted, and a
// promoted chunk is freed only by a full collection — which V8 schedules by the old space's
// own growth (the chunks' small wrapper objects), not by the ArrayBuffer bytes they hold. With
// V8's default growth the dead chunks piled up to 30-37 MiB between two full collections
// (traced: process.memoryUsage().arrayBuffers before each one) and set the peak RSS: 131-137
// MiB on the raw 1M-line shipment from the one-file bundle, and the modules got there too as
// soon as the shipment was longer (3M lines: 136 MiB) or the machine busier. Growing the old
// space by 20 % per collection keeps them to ~10 MiB: 106-112 MiB, measured 2026-11-29
// against 109-119 from the modules with V8's default (see README, Performance).
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=20'];
