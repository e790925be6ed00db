#!/usr/bin/env bash
# Installs whatever is missing for logship on a Debian machine with Node >= 20, then builds.
# Idempotent and quick when everything is already there. Run as root (or with sudo) the first
# time: Debian packages are needed to build librdkafka from source and for kcat in tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "logship needs Node.js >= $need_node_major (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Libraries librdkafka is built against (TLS, SASL, gzip, lz4, zstd; snappy is bundled), a
# compiler toolchain for the native addon, kcat to read Kafka back in tests, and
# systemd-analyze for the unit-file check, logrotate for the rotation tests (copytruncate as
# Debian hosts run it).
packages=(build-essential python3 libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev kcat systemd logrotate)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install (or the native addon is absent).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.logship-lock-sha256
addon=node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node
if [ ! -f "$addon" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "setup: npm ci (builds librdkafka from source against the system libraries, about a minute)"
  # dynamic linking: build the bundled librdkafka against the Debian libraries above instead of
  # downloading a prebuilt binary (its host is not reachable from every machine).
  CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

npm run --silent build
