#!/usr/bin/env bash
# 1.25-bit Sherry vs 1.67-bit TL2-style vs 2-bit I2_S-style kernels on the Llama-3.2-1B layer
# shapes, same JIT, same activation quantization and threading (bench/baselines), and the Sherry
# kernels tuned by sherry-tune on this machine (family "lut_tuned"). Results go to
# docs/benchmarks/baselines.jsonl (JSON lines, the fields of bench/kernels plus "family");
# scripts/make_benchmarks_report.sh turns them into docs/benchmarks.md.
#
#   scripts/bench_baselines.sh [--quick] [--build-dir DIR] [--threads 1,2] [--out-dir DIR]
#                              [--tune-budget-s S] [--no-tune]
#
# The tuning file used is a private one in the output folder (baselines_tuning.json), written by
# sherry-tune in the same run, so the user's own ~/.cache/sherry/tuning.json is left alone.
# --quick: one shape, N = 1, short timings (a smoke test) into baselines_quick.jsonl.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

quick=0
build_dir="$root/build"
threads=1,2
out_dir="$root/docs/benchmarks"
tune_budget=120
tune=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --tune-budget-s) tune_budget=$2; shift 2 ;;
    --no-tune) tune=0; shift ;;
    *) echo "bench_baselines.sh: unknown argument '$1' (expected --quick, --build-dir DIR, --threads LIST, --out-dir DIR, --tune-budget-s S, --no-tune)" >&2; exit 2 ;;
  esac
done

bench="$build_dir/bin/bench_baselines"
tuner="$build_dir/bin/sherry-tune"
if [ ! -x "$bench" ] || [ ! -x "$tuner" ]; then
  cmake --build "$build_dir" --target bench_baselines sherry-tune
fi
mkdir -p "$out_dir"
shapes=2048x2048,512x2048,8192x2048,2048x8192
ns=1,8
min_time=0.3
out="$out_dir/baselines.jsonl"
if [ "$quick" = 1 ]; then
  shapes=2048x2048; ns=1; min_time=0.05; out="$out_dir/baselines_quick.jsonl"; tune_budget=10
fi
export SHERRY_TUNING_FILE="$out_dir/baselines_tuning.json"
tuned=()
if [ "$tune" = 1 ]; then
  # Tune for the largest thread count measured (decode runs with all threads).
  max_threads=$(tr ',' '\n' <<<"$threads" | sort -n | tail -1)
  "$tuner" --shapes "$shapes" --threads "$max_threads" --budget-s "$tune_budget" --regime cold \
    --output "$SHERRY_TUNING_FILE" | tee "$out_dir/baselines_tune_summary.txt"
  tuned=(--tuned)
fi
"$bench" --shapes "$shapes" --n "$ns" --threads "$threads" --modes hot,cold --min-time "$min_time" \
  "${tuned[@]}" > "$out.tmp"
mv "$out.tmp" "$out"
echo "bench_baselines.sh: wrote $out" >&2
