# Shared by run.sh, test.sh and bundle.sh: install what is missing from
# Debian's packages, then configure and build Release into build/.
# Sourced, not run. Quiet when nothing is missing.

LW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LW_BUILD="${LW_BUILD_DIR:-$LW_ROOT/build}"

# Every Debian package the workbench needs to build, test and run.
# CUDA 13 (nvcc, cuBLAS, cuBLASLt, NCCL) comes from /usr/local/cuda, not from here.
LW_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libsqlite3-dev libopenblas-dev libsentencepiece-dev nlohmann-json3-dev
  zlib1g-dev libyaml-cpp-dev fonts-dejavu-core xvfb xauth curl ca-certificates
)

lw_install_missing() {
  local missing=()
  for p in "${LW_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing missing packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# lw_configure [extra cmake args...]: configures build/ once; reconfigures only
# when the arguments change. The log goes to build/configure.log.
lw_configure() {
  mkdir -p "$LW_BUILD"
  local args=(-S "$LW_ROOT" -B "$LW_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@")
  local stamp="$LW_BUILD/.lw-configure-args"
  if [ -f "$LW_BUILD/build.ninja" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${args[*]}" ]; then
    return 0
  fi
  if ! cmake "${args[@]}" >"$LW_BUILD/configure.log" 2>&1; then
    cat "$LW_BUILD/configure.log"
    echo "configure failed (log: $LW_BUILD/configure.log)" >&2
    return 1
  fi
  echo "${args[*]}" >"$stamp"
}

# lw_build [targets...]: builds everything, or the named targets.
lw_build() {
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$LW_BUILD" -j "$(nproc)" "${targets[@]}"
}

lw_has_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}
