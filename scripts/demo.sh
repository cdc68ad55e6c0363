#!/usr/bin/env bash
# The main job on the bundled default model and data: installs dependencies, builds,
# and runs `liteq demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
build/liteq demo "$@"
