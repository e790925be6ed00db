#!/usr/bin/env bash
# The test command: install what is missing, build, run every test (unit and integration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Only *.test.js: Node treats every file under a test/ directory as a test file otherwise,
# and the helpers (a cluster host, a crash writer) are not tests.
exec node --test --test-concurrency=2 dist/test/*.test.js
