#!/usr/bin/env bash
# The main job: build sherry-run (installing what is missing), then generate text with JIT kernels
# from the default model, models/default.gguf (committed; scripts/build_default_model.sh trains it
# again from the offline corpus when it is missing).
#
#   scripts/run.sh [sherry-run flags...]     e.g. scripts/run.sh -p "It is a truth" -n 64
#
# Without flags it generates 96 tokens from a default prompt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --build-dir "$root/build" --target sherry-run
model="$root/models/default.gguf"
if [ ! -f "$model" ]; then
  echo "run: no default model at $model: training it once (corpus, FP training, QAT); progress below" >&2
  "$root/scripts/build_default_model.sh"
fi
if [ $# -eq 0 ]; then
  set -- -p "It is a truth universally acknowledged, that" -n 96 --temp 0.7 --top-p 0.9 --seed 1
fi
exec "$root/build/bin/sherry-run" -m "$model" "$@"
