#!/usr/bin/env bash
# Interoperability with llama.cpp itself: llama-quantize (built by scripts/fetch_llama_cpp.sh in
# .cache/llama.cpp/; scripts/test.sh runs it first) must load a sherry-make-model file (F16 and
# F32) and quantize it, and sherry's reader must read what it writes (test_gguf checks the tensor
# types). K-quants both ways: llama.cpp's Q4_K/Q5_K/Q6_K files (--pure: every matrix of the type)
# and llama.cpp's own dequantization of them back to F32 (--allow-requantize ... F32), which
# sherry's decoder must match bit for bit, with sherry's quantizer at least as close to the input;
# then sherry's K-quant copies of the model (test_gguf writes them), which llama-quantize must
# read and dequantize to what sherry decodes. Without llama.cpp: skipped (exit 77) locally, a
# failure in CI (scripts/lib/skip.sh).
#   llama_cpp_interop.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
# shellcheck source=../../scripts/lib/skip.sh
source "$2/scripts/lib/skip.sh"
quantize="$2/.cache/llama.cpp/build/bin/llama-quantize"
[ -x "$quantize" ] || skip_or_fail "no $quantize (run scripts/fetch_llama_cpp.sh)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for source_type in f32 f16; do
  "$bin/sherry-make-model" "$tmp/model-$source_type.gguf" --hidden 256 --heads 4 --kv-heads 2 \
    --ffn 512 --vocab 512 --type "$source_type" >/dev/null
done
# llama_quantize IN OUT TYPE [OPTIONS...]: llama-quantize on files in $tmp, its log shown on failure.
llama_quantize() {
  local in=$1 out=$2 type=$3
  shift 3
  if ! "$quantize" "$@" "$tmp/$in" "$tmp/$out" "$type" >"$tmp/$out.log" 2>&1; then
    echo "llama_cpp_interop: llama-quantize $* $type rejected $in:" >&2
    tail -20 "$tmp/$out.log" >&2
    exit 1
  fi
}
quantize_one() { llama_quantize "model-$1.gguf" "$3" "$2"; }
# From F32: one type (llama.cpp reads the F32 file); from F16: every type test_gguf checks.
quantize_one f32 Q8_0 model-from-f32-Q8_0.gguf
for type in Q8_0 Q4_K TQ1_0 TQ2_0; do quantize_one f16 "$type" "model-$type.gguf"; done
# K-quants from llama.cpp, and its own dequantization of them (from F32, and Q6_K from F16 too).
for type in Q4_K Q5_K Q6_K; do
  llama_quantize model-f32.gguf "model-pure-$type.gguf" "$type" --pure
  llama_quantize "model-pure-$type.gguf" "model-pure-$type-F32.gguf" F32 --allow-requantize
done
llama_quantize model-f16.gguf model-f16-pure-Q6_K.gguf Q6_K --pure
llama_quantize model-f16-pure-Q6_K.gguf model-f16-pure-Q6_K-F32.gguf F32 --allow-requantize
test_gguf() {
  SHERRY_LLAMA_CPP_OUTPUTS="$tmp" "$bin/test_gguf" --no-colors=true --no-skip=true \
    -sf='*test_llama_cpp_interop.cpp' "$@"
}
# Sherry's K-quant copies of the F32 model, read back by llama.cpp; then every check.
test_gguf -tc='write sherry k quant copies*'
for type in Q4_K Q5_K Q6_K; do
  llama_quantize "sherry-$type.gguf" "sherry-$type-F32.gguf" F32 --allow-requantize
done
test_gguf -tce='write sherry k quant copies*'
