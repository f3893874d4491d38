#!/usr/bin/env bash
# The Arenas experiment of docs/training.md: from one FP base model (configs/arenas_fp.json), QAT
# arms fp (continued), sherry-noarenas, sherry (the paper's λ schedule) and absmean (BitNet b1.58
# per group of 128), each with two seeds (two data orders, the same for every arm), the same data,
# learning rate and token budget (configs/arenas_qat.json); then the final validation bits per byte
# at λ = 0 of every run, the mean and spread per arm, and the plots of the weight-trapping signs.
#
#   scripts/arenas_experiment.sh [--runs DIR] [--qat-steps N] [--seeds "1 2"] [--jobs N]
#                                [--plots DIR]
#
#   --runs DIR       where the runs go (default runs/arenas); every run resumes where it stopped
#   --qat-steps N    QAT steps per run (default: the config's, 1000 × 4096 tokens = 4.1 M tokens)
#   --seeds "A B"    seeds of the QAT runs (default "1 2")
#   --jobs N         QAT runs at once, one thread each (default 2)
#   --plots DIR      PNG output (default DIR/plots)
#
# Environment: SHERRY_BUILD_DIR (default build/); SHERRY_TRAIN: a sherry-train binary to use as
# is (then nothing is built and data/corpus must exist). docs/training.md gives the time it takes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build_dir=${SHERRY_BUILD_DIR:-$root/build}
runs=runs/arenas
qat_steps=()
seeds="1 2"
jobs=2
plots=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --qat-steps) qat_steps=(--steps "$2"); shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --plots) plots=$2; shift 2 ;;
    *) echo "arenas_experiment.sh: unknown argument '$1' (expected --runs, --qat-steps, --seeds, --jobs, --plots)" >&2; exit 2 ;;
  esac
done
plots=${plots:-$runs/plots}
start=$(date +%s)
stage() { echo "=== arenas_experiment [$(( $(date +%s) - start ))s] $*" >&2; }

if [ -n "${SHERRY_TRAIN:-}" ]; then
  train=("$SHERRY_TRAIN")
else
  train=("$build_dir/bin/sherry-train")
  stage "building sherry-train, the corpus"
  "$root/scripts/setup.sh" --build-dir "$build_dir" --target sherry-train >&2
  SHERRY_BUILD_DIR="$build_dir" "$root/scripts/build_corpus.sh" >&2
fi
mkdir -p "$runs"

fp_steps=$(/usr/bin/python3 -c 'import json; print(json.load(open("configs/arenas_fp.json"))["steps"])')
base="$runs/fp_base/ckpt_$(printf %08d "$fp_steps").bin"
stage "FP base model (configs/arenas_fp.json) -> $runs/fp_base"
"${train[@]}" train -c configs/arenas_fp.json --out-dir "$runs/fp_base" --no-progress \
  > "$runs/fp_base.log" 2>&1

methods=(fp sherry-noarenas sherry absmean)
pids=()
for seed in $seeds; do
  for method in "${methods[@]}"; do
    name="${method}_s${seed}"
    stage "QAT $name (configs/arenas_qat.json --method $method --seed $seed)"
    "${train[@]}" train -c configs/arenas_qat.json --method "$method" --seed "$seed" \
      --init "$base" --out-dir "$runs/$name" "${qat_steps[@]}" --threads 1 --no-progress \
      > "$runs/$name.log" 2>&1 &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  done
done
for p in "${pids[@]}"; do wait "$p"; done

stage "summary -> $runs/summary.md"
/usr/bin/python3 - "$runs" "$seeds" "${methods[@]}" <<'PY' | tee "$runs/summary.md"
import json, os, sys
runs, seeds, methods = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
def final(path):
    rows = [json.loads(l) for l in open(os.path.join(path, "metrics.jsonl")) if l.strip()]
    last = [r for r in rows if "val_bpb" in r][-1]
    flips = [l["flip_share"] for l in last.get("layers", []) if l.get("flip_share") is not None]
    near = [l["abs_over_alpha_histogram"][9] + l["abs_over_alpha_histogram"][10]
            for l in last.get("layers", []) if "abs_over_alpha_histogram" in l]
    rank = [l["grad_effective_rank"] for l in last.get("layers", []) if "grad_effective_rank" in l]
    mean = lambda v: sum(v) / len(v) if v else float("nan")
    return last, mean(flips), mean(near), mean(rank)
fp_runs = [final(os.path.join(runs, f"fp_s{s}"))[0]["val_bpb"] for s in seeds]
fp = sum(fp_runs) / len(fp_runs)
print("| arm | val bits/byte per seed | mean | spread (max - min) | vs fp | flip share | |W|/α in [0.9, 1.1) | grad eff. rank |")
print("|---|---|---|---|---|---|---|---|")
for m in methods:
    results = [final(os.path.join(runs, f"{m}_s{s}")) for s in seeds]
    bpb = [r[0]["val_bpb"] for r in results]
    mean = sum(bpb) / len(bpb)
    cols = [f"{m}", ", ".join(f"{b:.4f}" for b in bpb), f"{mean:.4f}", f"{max(bpb) - min(bpb):.4f}",
            f"{100 * (mean / fp - 1):+.2f} %",
            f"{sum(r[1] for r in results) / len(results):.4f}",
            f"{sum(r[2] for r in results) / len(results):.3f}",
            f"{sum(r[3] for r in results) / len(results):.1f}"]
    print("| " + " | ".join(cols) + " |")
print()
print(f"tokens per QAT run: {results[0][0]['tokens_seen']}, steps {results[0][0]['step'] + 1}")
PY
stage "plots -> $plots"
/usr/bin/python3 "$root/scripts/plot_training.py" --out "$plots" --prefix arenas_ --x tokens \
  $(for m in "${methods[@]}"; do for s in $seeds; do echo "$runs/${m}_s$s"; done; done)
stage "done"
