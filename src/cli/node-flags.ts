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
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
