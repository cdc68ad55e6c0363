#!/usr/bin/env bash
# Installs everything liteq needs to build and test on Debian 12, from Debian's
# packages (and, for the LiteRT conformance tests, npm with the committed lockfile).
# Safe to run again: apt skips what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  flatbuffers-compiler libflatbuffers-dev
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  chromium  # tests only: `liteq debug --html` reports are rendered headless (e2e_cli_debug_test)
  libhwy-dev zlib1g-dev libpcre2-dev libutf8proc-dev
  # tests only: the Highway int8 kernel cross-compiled for aarch64 and run under qemu
  # (PackedInt8HwyAarch64Compile, PackedInt8HwyAarch64QemuMatchesPortable)
  g++-aarch64-linux-gnu qemu-user
  nodejs npm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from outside Debian's packages (a newer node on PATH is fine).
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
filtered=()
for p in "${missing[@]}"; do [ -n "$p" ] && filtered+=("$p"); done
if [ ${#filtered[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}"
fi

if [ "${1:-}" = "--with-npm" ] && [ -f tests/conformance/package-lock.json ]; then
  (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
fi
