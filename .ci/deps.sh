#!/usr/bin/env bash
# Debian 12 packages smbscope needs to build and test (run as root).
set -euo pipefail
packages=(
  build-essential meson ninja-build pkg-config
  # clang and libFuzzer's runtime (only a Recommends of clang-14) for build-fuzz
  clang libclang-rt-14-dev
  libpcap-dev libglib2.0-dev zlib1g-dev libgcrypt20-dev
  # smbscope merge reads JSON reports
  libjson-glib-dev
  # compressed captures (zstd, lz4; ISA-L's inflate for gzip) and the tools the format tests compress with
  libzstd-dev liblz4-dev libisal-dev zstd lz4
  libwireshark-dev libwiretap-dev libwsutil-dev tshark
  tcpdump valgrind python3 util-linux
  # pgrep, pkill: tests/run.sh's background compiles
  procps
  # the bytes --jobs reads before it gives a split up (tests/e2e/jobs_check.py)
  strace
  # QUIC v2 packet protection for the test-time Version Negotiation + v2 capture (tests/e2e/quic_v2.py)
  python3-cryptography
  # the plugin's GUI test (suite plugin-gui): Wireshark under Xvfb, driven
  # with xdotool, screenshots with ImageMagick's import
  wireshark-qt xvfb xdotool imagemagick
  # the live-capture test: real Samba in network namespaces; man page check
  samba smbclient iproute2 groff-base
  # the readers bench (igzip -dc) and the format tests (editcap, mergecap)
  isal gzip wireshark-common
  # the analytics test: a private ClickHouse server and its client (tests/analytics)
  clickhouse-server clickhouse-client
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # A mirror's passing error is not the change's: each download is retried
  # (Acquire::Retries), and the whole step once more after a pause.
  apt_opts=(-o Acquire::Retries=5)
  apt_retry() {
    apt-get "${apt_opts[@]}" "$@" || { sleep 20; apt-get "${apt_opts[@]}" "$@"; }
  }
  apt_retry update -qq
  # tshark asks whether non-root users may capture; the default answer is fine.
  apt_retry install -y -qq --no-install-recommends "${missing[@]}"
fi
