#!/usr/bin/env bash
# The run command: install what is missing, build, then run the agent on the shipped
# agent.yaml (embedded demo Kafka cluster) while a small writer appends demo log lines.
# Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p demo/logs
node scripts/demo-writer.mjs demo/logs/app.log demo/logs/access.log &
writer=$!
trap 'kill $writer 2>/dev/null || true' EXIT
echo "demo: writing lines to demo/logs/*.log; logship ships them to the embedded cluster (Ctrl-C to stop)"
echo "demo: watch it live from another terminal: node bin/logship top -c agent.yaml"
./bin/logship run -c agent.yaml  # its first line gives node the agent flags (src/cli/node-flags.ts)
