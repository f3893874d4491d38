#!/usr/bin/env bash
# Makes the runtime benchmark's model: random weights with Llama-3.2-1B shapes (hidden 2048,
# 16 layers, 32 heads, 8 KV heads, ffn 8192, vocab 128256, RoPE base 500000), written as F16 by
# sherry-make-model and quantized by sherry-quantize (Sherry, or STQ1_0 with --type stq1_0).
# The LM head is Q6_K and the embedding Q4_K (sherry-quantize's defaults, what llama.cpp's
# llama-quantize gives its TQ1_0/TQ2_0 files), or what --head and --embd say: --head q8_0 or f16
# (F16 as in the paper) makes the embedding the same type unless --embd says otherwise; norms stay
# F32. Cached per type, head and embedding: a second run returns at once. Prints the model's path
# on stdout.
#
#   scripts/make_bench_model.sh [--type sherry|stq1_0] [--head q6_k|q5_k|q4_k|q8_0|f16]
#                               [--embd q4_k|q5_k|q6_k|q8_0|f16] [--out DIR] [--build-dir DIR]
#
# Defaults: --type sherry, --head q6_k, --embd q4_k for a K-quant head (else the head's type),
# --out .cache/bench-models, --build-dir build (its bin/ holds the tools).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
type=sherry
head=q6_k
embd=
out="$root/.cache/bench-models"
build="$root/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --type) type=$2; shift 2 ;;
    --head) head=$2; shift 2 ;;
    --embd) embd=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    *) echo "make_bench_model.sh: unknown argument '$1' (expected --type, --head, --embd, --out, --build-dir)" >&2; exit 2 ;;
  esac
done
case "$type" in sherry|stq1_0) ;; *) echo "make_bench_model.sh: --type: expected sherry or stq1_0, found '$type'" >&2; exit 2 ;; esac
case "$head" in q4_k|q5_k|q6_k|q8_0|f16) ;; *) echo "make_bench_model.sh: --head: expected q4_k, q5_k, q6_k, q8_0 or f16, found '$head'" >&2; exit 2 ;; esac
if [ -z "$embd" ]; then
  case "$head" in q4_k|q5_k|q6_k) embd=q4_k ;; *) embd=$head ;; esac
fi
case "$embd" in q4_k|q5_k|q6_k|q8_0|f16) ;; *) echo "make_bench_model.sh: --embd: expected q4_k, q5_k, q6_k, q8_0 or f16, found '$embd'" >&2; exit 2 ;; esac
for tool in sherry-make-model sherry-quantize; do
  [ -x "$build/bin/$tool" ] || { echo "make_bench_model.sh: $build/bin/$tool missing: build it (scripts/setup.sh --target $tool)" >&2; exit 1; }
done
mkdir -p "$out"
# The names of the files made before --embd existed (embedding of the head's type) stay valid.
if [ "$embd" = "$head" ]; then
  model="$out/llama3.2-1b-shape-$type-head-$head.gguf"
else
  model="$out/llama3.2-1b-shape-$type-head-$head-embd-$embd.gguf"
fi
if [ ! -f "$model" ]; then
  f16="$out/llama3.2-1b-shape-f16.gguf"
  if [ ! -f "$f16" ]; then
    echo "make_bench_model.sh: writing $f16 (about 3 GB)" >&2
    "$build/bin/sherry-make-model" "$f16.tmp" --hidden 2048 --layers 16 --heads 32 --kv-heads 8 \
      --ffn 8192 --vocab 128256 --ctx 131072 --type f16 --rope-base 500000 --seed 1 >&2
    mv "$f16.tmp" "$f16"
  fi
  echo "make_bench_model.sh: quantizing to $type, head $head, embedding $embd" >&2
  "$build/bin/sherry-quantize" "$f16" "$model.tmp" --type "$type" --output-type "$head" \
    --embd-type "$embd" >&2
  mv "$model.tmp" "$model"
fi
echo "$model"
