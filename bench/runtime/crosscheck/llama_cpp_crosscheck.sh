#!/usr/bin/env bash
# sherry's float path against llama.cpp on the same random F16 model of each architecture sherry
# runs (llama: GQA, RoPE base 500000; qwen2: q/k/v biases, tied head; qwen3: 8 heads 64 wide over a
# 256 hidden size, q/k norms before RoPE; hunyuan-dense: q/k norms after RoPE, NTK rope alpha),
# 3 layers, 97 positions in one batch, every logit of every position compared:
#  - the arg max agrees at every position, unless sherry's own top two logits there are closer
#    than the bound below (a near tie that rounding may flip);
#  - |Δ logit| ≤ bound · max|logit| of the position, bound = √(4·layers + 1) · 2⁻¹¹.
#    Why: llama.cpp rounds the activations to F16 (relative error ≤ 2⁻¹¹) before each F16 weight
#    product; sherry multiplies in F32. Each layer has four such product inputs (the normed input
#    of q/k/v, the attention output into o, the normed input of gate/up, the SwiGLU output into
#    down) and the head one: 4·layers + 1 independent roundings, each moving the logits by up to
#    2⁻¹¹ of their scale, adding in quadrature (3 layers: 1.76e-3). Measured: llama 6.4e-4, qwen2
#    3.3e-4, qwen3 6.7e-4, hunyuan-dense 7.5e-4; RoPE's base off by 1 % gives 1.96e-3 and fails,
#    hunyuan-dense's q/k norms before RoPE 6.0e-2, its rope alpha exponent d/(d-1) 4.4e-2, a
#    missed qwen2 k bias 3.3e-2.
# Then the same model quantized by sherry-quantize to Sherry and to STQ1_0 runs on the JIT kernels
# and on the reference kernels: logits within 1e-5 of the largest (the kernels' integer
# accumulators are exact; only the fp32 scaling order may differ, and on x86-64 it does not).
# Last, small Hugging Face checkpoints of LlamaForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM
# (tests/convert/hf_checkpoint.py, hidden 256, 2 layers) converted to F16 by sherry-convert must
# load in llama.cpp and agree with sherry the same way (bound 1.46e-3; measured ≤ 9.3e-4 over
# four seeds).
#
#   bench/runtime/crosscheck/llama_cpp_crosscheck.sh [--build-dir DIR] [--arch NAME]...
#
# Needs sherry-make-model, sherry-quantize, sherry-convert and sherry_logits in DIR/bin (default
# build/), Debian's python3 with numpy, and
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
python=/usr/bin/python3  # Debian's, with python3-numpy (scripts/setup.sh installs both)
"$python" -c 'import numpy' 2>/dev/null ||
  skip_or_fail "$python with numpy (python3-numpy) missing: needed to write the Hugging Face checkpoints"
layers=3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -O2 -std=c++17 "$root/bench/runtime/crosscheck/llama_logits.cpp" -I"$llama/src/include" \
  -I"$llama/src/ggml/include" "$llama/build/src/libllama.a" "$llama/build/ggml/src/libggml.a" \
  "$llama/build/ggml/src/libggml-cpu.a" "$llama/build/ggml/src/libggml-base.a" -fopenmp -lpthread \
  -o "$work/llama_logits"
tokens=$(seq 1 97 | awk '{ printf "%d ", ($1 * 7919 + 13) % 600 }')

# compare A.txt B.txt BOUND NAME [POSITIONS]: the arg max and relative-difference check above.
compare() {
  paste -d ' ' "$1" "$2" | awk -v bound="$3" -v name="$4" -v positions="${5:-97}" '
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
          exit (n != positions || bad_argmax > 0 || max_relative > bound) }'
}

bound() { awk -v layers="$1" 'BEGIN { printf "%.6e", sqrt(4 * layers + 1) * 2 ^ -11 }'; }
float_bound=$(bound "$layers")
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

# Hugging Face checkpoints converted by sherry-convert (F16, lossless): llama.cpp reads the files
# (metadata, tokenizer, Llama's q/k permutation) and agrees with sherry's float path on them.
hf_tokens=$(seq 1 60 | awk '{ printf "%d ", ($1 * 7919 + 13) % 300 }')
for arch in llama qwen2 qwen3; do
  [ "$arch" = qwen2 ] && tied=--tied || tied=
  # shellcheck disable=SC2086
  "$python" "$root/tests/convert/hf_checkpoint.py" write "$work/hf-$arch" --arch "$arch" \
    --dtype f16 --hidden 256 $tied
  "$build/bin/sherry-convert" "$work/hf-$arch" "$work/hf-$arch.gguf" --type f16 >/dev/null
  # shellcheck disable=SC2086
  "$build/bin/sherry_logits" "$work/hf-$arch.gguf" $hf_tokens >"$work/sherry.txt"
  # shellcheck disable=SC2086
  if ! "$work/llama_logits" "$work/hf-$arch.gguf" $hf_tokens >"$work/llama.txt" 2>"$work/llama.log"; then
    echo "crosscheck: converted $arch: llama.cpp failed on the file:" >&2
    tail -20 "$work/llama.log" >&2
    failed=1
    continue
  fi
  # 2 layers, 60 positions.
  compare "$work/sherry.txt" "$work/llama.txt" "$(bound 2)" \
    "converted Hugging Face $arch checkpoint, float path vs llama.cpp" 60 || failed=1
done
exit "$failed"
