#!/usr/bin/env bash
# scripts/run.sh writes only sherry-run's text to stdout: the build's output (ninja's "no work to
# do", cmake's lines) goes to stderr. Checked on a copy of the script whose setup.sh is a stub
# that prints build noise to stdout, with the real sherry-run and a tiny model, against
# sherry-run's own stdout: with -m, and with the default model and prompt.
#   run_script_stdout.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$(cd "$1" && pwd)
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts" "$tmp/build/bin" "$tmp/models"
cp "$src/scripts/run.sh" "$tmp/scripts/run.sh"
cat >"$tmp/scripts/setup.sh" <<'STUB'
#!/usr/bin/env bash
echo "ninja: no work to do."
echo "[1/1] Linking CXX executable bin/sherry-run"
echo "setup stub" >&2
STUB
chmod +x "$tmp/scripts/setup.sh"
ln -s "$bin/sherry-run" "$tmp/build/bin/sherry-run"
"$bin/sherry-make-model" "$tmp/models/default.gguf" --hidden 64 --layers 1 --heads 2 --kv-heads 1 \
  --ffn 128 --vocab 300 --ctx 256 >/dev/null

fail=0
compare() {  # compare NAME: $tmp/got against $tmp/want, byte for byte
  if ! cmp -s "$tmp/got" "$tmp/want"; then
    echo "run_script_stdout: $1: scripts/run.sh's stdout differs from sherry-run's" >&2
    echo "--- run.sh:" >&2
    head -c 400 "$tmp/got" | cat -v >&2
    echo "--- sherry-run:" >&2
    head -c 400 "$tmp/want" | cat -v >&2
    fail=1
  fi
}
args=(-m "$tmp/models/default.gguf" -p "hello" -n 8 --temp 0 -t 1)
bash "$tmp/scripts/run.sh" "${args[@]}" >"$tmp/got" 2>/dev/null || true
"$bin/sherry-run" "${args[@]}" >"$tmp/want" 2>/dev/null
compare "with -m"
bash "$tmp/scripts/run.sh" >"$tmp/got" 2>/dev/null || true
"$bin/sherry-run" -m "$tmp/models/default.gguf" -p "It is a truth universally acknowledged, that" \
  -n 96 --temp 0.7 --top-p 0.9 --seed 1 >"$tmp/want" 2>/dev/null
compare "the default model and prompt"
if grep -aq -e ninja -e Linking "$tmp/got"; then
  echo "run_script_stdout: build output in the text" >&2
  fail=1
fi
[ -s "$tmp/got" ] || { echo "run_script_stdout: no text at all" >&2; fail=1; }
exit $fail
