#!/usr/bin/env bash
# 1.25-bit Sherry vs 1.67-bit TL2-style vs 2-bit I2_S-style kernels on the Llama-3.2-1B layer
# shapes, same JIT, same activation quantization and threading (bench/baselines), and the Sherry
# kernels tuned by sherry-tune on this machine (family "lut_tuned"). Results go to
# docs/benchmarks/baselines.jsonl (JSON lines, the fields of bench/kernels plus "family");
# scripts/make_benchmarks_report.sh turns them into docs/benchmarks.md.
#
#   scripts/bench_baselines.sh [--quick] [--build-dir DIR] [--threads 1,2] [--out-dir DIR]
#                              [--tune-budget-s S] [--no-tune] [--isa ISA] [--max-load 0.3]
#
# --isa ISA: cap the paths at ISA (SHERRY_MAX_ISA, e.g. avx2 on an AVX-512 machine): the rows go to
#   baselines_<ISA>.jsonl with families named "<family>@<ISA>", so the report compares them with
#   each other and not with the machine's best path.
# --max-load: before the tuning and before the benchmark, wait (up to 10 minutes) for the 1-minute
#   load average to fall below this (0: do not wait); rows record the load their run started at.
#
# The tuning file used is a private one beside the output (baselines_tuning.json, or
# baselines_<ISA>_tuning.json), written by sherry-tune in the same run, once per thread count
# (--tune-budget-s each), so the user's own ~/.cache/sherry/tuning.json is left alone.
# --quick: one shape, N = 1, short timings (a smoke test) into baselines_quick.jsonl.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source "$root/scripts/lib/quiet.sh"

quick=0
build_dir="$root/build"
threads=1,2
out_dir="$root/docs/benchmarks"
tune_budget=120
tune=1
isa=""
max_load=0.3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --tune-budget-s) tune_budget=$2; shift 2 ;;
    --no-tune) tune=0; shift ;;
    --isa) isa=$2; shift 2 ;;
    --max-load) max_load=$2; shift 2 ;;
    *) echo "bench_baselines.sh: unknown argument '$1' (expected --quick, --build-dir DIR, --threads LIST, --out-dir DIR, --tune-budget-s S, --no-tune, --isa ISA, --max-load L)" >&2; exit 2 ;;
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
suffix=""
[ -n "$isa" ] && { export SHERRY_MAX_ISA="$isa"; suffix="_$isa"; }
out="$out_dir/baselines$suffix.jsonl"
if [ "$quick" = 1 ]; then
  shapes=2048x2048; ns=1; min_time=0.05; out="$out_dir/baselines${suffix}_quick.jsonl"; tune_budget=10
  max_load=0
fi
export SHERRY_TUNING_FILE="${out%.jsonl}_tuning.json"
tuned=()
if [ "$tune" = 1 ]; then
  # One search per thread count measured (each with the full budget): the lut_tuned rows of a
  # thread count use the entry timed at that count.
  summary="${out%.jsonl}_tune_summary.txt"
  rm -f "$SHERRY_TUNING_FILE" "$summary"
  for t in ${threads//,/ }; do
    wait_quiet "$max_load" 600 bench_baselines.sh
    "$tuner" --shapes "$shapes" --threads "$t" --budget-s "$tune_budget" --regime cold \
      --output "$SHERRY_TUNING_FILE" | tee -a "$summary"
  done
  tuned=(--tuned)
fi
wait_quiet "$max_load" 600 bench_baselines.sh
"$bench" --shapes "$shapes" --n "$ns" --threads "$threads" --modes hot,cold --min-time "$min_time" \
  "${tuned[@]}" > "$out.tmp"
if [ -n "$isa" ]; then
  sed -i "s/\"family\":\"\([A-Za-z0-9_]*\)\"/\"family\":\"\1@$isa\"/" "$out.tmp"
fi
mv "$out.tmp" "$out"
echo "bench_baselines.sh: wrote $out" >&2
