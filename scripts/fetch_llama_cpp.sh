#!/usr/bin/env bash
# Fetches llama.cpp's source from the pinned npm package node-llama-cpp (llama/gitRelease.bundle,
# sha256-checked through scripts/lib/npm_fetch.sh), builds ggml, llama-bench and llama-quantize for
# this CPU, then compiles bench/llamacpp/ (the GEMV/GEMM harness and the random-model writer) against it.
# Everything lives under .cache/llama.cpp/ (git-ignored); nothing of llama.cpp is committed.
#
#   scripts/fetch_llama_cpp.sh [--jobs N] [--rebuild]
#
# Outputs: .cache/llama.cpp/build/bin/{llama-bench,llama-quantize}, .cache/llama.cpp/{ggml_gemv_bench,
# make_random_llama},
# .cache/llama.cpp/build_info.json (commit, npm version, flags, build seconds).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/npm_fetch.sh
source "$root/scripts/lib/npm_fetch.sh"

jobs=2
rebuild=0
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --rebuild) rebuild=1; shift ;;
    *) echo "fetch_llama_cpp.sh: unknown argument '$1' (expected --jobs N, --rebuild)" >&2; exit 2 ;;
  esac
done

for tool in git cmake ninja g++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fetch_llama_cpp.sh: '$tool' not found (run scripts/setup.sh)" >&2; exit 1; }
done

cache="$root/.cache/llama.cpp"
src="$cache/src"
build="$cache/build"
mkdir -p "$cache"

pkg=$(npm_fetch_package node-llama-cpp "$kNodeLlamaCppVersion" "$kNodeLlamaCppSha256")
bundle="$pkg/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "fetch_llama_cpp.sh: $bundle: missing from node-llama-cpp@$kNodeLlamaCppVersion" >&2; exit 1; }
want=$(git bundle list-heads "$bundle" | awk '$2 == "HEAD" { print $1 }')
[ -n "$want" ] || { echo "fetch_llama_cpp.sh: $bundle: no HEAD in the bundle" >&2; exit 1; }

# Check out the bundle's HEAD (once; again only when the pinned package changes).
have=$(git -C "$src" rev-parse HEAD 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "fetch_llama_cpp.sh: checking out llama.cpp $want from $bundle" >&2
  rm -rf "$src" "$build"
  git -c advice.detachedHead=false clone --quiet "$bundle" "$src"
  git -C "$src" checkout --quiet "$want"
fi
[ "$rebuild" = 1 ] && rm -rf "$build"

# CPU only, tuned for this machine, no network code, no server, only the targets we run.
cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON -DGGML_OPENMP=ON)
targets=(llama-bench llama-quantize llama ggml ggml-base ggml-cpu)
start=$(date +%s.%N)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$src" -B "$build" -G Ninja "${cmake_flags[@]}" >"$cache/configure.log" 2>&1 ||
    { echo "fetch_llama_cpp.sh: cmake configure failed, see $cache/configure.log" >&2; tail -20 "$cache/configure.log" >&2; exit 1; }
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >"$cache/build.log" 2>&1 ||
  { echo "fetch_llama_cpp.sh: build failed, see $cache/build.log" >&2; tail -30 "$cache/build.log" >&2; exit 1; }
build_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# The harness programs: plain g++ against the static libraries just built.
libs=("$build/src/libllama.a" "$build/ggml/src/libggml.a" "$build/ggml/src/libggml-cpu.a" "$build/ggml/src/libggml-base.a")
for lib in "${libs[@]}"; do
  [ -f "$lib" ] || { echo "fetch_llama_cpp.sh: $lib: not built (llama.cpp's build layout changed?)" >&2; exit 1; }
done
for program in ggml_gemv_bench make_random_llama llama_e2e_bench; do
  program_src="$root/bench/llamacpp/$program.cpp"
  if [ ! -x "$cache/$program" ] || [ "$program_src" -nt "$cache/$program" ] || [ "$root/bench/common/host_facts.h" -nt "$cache/$program" ] || [ "${libs[1]}" -nt "$cache/$program" ]; then
    g++ -std=c++17 -O2 -march=native -Wall -Wextra -o "$cache/$program" "$program_src" \
      -I "$root" -I "$src/include" -I "$src/ggml/include" "${libs[@]}" -fopenmp -lpthread -lm
  fi
done

# Keep the first (real) build time when this run found nothing to build.
if grep -q "no work to do" "$cache/build.log" && [ -f "$cache/build_info.json" ] &&
  grep -q "\"llama_cpp_commit\":\"$want\"" "$cache/build_info.json"; then
  echo "fetch_llama_cpp.sh: llama.cpp ${want:0:12} up to date in $cache" >&2
  exit 0
fi
cat >"$cache/build_info.json" <<JSON
{"llama_cpp_commit":"$want","node_llama_cpp":"$kNodeLlamaCppVersion","npm_sha256":"$kNodeLlamaCppSha256","cmake_flags":"${cmake_flags[*]}","targets":"${targets[*]}","build_s":$build_s,"jobs":$jobs}
JSON
echo "fetch_llama_cpp.sh: llama.cpp ${want:0:12} ready in $cache (build step ${build_s%.*} s at -j$jobs)" >&2
