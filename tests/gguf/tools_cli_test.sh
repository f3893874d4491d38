#!/usr/bin/env bash
# End-to-end run of the two programs as a user runs them: outputs, error messages, exit statuses.
#   tools_cli_test.sh BIN_DIR
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "tools_cli_test: $*" >&2; exit 1; }

"$bin/sherry-make-model" "$tmp/m.gguf" --hidden 128 --heads 4 --kv-heads 4 --ffn 256 --vocab 300 \
  --type bf16 --seed 9 >"$tmp/make.txt"
grep -q "^$tmp/m.gguf: llama hidden 128 layers 2 heads 4/4 ffn 256 vocab 300 ctx 256 bf16 seed 9, [0-9]* bytes$" \
  "$tmp/make.txt" || fail "unexpected sherry-make-model output: $(cat "$tmp/make.txt")"

"$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/q.gguf" >"$tmp/q.txt"
grep -q "^blk.1.ffn_down.weight  *sherry  *\[256, 128\]  *5632  *1.3750$" "$tmp/q.txt" ||
  fail "no ffn_down row in: $(cat "$tmp/q.txt")"
grep -q "^quantized tensors: 327680 weights, 56320 bytes, 1.3750 bits/weight$" "$tmp/q.txt" ||
  fail "unexpected totals in: $(cat "$tmp/q.txt")"
# The head and the embedding default to Q6_K and Q4_K; rows of 128 weights fall back to Q8_0: 300
# rows of 4 blocks of 34 bytes, with a note each.
grep -q "^output.weight  *Q8_0  *\[128, 300\]  *40800  *8.5000$" "$tmp/q.txt" ||
  fail "no Q8_0 head row in: $(cat "$tmp/q.txt")"
grep -q "^note: output.weight: Q6_K needs rows of a multiple of 256 weights, found 128: written as Q8_0$" "$tmp/q.txt" ||
  fail "no fallback note for the head in: $(cat "$tmp/q.txt")"
grep -q "^note: token_embd.weight: Q4_K needs rows of a multiple of 256 weights, found 128: written as Q8_0$" "$tmp/q.txt" ||
  fail "no fallback note for the embedding in: $(cat "$tmp/q.txt")"
# Rows of 256: the defaults as they are (512 rows of one super-block: 210 and 144 bytes).
"$bin/sherry-make-model" "$tmp/w.gguf" --hidden 256 --heads 4 --kv-heads 2 --ffn 512 --vocab 512 >/dev/null
"$bin/sherry-quantize" "$tmp/w.gguf" "$tmp/wq.gguf" >"$tmp/wq.txt"
grep -q "^output.weight  *Q6_K  *\[256, 512\]  *107520  *6.5625$" "$tmp/wq.txt" ||
  fail "no Q6_K head row in: $(cat "$tmp/wq.txt")"
grep -q "^token_embd.weight  *Q4_K  *\[256, 512\]  *73728  *4.5000$" "$tmp/wq.txt" ||
  fail "no Q4_K embedding row in: $(cat "$tmp/wq.txt")"
grep -q "^note:" "$tmp/wq.txt" && fail "a note without a fallback in: $(cat "$tmp/wq.txt")"
for pair in "q5_k q6_k Q5_K Q6_K" "q4_k q5_k Q4_K Q5_K" "q8_0 q8_0 Q8_0 Q8_0"; do
  read -r output embd output_name embd_name <<<"$pair"
  "$bin/sherry-quantize" "$tmp/w.gguf" "$tmp/wk.gguf" --output-type "$output" --embd-type "$embd" >"$tmp/wk.txt"
  grep -q "^output.weight  *$output_name " "$tmp/wk.txt" || fail "--output-type $output ignored: $(cat "$tmp/wk.txt")"
  grep -q "^token_embd.weight  *$embd_name " "$tmp/wk.txt" || fail "--embd-type $embd ignored: $(cat "$tmp/wk.txt")"
done
grep -q "^decode reads per token: [0-9]* bytes of weights" "$tmp/q.txt" ||
  fail "no decode bytes line in: $(cat "$tmp/q.txt")"
"$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/k.gguf" --output-type keep --embd-type f16 >"$tmp/k.txt"
grep -q "^output.weight  *BF16 " "$tmp/k.txt" || fail "--output-type keep changed the head: $(cat "$tmp/k.txt")"
grep -q "^token_embd.weight  *F16 " "$tmp/k.txt" || fail "--embd-type f16 ignored: $(cat "$tmp/k.txt")"
"$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/s.gguf" --type stq1_0 --stq1_0-id 42 >"$tmp/s.txt" && fail "stq1_0 accepted rows of 128"
[ ! -e "$tmp/s.gguf" ] || fail "a failed run left $tmp/s.gguf"

# expect STATUS MESSAGE COMMAND...: the command fails with that exit status and stderr line.
expect() {
  local status=$1 message=$2
  shift 2
  set +e
  "$@" >/dev/null 2>"$tmp/err.txt"
  local got=$?
  set -e
  [ "$got" -eq "$status" ] || fail "'$*' exited $got, expected $status ($(cat "$tmp/err.txt"))"
  grep -qF -- "$message" "$tmp/err.txt" || fail "'$*' said '$(cat "$tmp/err.txt")', expected '$message'"
}
expect 1 "error: $tmp/missing.gguf: cannot open: No such file or directory" \
  "$bin/sherry-quantize" "$tmp/missing.gguf" "$tmp/x.gguf"
expect 1 "error: $tmp/q.gguf: tensor 'blk.0.attn_q.weight': expected type F32, F16 or BF16 to quantize, found sherry" \
  "$bin/sherry-quantize" "$tmp/q.gguf" "$tmp/x.gguf"
expect 1 "cols 128 is not a multiple of group_size 256" \
  "$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/x.gguf" --group-size 256
expect 2 "error: --type: expected sherry or stq1_0, found 'q4_0'" \
  "$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/x.gguf" --type q4_0
expect 2 "in is required" "$bin/sherry-quantize"
expect 2 "error: --output-type: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found 'q3_k'" \
  "$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/x.gguf" --output-type q3_k
expect 2 "error: --embd-type: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found 'bf16'" \
  "$bin/sherry-quantize" "$tmp/m.gguf" "$tmp/x.gguf" --embd-type bf16
expect 2 "error: --kv-heads: expected a divisor of --heads 4, found 3" \
  "$bin/sherry-make-model" "$tmp/x.gguf" --kv-heads 3
expect 2 "error: --type: expected f32, f16 or bf16, found 'q8'" "$bin/sherry-make-model" "$tmp/x.gguf" --type q8
expect 1 "error: $tmp/no_dir/x.gguf: cannot create a temporary file beside it" \
  "$bin/sherry-make-model" "$tmp/no_dir/x.gguf"
[ ! -e "$tmp/x.gguf" ] || fail "a failed run left $tmp/x.gguf"
echo "tools_cli_test: passed"
