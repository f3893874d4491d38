#!/usr/bin/env bash
# OpenAI's own JavaScript client (the `openai` npm package, pinned and sha256-checked in
# scripts/lib/npm_fetch.sh, used unmodified) against sherry-server on a free loopback port:
# tests/server/openai_client_test.mjs drives it with baseURL http://127.0.0.1:PORT/v1.
# Without node or the package: skipped (exit 77) locally, a failure in CI (scripts/lib/skip.sh).
#   openai_client.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
# shellcheck source=../../scripts/lib/skip.sh
source "$src/scripts/lib/skip.sh"
# shellcheck source=../../scripts/lib/npm_fetch.sh
source "$src/scripts/lib/npm_fetch.sh"
command -v node >/dev/null 2>&1 || skip_or_fail "node is not installed (scripts/setup.sh installs npm, which brings it)"
pkg=$(npm_fetch_package openai "$kOpenAiVersion" "$kOpenAiSha256") ||
  skip_or_fail "could not fetch the openai npm package $kOpenAiVersion"

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
"$bin/sherry-make-model" "$tmp/random.gguf" --hidden 128 --layers 2 --vocab 512 --ctx 512 --type f16 >/dev/null
"$bin/sherry-quantize" "$tmp/random.gguf" "$tmp/model.gguf" --type sherry >/dev/null 2>&1
"$bin/sherry-server" -m "$tmp/model.gguf" --port 0 -t 1 -np 2 --api-key test-key 2>"$tmp/server.log" &
pid=$!
port=
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/server.log" | sed 's/.*://' || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "openai_client: sherry-server exited:" >&2; cat "$tmp/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "openai_client: sherry-server did not listen in 30 s" >&2; cat "$tmp/server.log" >&2; exit 1; }
if ! node "$src/tests/server/openai_client_test.mjs" "$pkg" "http://127.0.0.1:$port/v1" test-key; then
  echo "openai_client: the server's log:" >&2
  tail -40 "$tmp/server.log" >&2
  exit 1
fi
