#!/usr/bin/env bash
# Interoperability with llama.cpp itself: llama-quantize (built by scripts/fetch_llama_cpp.sh in
# .cache/llama.cpp/; scripts/test.sh runs it first) must load a sherry-make-model file (F16 and
# F32) and quantize it, and sherry's reader must read what it writes (test_gguf checks the tensor
# types). Without llama.cpp: skipped (exit 77) locally, a failure in CI (scripts/lib/skip.sh).
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
# From F32: one type (llama.cpp reads the F32 file); from F16: every type test_gguf checks.
quantize_one() {
  if ! "$quantize" "$tmp/model-$1.gguf" "$tmp/$3" "$2" >"$tmp/$1-$2.log" 2>&1; then
    echo "llama_cpp_interop: llama-quantize $2 rejected a sherry-make-model $1 file:" >&2
    tail -20 "$tmp/$1-$2.log" >&2
    exit 1
  fi
}
quantize_one f32 Q8_0 model-from-f32-Q8_0.gguf
for type in Q8_0 Q4_K TQ1_0 TQ2_0; do quantize_one f16 "$type" "model-$type.gguf"; done
SHERRY_LLAMA_CPP_OUTPUTS="$tmp" "$bin/test_gguf" --no-colors=true --no-skip=true \
  -sf='*test_llama_cpp_interop.cpp'
