#!/usr/bin/env bash
# Debian 12 packages smbscope needs to build and test (run as root).
set -euo pipefail
packages=(
  build-essential meson ninja-build pkg-config
  # clang and libFuzzer's runtime (only a Recommends of clang-14) for build-fuzz
  clang libclang-rt-14-dev
  libpcap-dev libglib2.0-dev zlib1g-dev
  libwireshark-dev libwiretap-dev libwsutil-dev tshark
  tcpdump valgrind python3 util-linux
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # tshark asks whether non-root users may capture; the default answer is fine.
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
