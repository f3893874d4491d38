#!/usr/bin/env bash
# Builds the default model into models/default.gguf (the committed one; skipped when it exists,
# --force trains it again):
#   1. the offline corpus (scripts/build_corpus.sh → data/corpus, cached)
#   2. FP pretraining        configs/default_fp.json      → runs/default_fp/
#   3. QAT with Sherry       configs/default_sherry.json  → runs/default_sherry/ (from step 2)
#   4. export at λ = 0, Sherry-packed linears + the SentencePiece tokenizer
# Each training stage checkpoints as it goes and resumes where it stopped when the script is run
# again after an interruption. It takes about 1 h 20 min on 2 idle cores: docs/training.md
# ("The default model") gives the configuration and the measured times.
#
#   scripts/build_default_model.sh [--force]       --force: retrain even if the model exists
#
# Environment: SHERRY_BUILD_DIR (default build/), SHERRY_TRAIN_THREADS (default: all cores).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build_dir=${SHERRY_BUILD_DIR:-$root/build}
model="$root/models/default.gguf"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) echo "build_default_model.sh: unknown argument '$arg' (expected --force)" >&2; exit 2 ;;
  esac
done
if [ -f "$model" ] && [ "$force" = 0 ]; then
  echo "default model: $model exists (use --force to retrain)" >&2
  exit 0
fi
if [ "$force" = 1 ]; then rm -rf "$root/runs/default_fp" "$root/runs/default_sherry"; fi

start=$(date +%s)
stage() { echo "=== build_default_model [$(( $(date +%s) - start ))s] $*" >&2; }
threads=()
[ -n "${SHERRY_TRAIN_THREADS:-}" ] && threads=(--threads "$SHERRY_TRAIN_THREADS")

stage "building sherry-train"
"$root/scripts/setup.sh" --build-dir "$build_dir" --target sherry-train >&2
stage "corpus"
SHERRY_BUILD_DIR="$build_dir" "$root/scripts/build_corpus.sh"
stage "FP pretraining (configs/default_fp.json)"
"$build_dir/bin/sherry-train" train -c configs/default_fp.json "${threads[@]}"
fp_steps=$(python3 -c 'import json; print(json.load(open("configs/default_fp.json"))["steps"])')
stage "QAT sherry from the FP checkpoint (configs/default_sherry.json)"
"$build_dir/bin/sherry-train" train -c configs/default_sherry.json "${threads[@]}"
last=$(ls "$root"/runs/default_sherry/ckpt_*.bin | sort | tail -n 1)
stage "export $last → $model"
mkdir -p "$root/models"
"$build_dir/bin/sherry-train" eval --checkpoint "$last"
"$build_dir/bin/sherry-train" export --checkpoint "$last" --format sherry -o "$model.tmp" \
  --tokenizer data/corpus/tokenizer.model --name "sherry-default (FP ${fp_steps} steps + QAT sherry)"
mv "$model.tmp" "$model"
stage "done: $model"
