#!/usr/bin/env bash
# The server load benchmark of docs/server.md: sherry-server started at each slot count in turn
# on this machine's loopback, loaded by bench_server with a fixed number of streamed chat
# completions over concurrent clients (each generating exactly --max-tokens: ignore_eos), one
# JSON line per slot count, then the tokens/s of each count against the first one.
#
#   scripts/bench_server.sh [--model M] [--slots "1 4"] [--requests 200] [--clients 8]
#                           [--max-tokens 64] [--threads 2] [--ctx 0]
#
# Defaults: the default model (models/default.gguf, built by scripts/build_default_model.sh),
# -np 1 then 4, 200 requests, 8 clients, 64 tokens each, 2 threads. Run it on a quiet machine:
# the load average before each run is printed. Build output goes to stderr, results to stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model="$root/models/default.gguf"
slots="1 4"
requests=200
clients=8
max_tokens=64
threads=2
ctx=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --slots) slots=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --max-tokens) max_tokens=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --ctx) ctx=$2; shift 2 ;;
    *) echo "bench_server.sh: unknown argument '$1' (expected --model, --slots, --requests, --clients, --max-tokens, --threads, --ctx)" >&2; exit 2 ;;
  esac
done
[ -f "$model" ] || { echo "bench_server.sh: no model at $model (scripts/build_default_model.sh builds the default one, or give --model)" >&2; exit 1; }
"$root/scripts/setup.sh" --build-dir "$root/build" --target sherry-server --target bench_server >&2

log=$(mktemp)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -f "$log"
}
trap cleanup EXIT
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, commit $(git -C "$root" rev-parse --short=12 HEAD), model $model"
results=()
for np in $slots; do
  "$root/build/bin/sherry-server" -m "$model" --port 0 -np "$np" -t "$threads" -c "$ctx" \
    --queue "$requests" 2>"$log" &
  pid=$!
  port=
  for _ in $(seq 1 600); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | sed 's/.*://' || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "bench_server.sh: sherry-server did not listen" >&2; cat "$log" >&2; exit 1; }
  echo "# -np $np: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  line=$("$root/build/bin/bench_server" --port "$port" --wait 300 --requests "$requests" \
    --clients "$clients" --max-tokens "$max_tokens") || { echo "bench_server.sh: failures at -np $np: $line" >&2; exit 1; }
  echo "{\"slots\": $np, \"threads\": $threads, \"result\": $line}"
  results+=("$np $line")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
printf '%s\n' "${results[@]}" | /usr/bin/python3 -c '
import json, sys
rows = [(int(l.split(" ", 1)[0]), json.loads(l.split(" ", 1)[1])) for l in sys.stdin if l.strip()]
base = rows[0][1]["tokens_per_second"]
for np, r in rows:
    print("# -np %d: %.1f requests/s, %.1f tokens/s (%.2fx -np %d), p50 latency %.2f s, %d failed"
          % (np, r["requests_per_second"], r["tokens_per_second"], r["tokens_per_second"] / base,
             rows[0][0], r["latency_p50_s"], r["failed"]))
'
