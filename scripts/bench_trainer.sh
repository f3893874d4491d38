#!/usr/bin/env bash
# Trainer throughput, two sherry-train binaries side by side (e.g. main's and this branch's), on
# the same model, corpus and thread count: each runs `train` for a few steps (--stop-after: no
# validation, no checkpoint) with a config of the fields both understand, and the median
# tokens/s of the steps after the first two is reported. The old binary runs twice, with the
# environment's OPENBLAS_CORETYPE and with SkylakeX (AVX-512 CPUs), to tell the kernel switch from
# the rest; then the new binary's `bench` prints its time per phase. Run it on a quiet machine.
#
#   scripts/bench_trainer.sh OLD_SHERRY_TRAIN NEW_SHERRY_TRAIN [--model-config CFG] [--steps N]
#                            [--rounds N] [--threads N] [--corpus DIR] [--max-load 0.3]
#
# Before each run it waits (up to 10 minutes) for the 1-minute load average to fall below
# --max-load (0: do not wait) and prints the load the run started at.
# Defaults: the model and batch of configs/bench_default_v1.json (the default model before issue
# 14: dim 256, 6 layers, batch 8 × 256), 12 steps, 2 rounds, 2 threads, data/corpus.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: bench_trainer.sh OLD_SHERRY_TRAIN NEW_SHERRY_TRAIN [options]" >&2; exit 2; }
old=$1 new=$2; shift 2
model_config=$root/configs/bench_default_v1.json
steps=12 rounds=2 threads=2 corpus=$root/data/corpus max_load=0.3
source "$root/scripts/lib/quiet.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --model-config) model_config=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --max-load) max_load=$2; shift 2 ;;
    *) echo "bench_trainer.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only fields both the old and the new config format read.
/usr/bin/python3 - "$model_config" "$corpus" "$work" "$steps" <<'PY'
import json, sys
src, corpus, work, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = json.load(open(src))
out = {"model": c["model"], "method": "fp", "corpus_dir": corpus, "out_dir": work + "/run",
       "steps": steps + 100, "batch_size": c.get("batch_size", 8), "grad_accum": 1,
       "lr": c.get("lr", 3e-3), "seed": 1234, "eval_every": 0, "checkpoint_every": 0}
json.dump(out, open(work + "/config.json", "w"), indent=1)
PY
median() {  # tokens/s of the steps after the first two
  /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][2:]
v = sorted(r["tokens_per_second"] for r in rows)
print(f"{v[len(v) // 2]:.0f}")' "$work/run/metrics.jsonl"
}
run() {  # label, binary, env...
  local label=$1 binary=$2; shift 2
  rm -rf "$work/run"
  wait_quiet "$max_load" 600 bench_trainer.sh
  local start_load
  start_load=$(loadavg)
  env "$@" "$binary" train -c "$work/config.json" --threads "$threads" --no-resume --no-progress \
    --stop-after "$steps" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  printf '%-34s round %d  %8s tokens/s  (load %s at start, %s at end)\n' "$label" "$round" \
    "$(median)" "$start_load" "$(loadavg)"
}
avx512=0
grep -q avx512f /proc/cpuinfo && grep -q avx512bw /proc/cpuinfo && avx512=1
echo "model $model_config, $threads threads, $steps steps, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
for round in $(seq 1 "$rounds"); do
  run "old" "$old"
  [ "$avx512" = 1 ] && run "old, OPENBLAS_CORETYPE=SkylakeX" "$old" OPENBLAS_CORETYPE=SkylakeX
  run "new" "$new"
done
"$new" bench -c "$model_config" --threads "$threads" --steps "$steps"
