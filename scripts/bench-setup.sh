#!/usr/bin/env bash
# Installs the benchmark's peers when missing: kcat (also needed by the tests), GNU time, and
# rsyslog with its Kafka output (imfile + omkafka, the shipper many operators run today). Called by
# `npm run bench`; quick when everything is there. Installing needs root (or sudo).
#
# The bench never uses rsyslog as the system's logger: it runs `rsyslogd -n` in the foreground
# with a generated configuration and its own work directory (bench/rsyslog.ts). So the package
# is installed without starting its service: a temporary policy-rc.d (the Debian mechanism
# invoke-rc.d and deb-systemd-invoke obey) refuses the start during the install, unless the
# machine already has one.
set -euo pipefail

# time: GNU time reports kcat's peak RSS.
packages=(kcat time rsyslog rsyslog-kafka)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "bench-setup: installing Debian packages: ${missing[*]}"

policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# logship bench-setup: no service starts while installing the bench peers\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

# A machine that never ran `apt-get update` knows no candidate for the packages.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
