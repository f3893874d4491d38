#!/usr/bin/env bash
# Our kernels on the method's shapes (docs/benchmarks.md "Method": the Llama-3.2-1B layers and a
# 3B-class model's), N = 1, 8, 32, 128, hot and cold, at 1 and 2 threads (bench/kernels), with the
# DRAM read bandwidth measured in the same run. Results go to docs/benchmarks/kernels_<cpu>.jsonl
# (JSON lines, bench/kernels' fields); scripts/make_benchmarks_report.sh turns them into
# docs/benchmarks.md (kernel tables, speed-ups, the cold-GEMV floor).
#
#   scripts/bench_kernels.sh [--build-dir DIR] [--threads 1,2] [--n 1,8,32,128] [--out FILE]
#                            [--max-load 0.3] [--min-time S] [--quick]
#
# The tuning file is not read (SHERRY_TUNING_FILE=none): the rows are the paths' defaults.
# Each thread count and N is its own run, and before each the script waits (up to 10 minutes) for
# the 1-minute load average to fall below --max-load (0: do not wait); every row records the load
# its run started at ("loadavg_start") and the load when it was written ("loadavg", which includes
# the run's own threads). --quick: one shape, N = 1, short timings, into kernels_quick.jsonl.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source "$root/scripts/lib/quiet.sh"

build_dir="$root/build"
threads=1,2
ns=1,8,32,128
out=""
max_load=0.3
min_time=0.3
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --n) ns=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-load) max_load=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "bench_kernels.sh: unknown argument '$1' (expected --build-dir DIR, --threads LIST, --n LIST, --out FILE, --max-load L, --min-time S, --quick)" >&2; exit 2 ;;
  esac
done

bench="$build_dir/bin/bench_kernels"
[ -x "$bench" ] || cmake --build "$build_dir" --target bench_kernels
shapes=2048x2048,512x2048,8192x2048,2048x8192,2560x2560,6912x2560,2560x6912
if [ "$quick" = 1 ]; then
  shapes=2048x2048; ns=1; min_time=0.05; max_load=0
fi
if [ -z "$out" ]; then
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/ *$//; s/[^A-Za-z0-9]\+/_/g')
  out="$root/docs/benchmarks/kernels_${cpu:-cpu}.jsonl"
  [ "$quick" = 1 ] && out="$root/docs/benchmarks/kernels_quick.jsonl"
fi
mkdir -p "$(dirname "$out")"
: >"$out.tmp"
start=$(date +%s)
for t in ${threads//,/ }; do
  for n in ${ns//,/ }; do
    wait_quiet "$max_load" 600 bench_kernels.sh
    echo "bench_kernels.sh: $t thread(s), N = $n (load average $(loadavg))" >&2
    extra=()
    [ "$n" != 1 ] && extra=(--no-bandwidth)  # the bandwidth rows once per thread count
    SHERRY_TUNING_FILE=none "$bench" --shapes "$shapes" --n "$n" --threads "$t" --modes hot,cold \
      --min-time "$min_time" --no-reference "${extra[@]}" >>"$out.tmp"
  done
done
mv "$out.tmp" "$out"
echo "bench_kernels.sh: $(grep -c '"kind":"kernel"' "$out") rows in $(( $(date +%s) - start )) s -> $out" >&2
