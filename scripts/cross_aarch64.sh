#!/usr/bin/env bash
# Cross-builds sherry's test binaries for AArch64 and runs them under qemu-aarch64 (docs/aarch64.md).
#
#   scripts/cross_aarch64.sh [--build-dir DIR] [--target T]... [--host-build DIR] [--install-only]
#
# Installs what is missing (once): the cross compiler, qemu-user and the arm64 builds of the
# dependencies through Debian multiarch (dpkg --add-architecture arm64). Then configures DIR
# (default build-aarch64/) with scripts/cmake/aarch64-toolchain.cmake, builds only the targets
# (default: every aarch64-relevant test binary that exists) and runs them with ctest, which
# starts each one under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR).
#
# With --host-build DIR (an x86-64 build holding bin/sherry-make-model, sherry-quantize and
# sherry-run) it also builds sherry-run for aarch64 and checks end to end that greedy generation
# on a tiny Sherry-quantized model gives the same text under emulation, with the JIT kernels of
# every AArch64 path, as the host's sherry-run with the reference kernels.
#
# Exit status: 0 all passed, 1 a build or test failed, 2 bad arguments, 77 the cross tools are
# missing and cannot be installed here (the CTest entry reports that as skipped; in CI it fails).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build-aarch64"
targets=()
host_build=""
install_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --host-build) host_build=$2; shift 2 ;;
    --install-only) install_only=1; shift ;;
    *) echo "cross_aarch64.sh: unknown argument '$1' (expected --build-dir DIR, --target T, --host-build DIR, --install-only)" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
say() { echo "cross_aarch64 [$(( $(date +%s) - start ))s] $*"; }
# A set-up that cannot be done here: exit 77 (CTest: skipped) locally, a failure in CI.
# shellcheck source=lib/skip.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/skip.sh"
skip() { skip_or_fail "$@"; }

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

# Configured every time (quick once configured), so a build folder made before an option
# existed still gets it: the trainer and the server need libraries the arm64 side does not have.
say "configuring $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/scripts/cmake/aarch64-toolchain.cmake" \
  -DSHERRY_BUILD_TRAINER=OFF -DSHERRY_BUILD_SERVER=OFF >/dev/null

# Default targets: the test binaries whose code runs on aarch64, those that exist so far
# (test_jit exercises the x86-64 generators; test_aarch64 covers the AArch64 paths).
if [ ${#targets[@]} -eq 0 ]; then
  available=$(cmake --build "$build_dir" --target help | sed -n 's/^\([a-z_0-9-]*\): .*/\1/p')
  for t in test_core test_ir test_aarch64 test_runtime; do
    grep -qx "$t" <<<"$available" && targets+=("$t")
  done
fi
[ ${#targets[@]} -gt 0 ] || { echo "cross_aarch64: no test targets to build" >&2; exit 1; }

e2e=0
if [ -n "$host_build" ]; then
  for tool in sherry-make-model sherry-quantize sherry-run; do
    [ -x "$host_build/bin/$tool" ] || { echo "cross_aarch64: --host-build $host_build lacks bin/$tool" >&2; exit 1; }
  done
  e2e=1
fi
build_targets=("${targets[@]}")
[ "$e2e" -eq 1 ] && build_targets+=(sherry-run)
say "building ${build_targets[*]}"
cmake --build "$build_dir" -j "$(nproc)" --target "${build_targets[@]}"
# Test cases that start another program of the build as a child process: qemu-user runs one
# AArch64 process, and without binfmt_misc (containers, CI) the kernel cannot exec the child.
# The end-to-end stage below runs sherry-run under qemu itself.
declare -A child_process_cases=([test_runtime]="sherry run *,sherry bench *")
say "running under qemu-aarch64: ${targets[*]}"
ctest_targets=()
for t in "${targets[@]}"; do [ -n "${child_process_cases[$t]:-}" ] || ctest_targets+=("$t"); done
if [ ${#ctest_targets[@]} -gt 0 ]; then
  regex="^($(IFS='|'; echo "${ctest_targets[*]}"))\$"
  (cd "$build_dir" && ctest --output-on-failure -R "$regex")
fi
for t in "${targets[@]}"; do
  exclude=${child_process_cases[$t]:-}
  [ -n "$exclude" ] || continue
  say "$t under qemu-aarch64, without the cases that exec a child program ($exclude)"
  (cd "$build_dir" && qemu-aarch64 "bin/$t" --no-colors=true --test-case-exclude="$exclude")
done

if [ "$e2e" -eq 1 ]; then
  # A tiny random Llama, quantized to Sherry's format (group 128 and per-channel layers).
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$host_build/bin/sherry-make-model" "$work/f32.gguf" --hidden 128 --layers 2 --heads 4 \
    --kv-heads 2 --ffn 384 --vocab 320 --ctx 128 --seed 7 --type f32 >/dev/null
  # The head and embedding stay F32 (sherry-quantize's default would make them Q8_0): this stage
  # compares the Sherry layers' kernels, and greedy text must not hinge on the head's rounding.
  "$host_build/bin/sherry-quantize" "$work/f32.gguf" "$work/sherry.gguf" --type sherry \
    --output-type keep --embd-type keep >/dev/null
  args=(-m "$work/sherry.gguf" -p "It is a truth universally acknowledged" -n 32 --temp 0
        -t 2 -b 5 --no-display-prompt)
  "$host_build/bin/sherry-run" "${args[@]}" --kernels ref >"$work/host_ref.txt" 2>"$work/host_ref.err"
  failed=0
  for cap in dotprod neon scalar; do
    SHERRY_MAX_ISA=$cap qemu-aarch64 "$build_dir/bin/sherry-run" "${args[@]}" --kernels jit \
      >"$work/a64_$cap.txt" 2>"$work/a64_$cap.err"
    kernels=$(grep -m1 "kernels" "$work/a64_$cap.err" || true)
    if cmp -s "$work/host_ref.txt" "$work/a64_$cap.txt"; then
      say "sherry-run under qemu, SHERRY_MAX_ISA=$cap: same greedy text as x86-64 reference ($kernels)"
    else
      echo "cross_aarch64: sherry-run under qemu (SHERRY_MAX_ISA=$cap) differs from the x86-64 reference" >&2
      echo "--- x86-64 reference:" >&2; cat "$work/host_ref.txt" >&2
      echo "--- aarch64 $cap:" >&2; cat "$work/a64_$cap.txt" "$work/a64_$cap.err" >&2
      failed=1
    fi
  done
  [ "$failed" -eq 0 ] || exit 1
fi
say "done"
