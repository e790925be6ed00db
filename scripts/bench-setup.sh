#!/usr/bin/env bash
# Installs the benchmark's peers when missing: kcat (also needed by the tests), GNU time, and
# rsyslog with its Kafka output (imfile + omkafka, the shipper many operators run today). Called by
# `npm run bench`; quick when everything is there. Installing needs root (or sudo).
#
# The bench never uses rsyslog as the system's logger: it runs `rsyslogd -n` in the foreground
# with a generated configuration and its own work directory (bench/rsyslog.ts). So the package
# is installed without starting its service: a temporary policy-rc.d (the Debian mechanism
# invoke-rc.d and deb-systemd-invoke obey) refuses the start during the install, unless the
# machine already has one, and the service is disabled afterwards.
set -euo pipefail

# time: GNU time reports kcat's peak RSS.
packages=(kcat time rsyslog rsyslog-kafka)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "bench-setup: missing Debian packages ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  SUDO="sudo"
fi
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

# The package enables its service for the next boot; installed only for the bench, it must not
# become the system's logger then either. (An rsyslog the machine already had is left alone.)
if [[ " ${missing[*]} " == *" rsyslog "* ]] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable rsyslog.service >/dev/null 2>&1 || echo "bench-setup: could not disable rsyslog.service; the bench runs its own rsyslogd" >&2
fi
