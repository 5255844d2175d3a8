#!/usr/bin/env bash
# Builds the device bundle (.device/bundle.tar.xz, git-ignored) for the GPU machine,
# following ../shared/DEVICE.md: build here for Hopper (sm_90a: the wgmma attention forward
# needs the architecture-specific features), collect the
# executables that need no Qt GUI, the ctest files, and every library ldd
# resolves outside glibc and CUDA (the device brings its own CUDA and NCCL).
#
# On the GPU machine (see packaging/device_env.sh):
#   source packaging/device_env.sh && ctest --test-dir build -L cuda
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
lw_install_missing
if ! grep -q 'CMAKE_CUDA_ARCHITECTURES.*90a' "$LW_BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "note: configuring $LW_BUILD for sm_90a (the GPU machine's H100/H200)"
fi
# LW_BUNDLE_CMAKE_ARGS adds configure options (e.g. -DLW_GUI=OFF with LW_BUILD_DIR=build-device).
lw_configure -DCMAKE_CUDA_ARCHITECTURES=90a ${LW_BUNDLE_CMAKE_ARGS:-}
# Build only what travels: llmwb and the executables of the cuda/nccl-labelled tests
# (their target names are the executables' names).
# Read from the CTestTestfiles (ctest -N shows no command before the executable exists).
cuda_tests() {
  find "$LW_BUILD" -name CTestTestfile.cmake -exec cat {} + | awk '
    /^add_test\(/ { name = $1; sub(/^add_test\(\[=\[/, "", name); sub(/\]=\]$/, "", name)
                    exe = $2; gsub(/"|\)/, "", exe); cmd[name] = exe }
    /^set_tests_properties\(/ && / LABELS "[^"]*(cuda|nccl)/ {
                    name = $1; sub(/^set_tests_properties\(\[=\[/, "", name); sub(/\]=\]$/, "", name)
                    if (name in cmd) print cmd[name] }' | sort -u
}
cmake "$LW_BUILD" >/dev/null  # regenerate: test folders added since the last configure
mapfile -t test_targets < <(cuda_tests | xargs -r -n1 basename)
lw_build llmwb "${test_targets[@]}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib/bundle"

# What the GPU machine runs: llmwb and the executables of the tests labelled
# cuda or nccl (each test binary links the whole engine, so bundling every test
# would pass the 64 MiB transfer limit).
exes=("$LW_BUILD/bin/llmwb")
while read -r exe; do exes+=("$exe"); done < <(cuda_tests)
for exe in "${exes[@]}"; do
  cp "$exe" "$stage/bin/"
  strip --strip-unneeded "$stage/bin/$(basename "$exe")" 2>/dev/null || true
done

# Libraries outside glibc and CUDA. Match CUDA libraries by name, not by a bare
# "cuda" substring (libicudata contains it).
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libstdc\+\+\.so|libgcc_s\.so|libcuda\.so|libcudart\.so|libcublas\.so|libcublasLt\.so|libnccl\.so|libnvrtc|libnvJitLink)'
for exe in "$stage"/bin/*; do
  ldd "$exe" | awk '/=> \//{print $1" "$3}' | while read -r name path; do
    if [[ "$name" =~ $skip ]]; then continue; fi
    [ -f "$stage/lib/bundle/$name" ] || cp -L "$path" "$stage/lib/bundle/$name"
  done
done

# ctest files, so `ctest --test-dir build -L cuda` works when the bundle is
# unpacked at the same absolute path (device_env.sh links it there).
(cd "$LW_BUILD" && find . -name CTestTestfile.cmake -print0 | xargs -0 -I{} cp --parents {} "$stage/")
(cd "$LW_BUILD" && pwd) >"$stage/BUILD_DIR"  # absolute: tests run from their own folders
echo "$LW_ROOT" >"$stage/SOURCE_DIR"

# LW_BUNDLE_OUT names another file (several bundles side by side, one per build folder).
out=${LW_BUNDLE_OUT:-$LW_ROOT/.device/bundle.tar.xz}
mkdir -p "$(dirname "$out")"
rm -f "$LW_ROOT/.device/bundle.tgz"  # the older gzip name
# xz -9: its 64 MB dictionary spans several executables, and each links the whole static
# engine, so the repeats pack away (33 MB instead of 60 MB at -6 for 12 test executables;
# the device call carries at most 64 MiB in all).
tar -cf - -C "$stage" . | xz -T0 -9 >"$out.tmp" && mv "$out.tmp" "$out"
du -h "$out" | awk '{print "bundle: " $2 " (" $1 ")"}'
