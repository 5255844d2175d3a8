#!/usr/bin/env bash
# Installs what is missing, builds everything (Release, build/) and runs the
# tests this machine can run: labels cpu and gui, plus cuda and nccl when a GPU
# is present. Prints ctest's summary; exits non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
lw_install_missing
lw_configure
lw_build
labels="cpu|gui"
if lw_has_gpu; then labels="cpu|gui|cuda|nccl"; fi
export QT_QPA_PLATFORM=offscreen
ctest --test-dir "$LW_BUILD" --output-on-failure -L "$labels" -j "$(nproc)" "$@"
