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
# systemd-analyze for the unit-file check, tmux to drive `logship top` in its test as a person
# would, logrotate for the rotation tests (copytruncate as Debian hosts run it).
packages=(build-essential python3 libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev kcat systemd tmux logrotate)
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

# npm ci only when the lockfile changed since the last install (or a native addon is absent:
# the Kafka binding, logship's native producer and native/sd-notify, the last two built in
# place by npm through their file: links).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.logship-lock-sha256
addons=(
  node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node
  native/build/Release/logship_native.node
  native/sd-notify/build/Release/sd_notify.node
)
addon_missing=0
for addon in "${addons[@]}"; do [ -f "$addon" ] || addon_missing=1; done
if [ "$addon_missing" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "setup: npm ci (builds librdkafka from source against the system libraries, then logship's native addons; a few minutes)"
  # dynamic linking: build the bundled librdkafka against the Debian libraries above instead of
  # downloading a prebuilt binary (its host is not reachable from every machine), as a shared
  # library that logship's native producer (native/) links to: one librdkafka per process.
  CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
  fresh_install=1
fi

# A native addon again when its sources changed since it was built, or when nothing says what
# it was built from (seconds; npm ci above has just built both): an edit under native/ does
# not change the lockfile. Each: package name, stamp directory, sources.
rebuild_if_changed() {
  local package=$1 dir=$2; shift 2
  local hash stamp_file
  hash=$(cat "$@" | sha256sum | cut -d' ' -f1)
  stamp_file=$dir/build/.logship-src-sha256
  if [ ! -f "$stamp_file" ] || [ "$(cat "$stamp_file")" != "$hash" ]; then
    if [ -z "${fresh_install:-}" ]; then
      echo "setup: rebuilding $package (its sources changed)"
      npm rebuild "$package" --loglevel=error
    fi
    echo "$hash" > "$stamp_file"
  fi
}
rebuild_if_changed @logship/native native native/binding.gyp native/build.cjs native/src/*.c
rebuild_if_changed @logship/sd-notify native/sd-notify native/sd-notify/binding.gyp native/sd-notify/src/*.c

npm run --silent build
