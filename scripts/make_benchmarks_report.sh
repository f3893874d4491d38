#!/usr/bin/env bash
# Regenerates the tables and plots of docs/benchmarks.md from the JSON-lines results beside it
# (docs/benchmarks/*.jsonl: ours from bench/kernels, llama.cpp's from scripts/bench_llamacpp.sh).
#
#   scripts/make_benchmarks_report.sh [--results DIR] [--doc FILE] [--no-plots]
#
# Only the regions between "<!-- BEGIN GENERATED: name -->" and "<!-- END GENERATED: name -->" are
# rewritten; hand-written text around them is kept, and a missing region is appended at the end.
# Regions: provenance, kernels, kernel-ratios, e2e. Plots (PNG, gnuplot) go to DIR/*.png; gnuplot-nox
# is installed with apt-get when missing. Files named *_quick.jsonl (smoke runs) are skipped.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results="$root/docs/benchmarks"
doc="$root/docs/benchmarks.md"
plots=1
while [ $# -gt 0 ]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    --doc) doc=$2; shift 2 ;;
    --no-plots) plots=0; shift ;;
    *) echo "make_benchmarks_report.sh: unknown argument '$1' (expected --results DIR, --doc FILE, --no-plots)" >&2; exit 2 ;;
  esac
done

install_missing() {  # install_missing COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "make_benchmarks_report.sh: installing $2 (for $1)" >&2
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
install_missing python3 python3
[ "$plots" = 1 ] && install_missing gnuplot gnuplot-nox

[ -d "$results" ] || { echo "make_benchmarks_report.sh: $results: no results directory (run scripts/bench_llamacpp.sh or bench/kernels first)" >&2; exit 1; }
plot_dir=""
[ "$plots" = 1 ] && plot_dir="$results"
python3 "$root/scripts/lib/benchmarks_report.py" --results "$results" --doc "$doc" --plot-dir "$plot_dir"
if [ "$plots" = 1 ]; then
  for script in "$results"/plot_*.gp; do
    [ -f "$script" ] || continue
    (cd "$results" && gnuplot "$(basename "$script")")
  done
  rm -f "$results"/plot_*.gp "$results"/plot_*.dat
fi
echo "make_benchmarks_report.sh: wrote $doc" >&2
