#!/usr/bin/env bash
# The CUDA sources must compile for GPUs older than the Hopper default (cmake/LwCuda.cmake
# builds `native` on a machine with such a GPU): runs nvcc's front end for compute_80 over
# every engine .cu file (a few seconds each; no code generation) and names each file that
# fails with its errors. Usage: check_other_arch.sh NVCC SOURCE_DIR
set -u
nvcc=$1 src=$2
failed=0
for f in "$src"/engine/backend/cuda/*.cu "$src"/engine/backend/nccl/*.cu; do
  [ -e "$f" ] || continue
  if ! out=$("$nvcc" -std=c++20 -I"$src" -arch=compute_80 -cuda -DLW_WITH_CUDA=1 "$f" -o /dev/null 2>&1); then
    echo "FAIL ${f#"$src"/} does not compile for compute_80:"
    echo "$out" | grep -E "error" | head -5
    failed=1
  else
    echo "ok   ${f#"$src"/}"
  fi
done
exit $failed
