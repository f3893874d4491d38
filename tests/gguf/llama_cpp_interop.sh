#!/usr/bin/env bash
# Interoperability with llama.cpp itself: llama-quantize (built by scripts/fetch_llama_cpp.sh in
# .cache/llama.cpp/) must load a sherry-make-model file and quantize it, and sherry's reader must
# read what it writes (test_gguf checks the tensor types). Skipped (exit 77) when llama.cpp is not built.
#   llama_cpp_interop.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
quantize="$2/.cache/llama.cpp/build/bin/llama-quantize"
if [ ! -x "$quantize" ]; then
  echo "llama_cpp_interop: skipped: no $quantize (run scripts/fetch_llama_cpp.sh)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/sherry-make-model" "$tmp/model-f16.gguf" --hidden 256 --heads 4 --kv-heads 2 --ffn 512 --vocab 512 \
  --type f16 >/dev/null
for type in Q8_0 Q4_K TQ1_0 TQ2_0; do
  if ! "$quantize" "$tmp/model-f16.gguf" "$tmp/model-$type.gguf" "$type" >"$tmp/$type.log" 2>&1; then
    echo "llama_cpp_interop: llama-quantize $type rejected a sherry-make-model file:" >&2
    tail -20 "$tmp/$type.log" >&2
    exit 1
  fi
done
SHERRY_LLAMA_CPP_OUTPUTS="$tmp" "$bin/test_gguf" --no-colors=true -sf='*test_llama_cpp_interop.cpp'
