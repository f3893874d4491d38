#!/usr/bin/env bash
# sherry's byte-level BPE pre-tokenizers against llama.cpp's, including those llama.cpp ships no
# test vectors of (hunyuan-dense, whose regexes deepseek-v3 shares), on llama.cpp's llama-bpe and
# qwen2 test inputs and pre_tokenizer_texts.txt (CJK, kana, digits, punctuation, symbols, marks,
# white space):
#  - the pieces themselves: llama.cpp's unicode_regex_split on the regexes its llama-vocab.cpp
#    gives each type (llama_pretokenize.cpp; the script checks they are still there verbatim)
#    against sherry's pre_tokenize, byte for byte;
#  - the token ids: llama.cpp's qwen2 and llama-bpe vocab files (node-llama-cpp) retagged with
#    each pre-tokenizer, tokenized by llama.cpp (llama_tokenize.cpp) and by sherry.
#   bench/runtime/crosscheck/tokenizer_crosscheck.sh [--build-dir DIR]
#
# Needs sherry_tokenize in DIR/bin (default build/), the vocab files (scripts/fetch_npm_assets.sh)
# and llama.cpp's static libraries (scripts/fetch_llama_cpp.sh). Without them: skipped (exit 77)
# locally, a failure in CI (scripts/lib/skip.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=../../../scripts/lib/skip.sh
source "$root/scripts/lib/skip.sh"
build="$root/build"
[ "${1:-}" = "--build-dir" ] && build=$2
llama="$root/.cache/llama.cpp"
vocab="$root/.cache/llama-vocab"
[ -f "$llama/build/src/libllama.a" ] || skip_or_fail "$llama/build/src/libllama.a missing: run scripts/fetch_llama_cpp.sh"
[ -f "$vocab/ggml-vocab-qwen2.gguf" ] || skip_or_fail "$vocab/ggml-vocab-qwen2.gguf missing: run scripts/fetch_npm_assets.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for program in llama_tokenize llama_pretokenize; do
  g++ -O2 -std=c++17 "$root/bench/runtime/crosscheck/$program.cpp" -I"$llama/src/include" \
    -I"$llama/src/src" -I"$llama/src/ggml/include" -I"$root" "$llama/build/src/libllama.a" \
    "$llama/build/ggml/src/libggml.a" "$llama/build/ggml/src/libggml-cpu.a" \
    "$llama/build/ggml/src/libggml-base.a" -fopenmp -lpthread -o "$work/$program"
done
# The regexes llama_pretokenize.cpp copies must still be llama-vocab.cpp's (as C string literals).
"$work/llama_pretokenize" --regexes | while IFS= read -r literal; do
  grep -qF -- "$literal" "$llama/src/src/llama-vocab.cpp" ||
    { echo "tokenizer crosscheck: llama_pretokenize.cpp's regex is not in llama-vocab.cpp: $literal" >&2; exit 1; }
done
texts="$work/texts.inp"
{
  cat "$vocab/ggml-vocab-llama-bpe.gguf.inp"
  printf '\n__ggml_vocab_test__\n'
  cat "$vocab/ggml-vocab-qwen2.gguf.inp"
  printf '\n__ggml_vocab_test__\n'
  cat "$root/bench/runtime/crosscheck/pre_tokenizer_texts.txt"
} >"$texts"
count=$(( $(grep -c '^__ggml_vocab_test__$' "$texts") + 1 ))

# same WHAT: sherry.txt and llama.txt hold the same lines (one per text); else the first that
# differ are shown and the run fails.
failed=0
same() {
  local differing
  differing=$(paste -d '|' "$work/sherry.txt" "$work/llama.txt" | awk -F'|' '$1 != $2' | wc -l)
  echo "tokenizer crosscheck: $1: $count texts, $differing differ from llama.cpp's"
  if [ "$differing" != 0 ] || [ "$(wc -l <"$work/sherry.txt")" != "$count" ]; then
    paste -d '|' "$work/sherry.txt" "$work/llama.txt" |
      awk -F'|' '$1 != $2 { printf "  text %d: sherry    %s\n           llama.cpp %s\n", NR, $1, $2 }' | head -6
    failed=1
  fi
}

for pre in hunyuan-dense deepseek-v3 qwen2 llama-bpe gpt-2; do
  regexes=$pre
  [ "$pre" = deepseek-v3 ] && regexes=hunyuan-dense
  "$build/bin/sherry_tokenize" pretokenize "$pre" "$texts" >"$work/sherry.txt"
  "$work/llama_pretokenize" "$regexes" "$texts" >"$work/llama.txt"
  same "pre-tokenizer $pre, pieces"
done
for base in qwen2 llama-bpe; do
  for pre in hunyuan-dense deepseek-v3 qwen2 llama-bpe; do
    file="$work/$base-$pre.gguf"
    "$build/bin/sherry_tokenize" retag "$vocab/ggml-vocab-$base.gguf" "$pre" "$file"
    "$build/bin/sherry_tokenize" encode "$file" "$texts" >"$work/sherry.txt"
    if ! "$work/llama_tokenize" "$file" "$texts" >"$work/llama.txt" 2>"$work/llama.log"; then
      echo "tokenizer crosscheck: llama.cpp failed on $file:" >&2
      tail -5 "$work/llama.log" >&2
      failed=1
      continue
    fi
    same "$base vocabulary, pre-tokenizer $pre, token ids"
  done
done
exit "$failed"
