#!/usr/bin/env bash
# The test command: install what is missing, build, run every test (unit and integration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --test --test-concurrency=2 dist/test/
