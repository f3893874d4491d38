#!/usr/bin/env bash
# sherry's float path against llama.cpp on the same random F16 Llama model (GQA, RoPE base 500000,
# 3 layers): every position's arg max must agree and the first logits differ by less than 0.02
# (llama.cpp multiplies F16 weights with F16-rounded activations).
#
#   bench/runtime/crosscheck/llama_cpp_crosscheck.sh [--build-dir DIR]
#
# Needs sherry-make-model and sherry_logits in DIR/bin (default build/) and llama.cpp's static
# libraries from scripts/fetch_llama_cpp.sh in .cache/llama.cpp.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build="$root/build"
[ "${1:-}" = "--build-dir" ] && build=$2
llama="$root/.cache/llama.cpp"
[ -f "$llama/build/src/libllama.a" ] || { echo "crosscheck: $llama/build/src/libllama.a missing: run scripts/fetch_llama_cpp.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -O2 -std=c++17 "$root/bench/runtime/crosscheck/llama_logits.cpp" -I"$llama/src/include" \
  -I"$llama/src/ggml/include" "$llama/build/src/libllama.a" "$llama/build/ggml/src/libggml.a" \
  "$llama/build/ggml/src/libggml-cpu.a" "$llama/build/ggml/src/libggml-base.a" -fopenmp -lpthread \
  -o "$work/llama_logits"
"$build/bin/sherry-make-model" "$work/model.gguf" --hidden 256 --layers 3 --heads 8 --kv-heads 2 \
  --ffn 512 --vocab 600 --ctx 256 --type f16 --rope-base 500000 --seed 5 >/dev/null
tokens=$(seq 1 97 | awk '{ printf "%d ", ($1 * 7919 + 13) % 600 }')
# shellcheck disable=SC2086
"$build/bin/sherry_logits" "$work/model.gguf" $tokens >"$work/sherry.txt"
# shellcheck disable=SC2086
"$work/llama_logits" "$work/model.gguf" $tokens >"$work/llama.txt" 2>/dev/null
paste "$work/sherry.txt" "$work/llama.txt" | awk '
  { n++; if ($2 != $7) bad_argmax++
    for (i = 3; i <= 5; i++) { d = $i - $(i + 5); if (d < 0) d = -d; if (d > max) max = d } }
  END { printf "crosscheck: %d positions, arg max differs at %d, largest logit difference %.5f\n", n, bad_argmax, max
        exit (n == 0 || bad_argmax > 0 || max > 0.02) }'
