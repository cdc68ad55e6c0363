#!/usr/bin/env bash
# Installs dependencies, builds liteq and runs every test.
#   scripts/test.sh               release build in build/, all tests
#   scripts/test.sh --sanitize    ASan+UBSan build in build-asan/ (LITEQ_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-npm
if [ "${1:-}" = "--sanitize" ]; then
  shift
  # -O1 -g1: sanitizer reports keep line numbers while the build stays quick.
  LITEQ_BUILD_TYPE=RelWithDebInfo scripts/build.sh build-asan -DLITEQ_SANITIZE=ON \
    -DLITEQ_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Tests labelled "slow" (whole-model evaluations) are left to the release run.
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -LE slow "$@"
else
  scripts/build.sh build
  ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
fi
