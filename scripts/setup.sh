#!/usr/bin/env bash
# Installs the Debian packages sherry needs (only those missing, so a second run costs nothing),
# then configures and builds one build directory.
#
#   scripts/setup.sh [--build-dir DIR] [--sanitize] [--fuzz] [--target T]...
#
# Defaults: build/ in Release. --sanitize: ASan+UBSan build (RelWithDebInfo). --fuzz: clang build
# of the libFuzzer targets only.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
sanitize=OFF
fuzz=OFF
build_type=Release
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --sanitize) sanitize=ON; build_type=RelWithDebInfo; shift ;;
    --fuzz) fuzz=ON; shift ;;
    --target) targets+=("--target" "$2"); shift 2 ;;
    *) echo "setup.sh: unknown argument '$1' (expected --build-dir DIR, --sanitize, --fuzz, --target T)" >&2; exit 2 ;;
  esac
done

packages=(
  cmake g++ ninja-build pkg-config git ca-certificates xz-utils
  libxbyak-dev libasmjit-dev libfmt-dev doctest-dev libcpu-features-dev libzydis-dev
  libsentencepiece-dev sentencepiece nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  zlib1g-dev libbz2-dev liblzma-dev
  libopenblas-dev libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
  python3 python3-jinja2 python3-numpy
)
command -v npm >/dev/null 2>&1 || packages+=(npm)
native_arch=$(dpkg --print-architecture)
missing=()
for p in "${packages[@]}"; do
  # Installed for this machine's architecture (or arch-independent): a foreign-architecture copy
  # from a multiarch cross set-up does not count.
  dpkg-query -W -f='${Status} ${Architecture}\n' "$p" 2>/dev/null |
    grep -qE "install ok installed ($native_arch|all)$" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake_args=(-S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=$build_type -DSHERRY_SANITIZE=$sanitize)
if [ "$fuzz" = ON ]; then
  cmake_args+=(-DSHERRY_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
fi
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake "${cmake_args[@]}" >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
