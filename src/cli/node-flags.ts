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
// Not --heap-growing-percent=20 any more: it was added (2026-11-29, session 5) because each read
// chunk's bytes lived in an ArrayBuffer outside V8's heap until a full collection freed it, which
// V8 schedules by its own heap's growth, blind to those bytes: acknowledged chunks piled up to
// 30-37 MiB between two collections. Read chunks are now pooled and reused as soon as their
// batches are settled (src/tailer/chunk-pool.ts). Raw 1M-line shipment (bench/cpu-breakdown
// --plain, alternated, medians, load 6-11, branch `chunks`): peak RSS 108.6 MiB without the flag
// against 108.2 with it and 125.9 for the code before the pool without it; CPU after start-up
// 0.99 x with it (paired). See README, Performance.
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
