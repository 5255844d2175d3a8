# Sourced on the GPU machine, from the repository root, with .device carried:
# unpacks the bundle at the same absolute paths it was built with (so ctest's
# files and the tests' compiled-in source paths resolve) and sets the library
# path with the device's own CUDA first.
set -e
lw_repo=$(pwd)
# LW_BUNDLE picks another carried bundle (default .device/bundle.tar.xz).
rm -rf /tmp/lwb && mkdir -p /tmp/lwb && tar -xJf "${LW_BUNDLE:-.device/bundle.tar.xz}" -C /tmp/lwb
lw_src=$(cat /tmp/lwb/SOURCE_DIR)
lw_bld=$(cat /tmp/lwb/BUILD_DIR)
case "$lw_bld" in /*) ;; *) lw_bld="$lw_src/$lw_bld" ;; esac  # older bundles wrote it relative
if [ "$lw_src" != "$lw_repo" ]; then
  mkdir -p "$(dirname "$lw_src")" && ln -sfn "$lw_repo" "$lw_src"
fi
mkdir -p "$lw_bld" && cp -a /tmp/lwb/. "$lw_bld/"
# ../shared/data does not travel; a carried copy under .device/shared-data stands in.
if [ -d "$lw_repo/.device/shared-data" ] && [ ! -e "$(dirname "$lw_src")/shared/data" ]; then
  mkdir -p "$(dirname "$lw_src")/shared" && ln -sfn "$lw_repo/.device/shared-data" "$(dirname "$lw_src")/shared/data"
fi
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:$lw_bld/lib/bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$lw_bld/bin:$PATH"
set +e
