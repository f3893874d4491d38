#!/usr/bin/env bash
# The method comparison of docs/training.md: from the same FP checkpoint, equal token budgets of
# fp (continued), sherry, sherry-noarenas and absmean with configs/default_sherry.json, then the
# validation perplexity of each in eval mode (λ = 0) and a PNG of the curves.
#
#   scripts/compare_qat_methods.sh [--parallel] [--steps N] [--runs DIR]
#
# --parallel runs the four at once with one thread each (same results: each run's arithmetic
# does not depend on the others). Needs runs/default_fp (scripts/build_default_model.sh makes it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build_dir=${SHERRY_BUILD_DIR:-$root/build}
parallel=0
steps=()
runs=runs
while [ $# -gt 0 ]; do
  case "$1" in
    --parallel) parallel=1; shift ;;
    --steps) steps=(--steps "$2"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "compare_qat_methods.sh: unknown argument '$1' (expected --parallel, --steps N, --runs DIR)" >&2; exit 2 ;;
  esac
done
methods=(fp sherry sherry-noarenas absmean)
pids=()
for m in "${methods[@]}"; do
  args=(train -c configs/default_sherry.json --method "$m" --out-dir "$runs/compare_$m" "${steps[@]}")
  if [ "$parallel" = 1 ]; then
    "$build_dir/bin/sherry-train" "${args[@]}" --threads 1 --no-progress > "$runs/compare_$m.log" 2>&1 &
    pids+=($!)
  else
    "$build_dir/bin/sherry-train" "${args[@]}"
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
echo "method            val ppl (eval mode, lambda 0)"
for m in "${methods[@]}"; do
  last=$(ls "$runs/compare_$m"/ckpt_*.bin | sort | tail -n 1)
  ppl=$("$build_dir/bin/sherry-train" eval --checkpoint "$last" | sed -n 's/.*val ppl \([0-9.]*\).*/\1/p')
  printf '%-17s %s\n' "$m" "$ppl"
done
python3 "$root/scripts/plot_training.py" "${methods[@]/#/$runs/compare_}" --out "$runs/compare_plots" || true
