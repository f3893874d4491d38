#!/usr/bin/env bash
# Cross-builds sherry's test binaries for AArch64 and runs them under qemu-aarch64 (docs/aarch64.md).
#
#   scripts/cross_aarch64.sh [--build-dir DIR] [--target T]... [--install-only]
#
# Installs what is missing (once): the cross compiler, qemu-user and the arm64 builds of the
# dependencies through Debian multiarch (dpkg --add-architecture arm64). Then configures DIR
# (default build-aarch64/) with scripts/cmake/aarch64-toolchain.cmake, builds only the targets
# (default: every aarch64-relevant test binary that exists) and runs them with ctest, which
# starts each one under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR).
#
# Exit status: 0 all passed, 1 a build or test failed, 2 bad arguments, 77 the cross tools are
# missing and cannot be installed here (the CTest entry reports that as skipped).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build-aarch64"
targets=()
install_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --install-only) install_only=1; shift ;;
    *) echo "cross_aarch64.sh: unknown argument '$1' (expected --build-dir DIR, --target T, --install-only)" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
say() { echo "cross_aarch64 [$(( $(date +%s) - start ))s] $*"; }
skip() { echo "cross_aarch64: SKIPPED: $*" >&2; exit 77; }

# Host tools and the arm64 side of every dependency the aarch64 build configures against.
host_packages=(g++-aarch64-linux-gnu qemu-user cmake ninja-build pkg-config
               doctest-dev nlohmann-json3-dev libcli11-dev)
arm64_packages=(libfmt-dev libasmjit-dev libcpu-features-dev libzydis-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${host_packages[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${arm64_packages[@]}"; do installed "$p:arm64" || missing+=("$p:arm64"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v dpkg >/dev/null 2>&1 || skip "not a Debian system (no dpkg): install an aarch64 cross compiler and qemu-user by hand"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null || skip "missing ${missing[*]} and no root or password-less sudo to install them"
    sudo_cmd=(sudo -n)
  fi
  say "installing ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${sudo_cmd[@]}" dpkg --add-architecture arm64 || skip "dpkg --add-architecture arm64 failed"
  fi
  "${sudo_cmd[@]}" apt-get update -qq || skip "apt-get update failed (no network to the Debian mirror?)"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || skip "apt-get install ${missing[*]} failed"
  say "installed"
fi
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || skip "aarch64-linux-gnu-g++ not found after installing"
command -v qemu-aarch64 >/dev/null 2>&1 || skip "qemu-aarch64 not found after installing"
[ "$install_only" -eq 1 ] && exit 0

if [ ! -f "$build_dir/build.ninja" ]; then
  say "configuring $build_dir"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/scripts/cmake/aarch64-toolchain.cmake" \
    -DSHERRY_BUILD_TRAINER=OFF >/dev/null
fi

# Default targets: the test binaries whose code runs on aarch64, those that exist so far
# (test_jit exercises the x86-64 generators; test_aarch64 covers the AArch64 paths).
if [ ${#targets[@]} -eq 0 ]; then
  available=$(cmake --build "$build_dir" --target help | sed -n 's/^\([a-z_0-9-]*\): .*/\1/p')
  for t in test_core test_ir test_aarch64 test_runtime; do
    grep -qx "$t" <<<"$available" && targets+=("$t")
  done
fi
[ ${#targets[@]} -gt 0 ] || { echo "cross_aarch64: no test targets to build" >&2; exit 1; }

say "building ${targets[*]}"
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
say "running under qemu-aarch64: ${targets[*]}"
regex="^($(IFS='|'; echo "${targets[*]}"))\$"
(cd "$build_dir" && ctest --output-on-failure -R "$regex")
say "done"
