#!/usr/bin/env bash
# sherry's float path against llama.cpp on the same random F16 model of each architecture sherry
# runs (llama: GQA, RoPE base 500000; qwen2: q/k/v biases, tied head; qwen3: 8 heads 64 wide over a
# 256 hidden size, q/k norms before RoPE; hunyuan-dense: q/k norms after RoPE, NTK rope alpha),
# 3 layers, 97 positions in one batch, every logit of every position compared:
#  - the arg max agrees at every position, unless sherry's own top two logits there are closer
#    than the bound below (a near tie that rounding may flip);
#  - |Δ logit| ≤ bound · max|logit| of the position, bound = √(2·layers + 1) · 2⁻¹¹.
#    Why: llama.cpp rounds the activations to F16 (relative error ≤ 2⁻¹¹) before each F16 weight
#    product; sherry multiplies in F32. Each layer has two such residual-stream inputs (attention,
#    MLP) and the head one: 2·layers + 1 independent roundings, each moving the logits by up to
#    2⁻¹¹ of their scale, adding in quadrature. Measured on the llama model: 6.4e-4 (bound
#    1.29e-3); RoPE's base off by 1 % gives 1.96e-3 and fails.
# Then the same model quantized by sherry-quantize to Sherry and to STQ1_0 runs on the JIT kernels
# and on the reference kernels: logits within 1e-5 of the largest (the kernels' integer
# accumulators are exact; only the fp32 scaling order may differ, and on x86-64 it does not).
#
#   bench/runtime/crosscheck/llama_cpp_crosscheck.sh [--build-dir DIR] [--arch NAME]...
#
# Needs sherry-make-model, sherry-quantize and sherry_logits in DIR/bin (default build/) and
# llama.cpp's static libraries from scripts/fetch_llama_cpp.sh in .cache/llama.cpp
# (scripts/test.sh builds them first). Without them: skipped (exit 77) locally, a failure in CI
# (scripts/lib/skip.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=../../../scripts/lib/skip.sh
source "$root/scripts/lib/skip.sh"
build="$root/build"
archs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --arch) archs+=("$2"); shift 2 ;;
    *) echo "llama_cpp_crosscheck.sh: unknown argument '$1' (expected --build-dir DIR, --arch NAME)" >&2; exit 2 ;;
  esac
done
[ ${#archs[@]} -gt 0 ] || archs=(llama qwen2 qwen3 hunyuan-dense)
llama="$root/.cache/llama.cpp"
[ -f "$llama/build/src/libllama.a" ] || skip_or_fail "$llama/build/src/libllama.a missing: run scripts/fetch_llama_cpp.sh"
layers=3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -O2 -std=c++17 "$root/bench/runtime/crosscheck/llama_logits.cpp" -I"$llama/src/include" \
  -I"$llama/src/ggml/include" "$llama/build/src/libllama.a" "$llama/build/ggml/src/libggml.a" \
  "$llama/build/ggml/src/libggml-cpu.a" "$llama/build/ggml/src/libggml-base.a" -fopenmp -lpthread \
  -o "$work/llama_logits"
tokens=$(seq 1 97 | awk '{ printf "%d ", ($1 * 7919 + 13) % 600 }')

# compare A.txt B.txt BOUND NAME: the arg max and relative-difference check above.
compare() {
  paste -d ' ' "$1" "$2" | awk -v bound="$3" -v name="$4" '
    { n++; half = NF / 2; vocab = half - 2
      scale = 0; first = -1e30; second = -1e30
      for (i = 3; i <= half; i++) {
        a = $i < 0 ? -$i : $i; if (a > scale) scale = a
        if ($i > first) { second = first; first = $i } else if ($i > second) second = $i
      }
      worst = 0
      for (i = 3; i <= half; i++) { d = $i - $(i + half); if (d < 0) d = -d; if (d > worst) worst = d }
      relative = scale > 0 ? worst / scale : worst
      if (relative > max_relative) { max_relative = relative; at = $1 }
      if ($2 != $(2 + half)) {
        if (first - second > bound * scale) { bad_argmax++; printf "crosscheck: %s: position %d: arg max %d vs %d\n", name, $1, $2, $(2 + half) }
        else near_ties++
      }
    }
    END { printf "crosscheck: %s: %d positions x %d logits; arg max differs at %d (near ties: %d); largest |difference| / max|logit| %.2e at position %d (bound %.2e)\n", name, n, vocab, bad_argmax, near_ties, max_relative, at, bound
          exit (n != 97 || bad_argmax > 0 || max_relative > bound) }'
}

float_bound=$(awk -v layers="$layers" 'BEGIN { printf "%.6e", sqrt(2 * layers + 1) * 2 ^ -11 }')
failed=0
for arch in "${archs[@]}"; do
  extra=()
  case "$arch" in
    llama) extra=(--rope-base 500000) ;;
    qwen2) extra=(--tie-embeddings --rope-base 1000000) ;;
    qwen3) extra=(--head-dim 64 --rope-base 1000000) ;;
    hunyuan-dense) extra=(--rope-alpha 1000) ;;
    *) echo "llama_cpp_crosscheck.sh: --arch: expected llama, qwen2, qwen3 or hunyuan-dense, found '$arch'" >&2; exit 2 ;;
  esac
  model="$work/$arch.gguf"
  "$build/bin/sherry-make-model" "$model" --arch "$arch" --hidden 256 --layers "$layers" --heads 8 \
    --kv-heads 2 --ffn 512 --vocab 600 --ctx 256 --type f16 --seed 5 "${extra[@]}" >/dev/null
  # shellcheck disable=SC2086
  "$build/bin/sherry_logits" "$model" $tokens >"$work/sherry.txt"
  # shellcheck disable=SC2086
  if ! "$work/llama_logits" "$model" $tokens >"$work/llama.txt" 2>"$work/llama.log"; then
    echo "crosscheck: $arch: llama.cpp failed on the model:" >&2
    tail -20 "$work/llama.log" >&2
    failed=1
    continue
  fi
  compare "$work/sherry.txt" "$work/llama.txt" "$float_bound" "$arch float path vs llama.cpp" || failed=1
  for type in sherry stq1_0; do
    "$build/bin/sherry-quantize" "$model" "$work/$arch-$type.gguf" --type "$type" >/dev/null
    # shellcheck disable=SC2086
    "$build/bin/sherry_logits" --kernels jit "$work/$arch-$type.gguf" $tokens >"$work/jit.txt"
    # shellcheck disable=SC2086
    "$build/bin/sherry_logits" --kernels ref "$work/$arch-$type.gguf" $tokens >"$work/ref.txt"
    compare "$work/jit.txt" "$work/ref.txt" 1e-5 "$arch $type jit vs reference kernels" || failed=1
  done
done
exit "$failed"
